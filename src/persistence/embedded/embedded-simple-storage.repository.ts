import { Inject, Injectable } from '@nestjs/common';
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
import { EmbeddedSimpleStorageStore, type StoredSimpleStorage } from './embedded-simple-storage.store.js';
import { isUniqueViolation } from './nedb.interop.js';

/** Concurrent writers of one store retry their compare-and-swap; this bounds how often. */
const MAX_ATTEMPTS = 20;

/**
 * Simple storage on nedb. A write reads the document, computes the new entries (and checks the limits on
 * them), then stores them with an update conditional on the version it read. A concurrent writer makes that
 * update match nothing and the write starts over, so the limit check and the write are atomic together and
 * no write is lost; the unique (userId, packageName) index does the same for the first insert.
 */
@Injectable()
export class EmbeddedSimpleStorageRepository implements SimpleStorageRepository {
  /** Writes of one (user, package) from this process queue up instead of racing (the CAS still guards the rest). */
  private readonly writers = new KeyedMutex();

  constructor(@Inject(EmbeddedSimpleStorageStore) private readonly store: EmbeddedSimpleStorageStore) {}

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
    // Removing the document makes any in-flight compare-and-swap miss and start over from empty. No document
    // is ever kept without entries (see mutate), so "removed one" means "there were some".
    return this.writers.run(
      JSON.stringify([userId, packageName]),
      async () => (await this.store.db.removeAsync({ userId, packageName }, { multi: false })) > 0,
    );
  }

  private async find(userId: string, packageName: string): Promise<StoredSimpleStorage | null> {
    return (await this.store.db.findOneAsync({ userId, packageName })) ?? null;
  }

  /** Applies `change` (null = nothing to do) with compare-and-swap on the document's version. */
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
        // The last key went: drop the document, again only if nobody wrote in between.
        if ((await this.store.db.removeAsync({ userId, packageName, version: doc.version }, { multi: false })) === 1) return;
        continue;
      }
      const updatedAt = new Date();
      if (!doc) {
        try {
          await this.store.db.insertAsync({ userId, packageName, entries: next, version: 1, updatedAt });
          return;
        } catch (err) {
          if (!isUniqueViolation(err)) throw err;
          continue; // another writer created it first: start over from its entries
        }
      }
      const { numAffected } = await this.store.db.updateAsync(
        { userId, packageName, version: doc.version },
        { $set: { entries: next, version: doc.version + 1, updatedAt } },
        {},
      );
      if (numAffected === 1) return;
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
