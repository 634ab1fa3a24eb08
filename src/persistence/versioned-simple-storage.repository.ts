import { assertKey } from './key.guard.js';
import { KeyedMutex } from './keyed-mutex.js';
import {
  applyBatch,
  assertEntries,
  assertWithinLimits,
  SimpleStorageQuotaError,
  storageBytes,
  type SimpleStorageEntry,
  type SimpleStorageLimits,
  type SimpleStorageRepository,
} from './simple-storage.types.js';

/** Concurrent writers of one store retry their compare-and-swap; this bounds how often. */
const MAX_ATTEMPTS = 20;

/** One (user, package) document as both stores keep it. */
export interface VersionedDoc {
  entries?: { key: string; value: string }[];
  version: number;
}

/**
 * Simple storage as one versioned document per (user, package), for any store with single-document
 * conditional writes. A write reads the document, computes the new entries (and checks the limits on them),
 * then stores them with a write conditional on the version it read. A concurrent writer makes that write
 * match nothing and it starts over, so the limit check and the write are atomic together and no write is
 * lost; the store's unique (userId, packageName) index does the same for the first insert. Safe across
 * several cloud instances sharing one database, which the in-process lock alone would not be.
 */
export abstract class VersionedSimpleStorageRepository implements SimpleStorageRepository {
  /** Writes of one (user, package) from this process queue up instead of racing (the CAS still guards the rest). */
  private readonly writers = new KeyedMutex();
  /** A package's first writes of new users, one at a time, so its user limit is not passed by concurrent ones. */
  private readonly firstWrites = new KeyedMutex();

  protected abstract findDoc(userId: string, packageName: string): Promise<VersionedDoc | null>;
  /** Creates version 1; false when another writer created the document first (unique index). */
  protected abstract insertDoc(
    userId: string,
    packageName: string,
    entries: SimpleStorageEntry[],
    updatedAt: Date,
  ): Promise<boolean>;
  /** Replaces the entries if the document is still at `version`; false when it is not. */
  protected abstract updateDoc(
    userId: string,
    packageName: string,
    version: number,
    entries: SimpleStorageEntry[],
    updatedAt: Date,
  ): Promise<boolean>;
  /** Removes the document if it is still at `version` (any version when null); false when nothing matched. */
  protected abstract removeDoc(userId: string, packageName: string, version: number | null): Promise<boolean>;
  /** How many users have a document of the package. */
  protected abstract countUsers(packageName: string): Promise<number>;

  async list(userId: string, packageName: string): Promise<SimpleStorageEntry[]> {
    assertKey(userId, 'userId');
    assertKey(packageName, 'packageName');
    return toEntries(await this.findDoc(userId, packageName));
  }

  async upsert(
    userId: string,
    packageName: string,
    entries: SimpleStorageEntry[],
    limits: SimpleStorageLimits,
  ): Promise<void> {
    assertKey(userId, 'userId');
    assertKey(packageName, 'packageName');
    assertEntries(entries);
    const batch = entries.map((e) => ({ key: e.key, value: e.value }));
    await this.mutate(
      userId,
      packageName,
      (current) => {
        const next = applyBatch(current, batch);
        assertWithinLimits(next, limits);
        return next;
      },
      limits,
    );
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
    // is ever kept without entries (see compareAndSwap), so "removed one" means "there were some".
    return this.writers.run(JSON.stringify([userId, packageName]), () => this.removeDoc(userId, packageName, null));
  }

  /** Applies `change` (null = nothing to do) with compare-and-swap on the document's version. */
  private mutate(
    userId: string,
    packageName: string,
    change: (current: SimpleStorageEntry[]) => SimpleStorageEntry[] | null,
    limits?: SimpleStorageLimits,
  ): Promise<void> {
    return this.writers.run(JSON.stringify([userId, packageName]), () =>
      this.compareAndSwap(userId, packageName, change, limits),
    );
  }

  private async compareAndSwap(
    userId: string,
    packageName: string,
    change: (current: SimpleStorageEntry[]) => SimpleStorageEntry[] | null,
    limits?: SimpleStorageLimits,
  ): Promise<void> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const doc = await this.findDoc(userId, packageName);
      const next = change(toEntries(doc));
      if (next === null || (!doc && next.length === 0)) return;
      if (doc && next.length === 0) {
        // The last key went: drop the document, again only if nobody wrote in between.
        if (await this.removeDoc(userId, packageName, doc.version)) return;
        continue;
      }
      const updatedAt = new Date();
      if (!doc) {
        if (await this.insertFirst(userId, packageName, next, updatedAt, limits)) return;
        continue; // another writer created it first: start over from its entries
      }
      if (await this.updateDoc(userId, packageName, doc.version, next, updatedAt)) return;
      await backoff(attempt);
    }
    throw new Error(`simple storage of ${packageName} for ${userId} is changing too fast to write`);
  }

  /**
   * A user's first document of a package, within the package's user limit. Across processes sharing a database two
   * first writes can still pass the count together; in one process they queue.
   */
  private insertFirst(
    userId: string,
    packageName: string,
    entries: SimpleStorageEntry[],
    updatedAt: Date,
    limits?: SimpleStorageLimits,
  ): Promise<boolean> {
    const max = limits?.maxUsersPerPackage;
    if (max === undefined) return this.insertDoc(userId, packageName, entries, updatedAt);
    return this.firstWrites.run(packageName, async () => {
      const users = await this.countUsers(packageName);
      if (users >= max) throw new SimpleStorageQuotaError(storageBytes(entries), entries.length, limits!, users);
      return this.insertDoc(userId, packageName, entries, updatedAt);
    });
  }
}

/** Jittered pause before the next round, so writers from other processes stop colliding. */
function backoff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 * attempt)));
}

function toEntries(doc: VersionedDoc | null): SimpleStorageEntry[] {
  return (doc?.entries ?? []).map((e) => ({ key: e.key, value: e.value }));
}
