/**
 * The port behind the SDK's `session.simpleStorage`: string values per (userId, packageName).
 * Kept apart from persistence.types.ts so the storage feature can grow without touching the app/user ports.
 *
 * Keys are user data: `__proto__`, `$where`, `a.b` must come back literally. Both stores therefore keep a
 * list of `{key, value}` entries (the key is a field *value*, never a field name that nedb or MongoDB would
 * read as an operator or a path), and nothing here ever indexes a plain object by a user key.
 */

export interface SimpleStorageEntry {
  key: string;
  value: string;
}

/** Limits of one (user, package) store; passed to every write so the check and the write are one atomic step. */
export interface SimpleStorageLimits {
  /** Sum over entries of the UTF-8 bytes of key + value. */
  maxTotalBytes: number;
  maxKeys: number;
  /** Users one package may keep a store for: checked when a user's first entry of the package is written. */
  maxUsersPerPackage?: number;
}

/** The SDK's own limits: values up to 100,000 characters, the stored total per (user, package) 1 MB. */
export const SIMPLE_STORAGE_LIMITS = {
  maxValueChars: 100_000,
  maxKeyChars: 1_024,
  maxTotalBytes: 1_048_576,
  maxKeys: 10_000,
} as const;

/** A write that would take the store over its limits; nothing of the batch was stored. */
export class SimpleStorageQuotaError extends Error {
  constructor(
    readonly totalBytes: number,
    readonly keys: number,
    readonly limits: SimpleStorageLimits,
    /** Set when the package's user limit was the one reached: how many users it keeps stores for. */
    readonly users?: number,
  ) {
    super(
      users !== undefined
        ? `the package already keeps storage for ${users} users, the limit per package`
        : totalBytes > limits.maxTotalBytes
          ? `the stored total would be ${totalBytes} bytes, over the limit of ${limits.maxTotalBytes}`
          : `the store would hold ${keys} keys, over the limit of ${limits.maxKeys}`,
    );
    this.name = 'SimpleStorageQuotaError';
  }
}

export interface SimpleStorageRepository {
  /** Every entry of one (user, package), in the order keys were first written; [] when there are none. */
  list(userId: string, packageName: string): Promise<SimpleStorageEntry[]>;
  /**
   * Upserts a batch atomically: either every entry is stored, or (SimpleStorageQuotaError, TypeError for bad
   * input) none is. Concurrent writers never lose each other's entries. Later duplicates in `entries` win.
   */
  upsert(
    userId: string,
    packageName: string,
    entries: SimpleStorageEntry[],
    limits: SimpleStorageLimits,
  ): Promise<void>;
  /** Returns whether the key existed. */
  deleteKey(userId: string, packageName: string, key: string): Promise<boolean>;
  /** Removes every entry of one (user, package); returns whether there were any. */
  clear(userId: string, packageName: string): Promise<boolean>;
}

export const SIMPLE_STORAGE_REPOSITORY = Symbol('SIMPLE_STORAGE_REPOSITORY');

/** UTF-8 bytes of all keys and values: what the 1 MB limit counts. */
export function storageBytes(entries: readonly SimpleStorageEntry[]): number {
  let total = 0;
  for (const e of entries) total += Buffer.byteLength(e.key, 'utf8') + Buffer.byteLength(e.value, 'utf8');
  return total;
}

/** Throws a TypeError unless `entries` is a list of `{key: string, value: string}`. */
export function assertEntries(entries: unknown): asserts entries is SimpleStorageEntry[] {
  if (!Array.isArray(entries)) throw new TypeError('entries must be an array');
  entries.forEach((e: unknown, i) => {
    const entry = e as Partial<SimpleStorageEntry> | null;
    if (typeof entry?.key !== 'string' || entry.key.length === 0)
      throw new TypeError(`entries[${i}].key must be a non-empty string`);
    if (typeof entry.value !== 'string') throw new TypeError(`entries[${i}].value must be a string`);
  });
}

/**
 * The entries after a batch: existing keys replaced in place, new keys appended in batch order. A Map keyed
 * by the user's key (never a plain object), so `__proto__` is just another key.
 */
export function applyBatch(
  existing: readonly SimpleStorageEntry[],
  batch: readonly SimpleStorageEntry[],
): SimpleStorageEntry[] {
  const merged = new Map<string, string>();
  for (const e of existing) merged.set(e.key, e.value);
  for (const e of batch) merged.set(e.key, e.value);
  return Array.from(merged, ([key, value]) => ({ key, value }));
}

/** Throws SimpleStorageQuotaError when `entries` is over `limits`. */
export function assertWithinLimits(entries: readonly SimpleStorageEntry[], limits: SimpleStorageLimits): void {
  const bytes = storageBytes(entries);
  if (bytes > limits.maxTotalBytes || entries.length > limits.maxKeys)
    throw new SimpleStorageQuotaError(bytes, entries.length, limits);
}
