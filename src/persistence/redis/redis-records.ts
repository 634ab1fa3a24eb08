import { randomInt } from 'node:crypto';
import type { Redis, Result } from 'ioredis';
import { decodeDocument, encodeDocument } from './redis-json.js';
import { StoreContentionError, StoreUnavailableError } from './redis-store.errors.js';

/**
 * The one write primitive of the Redis store: a compare-and-swap of a record (a hash `{v, doc}`) together
 * with the index sets that point at it, in one Lua script (atomic in Redis, and written to the AOF as one
 * transaction). `v` is a random version, not a counter, so a record deleted and created again never matches
 * a version read before the delete.
 *
 * KEYS[1]: the record; KEYS[2..]: index sets.
 * ARGV[1]: the version the caller read ('' = the record must not exist); ARGV[2]: the new version;
 * ARGV[3]: the new document ('' = delete the record); ARGV[4]: the member the index sets hold;
 * ARGV[5..]: '+' (SADD) or '-' (SREM) for KEYS[2..] in order.
 * Returns 1 when applied, 0 when the record is no longer at the version read (nothing changed).
 */
const CAS_SCRIPT = `
local current = redis.call('HGET', KEYS[1], 'v') or ''
if current ~= ARGV[1] then return 0 end
if ARGV[3] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'v', ARGV[2], 'doc', ARGV[3])
end
for i = 2, #KEYS do
  if ARGV[i + 3] == '+' then
    redis.call('SADD', KEYS[i], ARGV[4])
  else
    redis.call('SREM', KEYS[i], ARGV[4])
  end
end
return 1
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    mentraStoreCas(numKeys: number, ...keysAndArgs: string[]): Result<number, Context>;
  }
}

/** A record as read: its document and the version to compare against when writing it back. */
export interface Versioned<T> {
  version: string;
  doc: T;
}

/** An index set change of a write: add or remove the record's member. */
export interface IndexChange {
  key: string;
  add: boolean;
}

/** Concurrent writers of one record retry their compare-and-swap; this bounds how often. */
const MAX_ATTEMPTS = 30;

/** Reads and compare-and-swap writes of JSON records, shared by the Redis repositories. */
export class RedisRecords {
  constructor(
    private readonly client: Redis,
    /** Where the store lives, for error messages (no password). */
    private readonly where: string,
  ) {
    client.defineCommand('mentraStoreCas', { lua: CAS_SCRIPT });
  }

  async read<T>(key: string): Promise<Versioned<T> | null> {
    const [version, doc] = await this.call(() => this.client.hmget(key, 'v', 'doc'));
    return version !== null && doc !== null ? { version, doc: decodeDocument<T>(doc) } : null;
  }

  /** The documents of many records in one round trip; records gone in the meantime are left out. */
  async readMany<T>(keys: string[]): Promise<T[]> {
    if (keys.length === 0) return [];
    const pipeline = this.client.pipeline();
    for (const key of keys) pipeline.hget(key, 'doc');
    const replies = (await this.call(() => pipeline.exec())) ?? [];
    const docs: T[] = [];
    for (const [err, doc] of replies) {
      if (err) throw this.unavailable(err);
      if (typeof doc === 'string') docs.push(decodeDocument<T>(doc));
    }
    return docs;
  }

  /** Deletes a record whatever its version; returns how many keys went (0 or 1). */
  remove(key: string): Promise<number> {
    return this.call(() => this.client.del(key));
  }

  members(setKey: string): Promise<string[]> {
    return this.call(() => this.client.smembers(setKey));
  }

  count(setKey: string): Promise<number> {
    return this.call(() => this.client.scard(setKey));
  }

  /**
   * Writes `doc` (null: deletes the record) if the record is still at `expected` (null: still absent), and
   * applies `indexes` with `member` (the record's id, escaped by keyPart) in the same step. Returns whether
   * it was applied.
   */
  async compareAndSwap(
    key: string,
    expected: string | null,
    doc: object | null,
    member = '',
    indexes: readonly IndexChange[] = [],
  ): Promise<boolean> {
    const args = [
      key,
      ...indexes.map((i) => i.key),
      expected ?? '',
      newVersion(),
      doc === null ? '' : encodeDocument(doc),
      member,
      ...indexes.map((i) => (i.add ? '+' : '-')),
    ];
    const applied = await this.call(() => this.client.mentraStoreCas(1 + indexes.length, ...args));
    return applied === 1;
  }

  /**
   * Read, change, compare-and-swap, until a round is not overtaken by another writer. `change` gets a fresh
   * copy each round and returns what to do: `undefined` leaves the record as it is.
   */
  async update<T extends object>(
    key: string,
    member: string,
    change: (current: T | null) => { doc: T | null; indexes?: IndexChange[] } | undefined,
  ): Promise<T | null> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const current = await this.read<T>(key);
      const next = change(current?.doc ?? null);
      if (next === undefined) return current?.doc ?? null;
      if (await this.compareAndSwap(key, current?.version ?? null, next.doc, member, next.indexes)) return next.doc;
      await backoff(attempt);
    }
    throw new StoreContentionError(`the record ${key}`);
  }

  /** Runs one Redis call, turning a connection failure into a StoreUnavailableError that says where. */
  async call<R>(operation: () => Promise<R>): Promise<R> {
    try {
      return await operation();
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  private unavailable(err: unknown): Error {
    // Redis' own replies (a script error, a wrong type) are bugs, not outages: keep them as they are.
    if (err instanceof Error && err.name === 'ReplyError') return err;
    return new StoreUnavailableError(this.where, err instanceof Error ? err.message : String(err), { cause: err });
  }
}

/**
 * A fresh random version: 48 bits, so a writer never meets its own stale version again by chance, and a safe
 * integer, so simple storage can keep its numeric `version`.
 */
function newVersion(): string {
  return String(randomInt(1, 2 ** 48));
}

/** Jittered pause before the next round, so writers from other processes stop colliding. */
function backoff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 * attempt)));
}

/** Code-unit order, as the other stores sort their string keys. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
