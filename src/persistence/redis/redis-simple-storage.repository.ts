import { Inject, Injectable } from '@nestjs/common';
import type { SimpleStorageEntry } from '../simple-storage.types.js';
import { VersionedSimpleStorageRepository, type VersionedDoc } from '../versioned-simple-storage.repository.js';
import { keyPart, redisKeys } from './redis-keys.js';
import { RedisRecords } from './redis-records.js';

/** What one (user, package) record holds. */
interface StoredSimpleStorage {
  userId: string;
  packageName: string;
  entries: SimpleStorageEntry[];
  updatedAt: Date;
}

/**
 * Simple storage on Redis: the versioned compare-and-swap of VersionedSimpleStorageRepository, each
 * conditional write one RedisRecords swap (a Lua script, atomic in Redis). The entries stay a list of
 * `{key, value}` inside the JSON document, so a user's key is never a Redis key or a hash field.
 */
@Injectable()
export class RedisSimpleStorageRepository extends VersionedSimpleStorageRepository {
  constructor(@Inject(RedisRecords) private readonly records: RedisRecords) {
    super();
  }

  protected async findDoc(userId: string, packageName: string): Promise<VersionedDoc | null> {
    const found = await this.records.read<StoredSimpleStorage>(redisKeys.simpleStorage(userId, packageName));
    return found ? { entries: found.doc.entries, version: Number(found.version) } : null;
  }

  protected insertDoc(
    userId: string,
    packageName: string,
    entries: SimpleStorageEntry[],
    updatedAt: Date,
  ): Promise<boolean> {
    const doc: StoredSimpleStorage = { userId, packageName, entries, updatedAt };
    return this.records.compareAndSwap(redisKeys.simpleStorage(userId, packageName), null, doc, keyPart(userId), [
      { key: redisKeys.simpleStorageUsers(packageName), add: true },
    ]);
  }

  protected updateDoc(
    userId: string,
    packageName: string,
    version: number,
    entries: SimpleStorageEntry[],
    updatedAt: Date,
  ): Promise<boolean> {
    const doc: StoredSimpleStorage = { userId, packageName, entries, updatedAt };
    return this.records.compareAndSwap(redisKeys.simpleStorage(userId, packageName), String(version), doc);
  }

  protected async removeDoc(userId: string, packageName: string, version: number | null): Promise<boolean> {
    const key = redisKeys.simpleStorage(userId, packageName);
    const users = [{ key: redisKeys.simpleStorageUsers(packageName), add: false }];
    if (version !== null) return this.records.compareAndSwap(key, String(version), null, keyPart(userId), users);
    let removed = false;
    await this.records.update<StoredSimpleStorage>(key, keyPart(userId), (current) => {
      removed = current !== null;
      return current ? { doc: null, indexes: users } : undefined;
    });
    return removed;
  }

  protected countUsers(packageName: string): Promise<number> {
    return this.records.count(redisKeys.simpleStorageUsers(packageName));
  }
}
