import { Inject, Injectable } from '@nestjs/common';
import type { SimpleStorageEntry } from '../simple-storage.types.js';
import { VersionedSimpleStorageRepository, type VersionedDoc } from '../versioned-simple-storage.repository.js';
import { EmbeddedSimpleStorageStore } from './embedded-simple-storage.store.js';
import { isUniqueViolation } from './nedb.interop.js';

/** Simple storage on nedb: the versioned compare-and-swap of VersionedSimpleStorageRepository. */
@Injectable()
export class EmbeddedSimpleStorageRepository extends VersionedSimpleStorageRepository {
  constructor(@Inject(EmbeddedSimpleStorageStore) private readonly store: EmbeddedSimpleStorageStore) {
    super();
  }

  protected async findDoc(userId: string, packageName: string): Promise<VersionedDoc | null> {
    return (await this.store.db.findOneAsync({ userId, packageName })) ?? null;
  }

  protected async insertDoc(
    userId: string,
    packageName: string,
    entries: SimpleStorageEntry[],
    updatedAt: Date,
  ): Promise<boolean> {
    try {
      await this.store.db.insertAsync({ userId, packageName, entries, version: 1, updatedAt });
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  protected async updateDoc(
    userId: string,
    packageName: string,
    version: number,
    entries: SimpleStorageEntry[],
    updatedAt: Date,
  ): Promise<boolean> {
    const { numAffected } = await this.store.db.updateAsync(
      { userId, packageName, version },
      { $set: { entries, version: version + 1, updatedAt } },
      {},
    );
    return numAffected === 1;
  }

  protected async removeDoc(userId: string, packageName: string, version: number | null): Promise<boolean> {
    const query = version === null ? { userId, packageName } : { userId, packageName, version };
    return (await this.store.db.removeAsync(query, { multi: false })) === 1;
  }

  protected countUsers(packageName: string): Promise<number> {
    return this.store.db.countAsync({ packageName });
  }
}
