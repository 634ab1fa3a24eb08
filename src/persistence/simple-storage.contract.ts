import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  SimpleStorageQuotaError,
  storageBytes,
  type SimpleStorageEntry,
  type SimpleStorageLimits,
  type SimpleStorageRepository,
} from './simple-storage.types.js';

/**
 * What every SimpleStorageRepository must do, run by embedded/embedded-simple-storage.spec.ts and
 * mongo/mongo-simple-storage.spec.ts. Each test gets a fresh, empty store and closes it afterwards.
 */

export interface SimpleStorageHarness {
  storage: SimpleStorageRepository;
  close(): Promise<void>;
}

export type SimpleStorageFactory = () => Promise<SimpleStorageHarness>;

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const NOTES = 'com.example.notes';
const TODO = 'com.example.todo';
const ROOMY: SimpleStorageLimits = { maxTotalBytes: 1_048_576, maxKeys: 10_000 };

/** Keys a naive store would read as operators, paths or prototypes; all are plain user data here. */
export const HOSTILE_STORAGE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  '$where',
  '$gt',
  'a.b',
  '.',
  '..',
  'a/b',
  'ключ ✓',
  ' spaced ',
  'hasOwnProperty',
  'toString',
];

const entry = (key: string, value: string): SimpleStorageEntry => ({ key, value });

