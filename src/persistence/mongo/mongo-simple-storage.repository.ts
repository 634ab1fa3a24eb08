import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { assertKey } from '../key.guard.js';
import { KeyedMutex } from '../keyed-mutex.js';
import {
  applyBatch,
  assertEntries,
  assertWithinLimits,
  type SimpleStorageEntry,
  type SimpleStorageLimits,
  type SimpleStorageRepository,
} from '../simple-storage.types.js';
import { isDuplicateKeyError } from './mongo.errors.js';
import { SIMPLE_STORAGE_MODEL, type SimpleStorageEntity } from './simple-storage.schema.js';

/** Concurrent writers of one store retry their compare-and-swap; this bounds how often. */
const MAX_ATTEMPTS = 20;

interface StoredSimpleStorage {
  entries?: { key: string; value: string }[];
  version: number;
}

/**
 * Simple storage on MongoDB, the same compare-and-swap as the embedded store: read, compute the new entries
 * and check the limits, then write conditionally on the version read (a single-document update, atomic in
 * MongoDB). Safe across several cloud instances sharing one database, which an in-process lock would not be.
 */
@Injectable()
export class MongoSimpleStorageRepository implements SimpleStorageRepository, OnModuleInit {
  /** Writes of one (user, package) from this process queue up instead of racing (the CAS still guards the rest). */
  private readonly writers = new KeyedMutex();

  constructor(@InjectModel(SIMPLE_STORAGE_MODEL) private readonly model: Model<SimpleStorageEntity>) {}

  /** Waits for the unique (userId, packageName) index the first insert's race-freedom depends on. */
  async onModuleInit(): Promise<void> {
    await this.model.init();
  }

  async list(userId: string, packageName: string): Promise<SimpleStorageEntry[]> {
    assertKey(userId, 'userId');
    assertKey(packageName, 'packageName');
    return toEntries(await this.find(userId, packageName));
  }

  async upsert(userId: string, packageName: string, entries: SimpleStorageEntry[], limits: SimpleStorageLimits): Promise<void> {
    assertKey(userId, 'userId');
    assertKey(packageName, 'packageName');
    assertEntries(entries);
    const batch = entries.map((e) => ({ key: e.key, value: e.value }));
    await this.mutate(userId, packageName, (current) => {
      const next = applyBatch(current, batch);
      assertWithinLimits(next, limits);
      return next;
    });
  }

  async deleteKey(userId: string, packageName: string, key: string): Promise<boolean> {
    assertKey(userId, 'userId');
    assertKey(packageName, 'packageName');
    if (typeof key !== 'string') throw new TypeError('key must be a string');
    let existed = false;
    await this.mutate(userId, packageName, (current) => {
      const next = current.filter((e) => e.key !== key);
      existed = next.length !== current.length;
      return existed ? next : null;
    });
    return existed;
  }

  async clear(userId: string, packageName: string): Promise<boolean> {
    assertKey(userId, 'userId');
    assertKey(packageName, 'packageName');
    // No document is kept without entries (see mutate), so "deleted one" means "there were some".
    return this.writers.run(JSON.stringify([userId, packageName]), async () => {
      const { deletedCount } = await this.model.deleteOne({ userId, packageName }).exec();
      return deletedCount > 0;
    });
  }

  private find(userId: string, packageName: string): Promise<StoredSimpleStorage | null> {
    return this.model.findOne({ userId, packageName }).lean<StoredSimpleStorage>().exec();
  }

  private mutate(userId: string, packageName: string, change: (current: SimpleStorageEntry[]) => SimpleStorageEntry[] | null): Promise<void> {
    return this.writers.run(JSON.stringify([userId, packageName]), () => this.compareAndSwap(userId, packageName, change));
  }

  private async compareAndSwap(
    userId: string,
    packageName: string,
    change: (current: SimpleStorageEntry[]) => SimpleStorageEntry[] | null,
  ): Promise<void> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const doc = await this.find(userId, packageName);
      const next = change(toEntries(doc));
      if (next === null || (!doc && next.length === 0)) return;
      if (doc && next.length === 0) {
        const { deletedCount } = await this.model.deleteOne({ userId, packageName, version: doc.version }).exec();
        if (deletedCount === 1) return;
        continue;
      }
      const updatedAt = new Date();
      if (!doc) {
        try {
          await this.model.create({ userId, packageName, entries: next, version: 1, updatedAt });
          return;
        } catch (err) {
          if (!isDuplicateKeyError(err)) throw err;
          continue; // another writer created it first: start over from its entries
        }
      }
      const { matchedCount } = await this.model
        .updateOne({ userId, packageName, version: doc.version }, { $set: { entries: next, version: doc.version + 1, updatedAt } })
        .exec();
      if (matchedCount === 1) return;
      await backoff(attempt);
    }
    throw new Error(`simple storage of ${packageName} for ${userId} is changing too fast to write`);
  }
}

/** Jittered pause before the next round, so writers from other processes stop colliding. */
function backoff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 * attempt)));
}

function toEntries(doc: StoredSimpleStorage | null): SimpleStorageEntry[] {
  return (doc?.entries ?? []).map((e) => ({ key: e.key, value: e.value }));
}
