import { tmpdir } from 'node:os';
import { Test, type TestingModule } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../../test/support/redis-server.js';
import { PersistenceModule } from '../persistence.module.js';
import { describeSimpleStorageContract, HOSTILE_STORAGE_KEYS } from '../simple-storage.contract.js';
import {
  SIMPLE_STORAGE_REPOSITORY,
  SimpleStorageQuotaError,
  storageBytes,
  type SimpleStorageRepository,
} from '../simple-storage.types.js';
import { redisKeys } from './redis-keys.js';
import { RedisSimpleStorageRepository } from './redis-simple-storage.repository.js';
import { RedisStoreConnection } from './redis-store.connection.js';

const ROOMY = { maxTotalBytes: 1_048_576, maxKeys: 10_000 };
const ALICE = 'alice@example.com';
const NOTES = 'com.example.notes';

let server: RedisServer;
let starting: Promise<RedisServer> | undefined;

/**
 * Started by the first test that needs it, not in beforeAll: without redis-server every test then fails with
 * the helper's message (counted as failures, never reported as skipped).
 */
async function redisServer(): Promise<RedisServer> {
  server = await (starting ??= startRedisServer());
  return server;
}

afterAll(async () => {
  await (await starting?.catch(() => undefined))?.stop();
});

interface OpenStorage {
  moduleRef: TestingModule;
  client: Redis;
  storage: SimpleStorageRepository;
  close(): Promise<void>;
}

/** Wired through PersistenceModule (STORE=redis) as the app does it. */
async function openStorage(): Promise<OpenStorage> {
  const { url } = await redisServer();
  const moduleRef = await Test.createTestingModule({
    imports: [PersistenceModule.forRoot({ store: 'redis', redisUrl: url, dataDir: tmpdir() })],
  }).compile();
  await moduleRef.init();
  return {
    moduleRef,
    client: moduleRef.get(RedisStoreConnection).client,
    storage: moduleRef.get<SimpleStorageRepository>(SIMPLE_STORAGE_REPOSITORY),
    close: () => moduleRef.close(),
  };
}

describeSimpleStorageContract('redis store', async () => {
  const open = await openStorage();
  await open.client.flushdb();
  return {
    storage: open.storage,
    close: async () => {
      await open.client.flushdb();
      await open.close();
    },
  };
});

describe('redis simple storage', () => {
  const opened: OpenStorage[] = [];

  afterEach(async () => {
    await opened[0]?.client.flushdb();
    for (const o of opened.splice(0)) await o.close();
  });

  async function open(): Promise<OpenStorage> {
    const o = await openStorage();
    opened.push(o);
    return o;
  }

  it('is the Redis implementation, one hash per (user, package) with the entries as values of one JSON list', async () => {
    const { storage, client } = await open();
    expect(storage).toBeInstanceOf(RedisSimpleStorageRepository);
    const entries = HOSTILE_STORAGE_KEYS.map((key) => ({ key, value: `v:${key}` }));
    await storage.upsert(ALICE, NOTES, entries, ROOMY);
    const raw = await client.hgetall(redisKeys.simpleStorage(ALICE, NOTES));
    expect(Object.keys(raw).sort()).toEqual(['doc', 'v']);
    const doc = JSON.parse(raw.doc) as { entries: unknown[]; userId: string; packageName: string };
    expect(doc.entries).toEqual(entries);
    expect([doc.userId, doc.packageName]).toEqual([ALICE, NOTES]);
    // No user key became a Redis key: the store's keys are exactly the one record and the package's user index.
    expect((await client.keys('*')).sort()).toEqual(
      [redisKeys.simpleStorage(ALICE, NOTES), redisKeys.simpleStorageUsers(NOTES)].sort(),
    );
  });

  it('two stores on one Redis (two processes): no lost write, and together never over the limit', async () => {
    const a = await open();
    const b = await open();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? a : b).storage.upsert(ALICE, NOTES, [{ key: `key${i}`, value: `v${i}` }], ROOMY),
      ),
    );
    expect(await a.storage.list(ALICE, NOTES)).toHaveLength(20);

    const limits = { maxTotalBytes: 1_000, maxKeys: 100 };
    await a.storage.clear(ALICE, NOTES);
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? a : b).storage.upsert(ALICE, NOTES, [{ key: `k${i}`, value: 'x'.repeat(298) }], limits),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(SimpleStorageQuotaError);
    expect(storageBytes(await b.storage.list(ALICE, NOTES))).toBe(900);
  });

  it('keeps the entries across a redis-server crash and restart', async () => {
    const { storage } = await open();
    const entries = [
      { key: 'a.b', value: '1' },
      { key: '__proto__', value: '🙂' },
    ];
    await storage.upsert(ALICE, NOTES, entries, ROOMY);
    await server.restart('SIGKILL');
    expect(await storage.list(ALICE, NOTES)).toEqual(entries);
  });
});