export function describeSimpleStorageContract(name: string, factory: SimpleStorageFactory): void {
  describe(`${name}: simple storage contract`, () => {
    let harness: SimpleStorageHarness | undefined;
    let storage: SimpleStorageRepository;

    beforeEach(async () => {
      harness = await factory();
      storage = harness.storage;
    });

    afterEach(async () => {
      await harness?.close();
      harness = undefined;
    });

    it('an unknown (user, package) is empty', async () => {
      expect(await storage.list(ALICE, NOTES)).toEqual([]);
    });

    it("upsert adds keys in order, replaces existing ones in place, and a batch's later duplicate wins", async () => {
      await storage.upsert(ALICE, NOTES, [entry('b', '1'), entry('a', '2')], ROOMY);
      await storage.upsert(ALICE, NOTES, [entry('c', '3'), entry('b', 'one'), entry('c', 'three')], ROOMY);
      expect(await storage.list(ALICE, NOTES)).toEqual([entry('b', 'one'), entry('a', '2'), entry('c', 'three')]);
    });

    it('keeps every (user, package) apart', async () => {
      await storage.upsert(ALICE, NOTES, [entry('k', 'alice-notes')], ROOMY);
      await storage.upsert(ALICE, TODO, [entry('k', 'alice-todo')], ROOMY);
      await storage.upsert(BOB, NOTES, [entry('k', 'bob-notes')], ROOMY);
      expect(await storage.list(ALICE, NOTES)).toEqual([entry('k', 'alice-notes')]);
      expect(await storage.list(ALICE, TODO)).toEqual([entry('k', 'alice-todo')]);
      expect(await storage.list(BOB, NOTES)).toEqual([entry('k', 'bob-notes')]);
      expect(await storage.list(BOB, TODO)).toEqual([]);

      expect(await storage.clear(ALICE, NOTES)).toBe(true);
      expect(await storage.deleteKey(BOB, NOTES, 'k')).toBe(true);
      expect(await storage.list(ALICE, TODO)).toEqual([entry('k', 'alice-todo')]);
      expect(await storage.list(ALICE, NOTES)).toEqual([]);
      expect(await storage.list(BOB, NOTES)).toEqual([]);
    });

    it('stores operator-, path- and prototype-shaped keys and values literally, polluting nothing', async () => {
      const entries = HOSTILE_STORAGE_KEYS.map((key, i) => entry(key, i % 2 ? `{"$gt":""}` : `value of ${key}`));
      await storage.upsert(ALICE, NOTES, entries, ROOMY);
      expect(await storage.list(ALICE, NOTES)).toEqual(entries);
      // Keys that look like operators must not match other records or other keys.
      expect(await storage.deleteKey(ALICE, NOTES, '$gt')).toBe(true);
      expect(await storage.deleteKey(ALICE, NOTES, '$ne')).toBe(false);
      expect(await storage.list(ALICE, NOTES)).toEqual(entries.filter((e) => e.key !== '$gt'));
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.getPrototypeOf({})).toBe(Object.prototype);
      expect(typeof ({} as { toString: unknown }).toString).toBe('function');
    });

    it('round-trips 100,000-character values and multi-byte text', async () => {
      const big = 'x'.repeat(99_999) + '✓';
      await storage.upsert(ALICE, NOTES, [entry('big', big), entry('emoji', '🙂 ünïcode')], ROOMY);
      const [first, second] = await storage.list(ALICE, NOTES);
      expect(first.value).toBe(big);
      expect(second.value).toBe('🙂 ünïcode');
    });

    it('refuses a batch that takes the total over the byte limit, storing nothing of it', async () => {
      const limits: SimpleStorageLimits = { maxTotalBytes: 100, maxKeys: 100 };
      await storage.upsert(ALICE, NOTES, [entry('keep', 'x'.repeat(40))], limits);
      const before = await storage.list(ALICE, NOTES);
      const attempt = storage.upsert(ALICE, NOTES, [entry('small', 'y'), entry('huge', 'z'.repeat(60))], limits);
      await expect(attempt).rejects.toBeInstanceOf(SimpleStorageQuotaError);
      expect(await storage.list(ALICE, NOTES)).toEqual(before);
      // Replacing a value frees its old bytes: exactly at the limit is fine.
      await storage.upsert(ALICE, NOTES, [entry('keep', 'x'.repeat(96))], limits);
      expect(storageBytes(await storage.list(ALICE, NOTES))).toBe(100);
    });

    it('counts bytes, not characters', async () => {
      const limits: SimpleStorageLimits = { maxTotalBytes: 10, maxKeys: 100 };
      await expect(storage.upsert(ALICE, NOTES, [entry('k', '✓✓✓✓')], limits)).rejects.toBeInstanceOf(
        SimpleStorageQuotaError,
      );
      await storage.upsert(ALICE, NOTES, [entry('k', '✓✓✓')], limits);
      expect(await storage.list(ALICE, NOTES)).toEqual([entry('k', '✓✓✓')]);
    });

    it('refuses a batch that takes the key count over the limit', async () => {
      const limits: SimpleStorageLimits = { maxTotalBytes: 10_000, maxKeys: 3 };
      await storage.upsert(ALICE, NOTES, [entry('a', '1'), entry('b', '2')], limits);
      await expect(storage.upsert(ALICE, NOTES, [entry('c', '3'), entry('d', '4')], limits)).rejects.toBeInstanceOf(
        SimpleStorageQuotaError,
      );
      await storage.upsert(ALICE, NOTES, [entry('a', 'again'), entry('c', '3')], limits);
      expect((await storage.list(ALICE, NOTES)).map((e) => e.key)).toEqual(['a', 'b', 'c']);
    });

    it('loses no write under concurrent batches', async () => {
      await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          storage.upsert(ALICE, NOTES, [entry(`key${i}`, `v${i}`), entry('shared', `s${i}`)], ROOMY),
        ),
      );
      const stored = await storage.list(ALICE, NOTES);
      expect(stored).toHaveLength(26);
      for (let i = 0; i < 25; i++) expect(stored).toContainEqual(entry(`key${i}`, `v${i}`));
      expect(stored.find((e) => e.key === 'shared')?.value).toMatch(/^s\d+$/);
    });

    it('never lets concurrent batches together exceed the limit', async () => {
      const limits: SimpleStorageLimits = { maxTotalBytes: 1_000, maxKeys: 100 };
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => storage.upsert(ALICE, NOTES, [entry(`k${i}`, 'x'.repeat(298))], limits)),
      );
      const ok = results.filter((r) => r.status === 'fulfilled').length;
      expect(ok).toBe(3); // 3 × 300 bytes fit in 1,000; a fourth would not
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(SimpleStorageQuotaError);
      expect(storageBytes(await storage.list(ALICE, NOTES))).toBe(900);
    });

    it('a package keeps stores for at most maxUsersPerPackage users; its existing users still write; a cleared user frees a place', async () => {
      const limits: SimpleStorageLimits = { ...ROOMY, maxUsersPerPackage: 2 };
      const CAROL = 'carol@example.com';
      await storage.upsert(ALICE, NOTES, [entry('a', '1')], limits);
      await storage.upsert(BOB, NOTES, [entry('b', '1')], limits);
      const third = storage.upsert(CAROL, NOTES, [entry('c', '1')], limits);
      await expect(third).rejects.toBeInstanceOf(SimpleStorageQuotaError);
      await expect(third).rejects.toMatchObject({ users: 2 });
      expect(await storage.list(CAROL, NOTES)).toEqual([]);
      // Another package has its own users; the full package's users go on writing.
      await storage.upsert(CAROL, TODO, [entry('c', '1')], limits);
      await storage.upsert(ALICE, NOTES, [entry('a2', '2')], limits);
      expect(await storage.clear(BOB, NOTES)).toBe(true);
      await storage.upsert(CAROL, NOTES, [entry('c', '1')], limits);
      expect(await storage.list(CAROL, NOTES)).toEqual([entry('c', '1')]);
    });

    it('concurrent first writes of new users never take a package past its user limit', async () => {
      const limits: SimpleStorageLimits = { ...ROOMY, maxUsersPerPackage: 3 };
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => storage.upsert(`user${i}@example.com`, NOTES, [entry('k', 'v')], limits)),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(SimpleStorageQuotaError);
    });

    it('deleteKey says whether the key existed; the last key leaves an empty store', async () => {
      await storage.upsert(ALICE, NOTES, [entry('a', '1'), entry('b', '2')], ROOMY);
      expect(await storage.deleteKey(ALICE, NOTES, 'a')).toBe(true);
      expect(await storage.deleteKey(ALICE, NOTES, 'a')).toBe(false);
      expect(await storage.deleteKey(ALICE, NOTES, 'b')).toBe(true);
      expect(await storage.list(ALICE, NOTES)).toEqual([]);
      expect(await storage.clear(ALICE, NOTES)).toBe(false);
      await storage.upsert(ALICE, NOTES, [entry('c', '3')], ROOMY);
      expect(await storage.list(ALICE, NOTES)).toEqual([entry('c', '3')]);
    });

    it('clear empties the store and says whether anything was there', async () => {
      expect(await storage.clear(ALICE, NOTES)).toBe(false);
      await storage.upsert(ALICE, NOTES, [entry('a', '1')], ROOMY);
      expect(await storage.clear(ALICE, NOTES)).toBe(true);
      expect(await storage.list(ALICE, NOTES)).toEqual([]);
      await storage.upsert(ALICE, NOTES, [entry('b', '2')], ROOMY);
      expect(await storage.list(ALICE, NOTES)).toEqual([entry('b', '2')]);
    });

    it('a clear racing writes leaves either the writes or nothing, never a torn store', async () => {
      await storage.upsert(ALICE, NOTES, [entry('old', '1')], ROOMY);
      await Promise.all([
        storage.upsert(ALICE, NOTES, [entry('new1', 'a')], ROOMY),
        storage.clear(ALICE, NOTES),
        storage.upsert(ALICE, NOTES, [entry('new2', 'b')], ROOMY),
      ]);
      const keys = (await storage.list(ALICE, NOTES)).map((e) => e.key);
      expect(keys.every((k) => ['old', 'new1', 'new2'].includes(k))).toBe(true);
      expect(new Set(keys).size).toBe(keys.length);
    });

    it('rejects operator-shaped ids and malformed entries with a TypeError, storing nothing', async () => {
      const hostile = { $gt: '' } as unknown as string;
      await storage.upsert(ALICE, NOTES, [entry('a', '1')], ROOMY);
      await expect(storage.list(hostile, NOTES)).rejects.toBeInstanceOf(TypeError);
      await expect(storage.list(ALICE, hostile)).rejects.toBeInstanceOf(TypeError);
      await expect(storage.clear(hostile, NOTES)).rejects.toBeInstanceOf(TypeError);
      await expect(storage.deleteKey(ALICE, NOTES, hostile)).rejects.toBeInstanceOf(TypeError);
      await expect(storage.upsert('', NOTES, [entry('a', '1')], ROOMY)).rejects.toBeInstanceOf(TypeError);
      const badEntries: unknown[] = [
        [entry('ok', '1'), { key: 'n', value: 5 }],
        [entry('ok', '1'), { key: '', value: 'x' }],
        [entry('ok', '1'), { key: { $gt: '' }, value: 'x' }],
        [entry('ok', '1'), null],
        { key: 'a', value: 'b' },
      ];
      for (const bad of badEntries) {
        await expect(storage.upsert(ALICE, NOTES, bad as SimpleStorageEntry[], ROOMY)).rejects.toBeInstanceOf(
          TypeError,
        );
      }
      expect(await storage.list(ALICE, NOTES)).toEqual([entry('a', '1')]);
    });

    it('returns copies: changing a result or an input afterwards changes nothing stored', async () => {
      const input = [entry('a', '1')];
      await storage.upsert(ALICE, NOTES, input, ROOMY);
      input[0].value = 'mutated';
      const listed = await storage.list(ALICE, NOTES);
      listed[0].value = 'mutated too';
      expect(await storage.list(ALICE, NOTES)).toEqual([entry('a', '1')]);
    });
  });
}
