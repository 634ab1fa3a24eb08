import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeSimpleStorageContract, HOSTILE_STORAGE_KEYS } from '../simple-storage.contract.js';
import { EmbeddedSimpleStorageRepository } from './embedded-simple-storage.repository.js';
import { EmbeddedSimpleStorageStore } from './embedded-simple-storage.store.js';

const ROOMY = { maxTotalBytes: 1_048_576, maxKeys: 10_000 };

async function open(
  dataDir: string,
): Promise<{ store: EmbeddedSimpleStorageStore; storage: EmbeddedSimpleStorageRepository }> {
  const store = await EmbeddedSimpleStorageStore.open({ dataDir, compactionIntervalMs: 0 });
  return { store, storage: new EmbeddedSimpleStorageRepository(store) };
}

describeSimpleStorageContract('embedded store (nedb)', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'mentra-storage-contract-'));
  const { store, storage } = await open(dataDir);
  return {
    storage,
    close: async () => {
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});

describe('embedded simple storage file', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mentra-storage-file-'));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps entries in <dataDir>/simple-storage.db (owner-only) across close and reopen, hostile keys included', async () => {
    const first = await open(dataDir);
    const entries = HOSTILE_STORAGE_KEYS.map((key) => ({ key, value: `v:${key}` }));
    await first.storage.upsert('alice@example.com', 'com.example.notes', entries, ROOMY);
    await first.storage.upsert(
      'alice@example.com',
      'com.example.notes',
      [{ key: '__proto__', value: 'replaced' }],
      ROOMY,
    );
    await first.store.close();

    const info = await stat(join(dataDir, 'simple-storage.db'));
    if (process.platform !== 'win32') expect(info.mode & 0o777).toBe(0o600);
    // Keys live in values of "key" fields, never as field names.
    const lines = (await readFile(join(dataDir, 'simple-storage.db'), 'utf8')).trim().split('\n');
    for (const line of lines) {
      const doc = JSON.parse(line) as Record<string, unknown>;
      if ('entries' in doc)
        expect(Object.keys(doc).sort()).toEqual(['_id', 'entries', 'packageName', 'updatedAt', 'userId', 'version']);
    }

    const second = await open(dataDir);
    const expected = entries.map((e) => (e.key === '__proto__' ? { key: '__proto__', value: 'replaced' } : e));
    expect(await second.storage.list('alice@example.com', 'com.example.notes')).toEqual(expected);
    // The unique (userId, packageName) index comes back with the data: concurrent first writes still merge.
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        second.storage.upsert('bob@example.com', 'com.example.notes', [{ key: `k${i}`, value: 'v' }], ROOMY),
      ),
    );
    expect(await second.storage.list('bob@example.com', 'com.example.notes')).toHaveLength(10);
    await second.store.close();
    await second.store.close(); // idempotent
  });
});
