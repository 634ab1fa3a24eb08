import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import type { SimpleStorageEntry } from '../simple-storage.types.js';
import { VersionedSimpleStorageRepository, type VersionedDoc } from '../versioned-simple-storage.repository.js';
import { isDuplicateKeyError } from './mongo.errors.js';
import { SIMPLE_STORAGE_MODEL, type SimpleStorageEntity } from './simple-storage.schema.js';

/**
 * Simple storage on MongoDB: the versioned compare-and-swap of VersionedSimpleStorageRepository, each
 * conditional write a single-document update (atomic in MongoDB).
 */
@Injectable()
export class MongoSimpleStorageRepository extends VersionedSimpleStorageRepository implements OnModuleInit {
  constructor(@InjectModel(SIMPLE_STORAGE_MODEL) private readonly model: Model<SimpleStorageEntity>) {
    super();
  }

  /** Waits for the unique (userId, packageName) index the first insert's race-freedom depends on. */
  async onModuleInit(): Promise<void> {
    await this.model.init();
  }

  protected findDoc(userId: string, packageName: string): Promise<VersionedDoc | null> {
    return this.model.findOne({ userId, packageName }).lean<VersionedDoc>().exec();
  }

  protected async insertDoc(
    userId: string,
    packageName: string,
    entries: SimpleStorageEntry[],
    updatedAt: Date,
  ): Promise<boolean> {
    try {
      await this.model.create({ userId, packageName, entries, version: 1, updatedAt });
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
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
    const { matchedCount } = await this.model
      .updateOne({ userId, packageName, version }, { $set: { entries, version: version + 1, updatedAt } })
      .exec();
    return matchedCount === 1;
  }

  protected async removeDoc(userId: string, packageName: string, version: number | null): Promise<boolean> {
    const { deletedCount } = await this.model
      .deleteOne(version === null ? { userId, packageName } : { userId, packageName, version })
      .exec();
    return deletedCount === 1;
  }

  protected countUsers(packageName: string): Promise<number> {
    return this.model.countDocuments({ packageName }).exec();
  }
}
