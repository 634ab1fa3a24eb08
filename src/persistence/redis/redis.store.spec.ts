import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test, type TestingModule } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../../test/support/redis-server.js';
import { PersistenceModule } from '../persistence.module.js';
import {
  APP_REPOSITORY,
  DuplicateKeyError,
  USER_REPOSITORY,
  type AppRecord,
  type AppRepository,
  type UserRecord,
  type UserRepository,
} from '../persistence.types.js';
import type { StoredApp, StoredUser } from '../record.mapper.js';
import { describeRepositoryContract, newApp, type RepositoryHarness } from '../repository.contract.js';
import { StoreHealth } from '../store-health.js';
import { RedisAppRepository } from './redis-app.repository.js';
import { openRedis, redisClientOptions, warnAboutDurability } from './redis-client.js';
import { decodeDocument } from './redis-json.js';
import { keyPart, redisKeys, STORE_PREFIX } from './redis-keys.js';
import { RedisRecords } from './redis-records.js';
import { RedisStoreConnection } from './redis-store.connection.js';
import { RedisStoreHealth } from './redis-store.health.js';
import { StoreUnavailableError } from './redis-store.errors.js';
import { RedisUserRepository } from './redis-user.repository.js';

/** A real redis-server (append-only file on) for the whole file; each test starts from an empty database. */
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

interface OpenStore extends RepositoryHarness {
  moduleRef: TestingModule;
  client: Redis;
  records: RedisRecords;
}

/** The store wired through PersistenceModule as the app does it (STORE=redis). */
async function openStore(): Promise<OpenStore> {
  const { url } = await redisServer();
  const moduleRef = await Test.createTestingModule({
    imports: [PersistenceModule.forRoot({ store: 'redis', redisUrl: url, dataDir: tmpdir() })],
  }).compile();
  await moduleRef.init();
  const connection = moduleRef.get(RedisStoreConnection);
  return {
    moduleRef,
    client: connection.client,
    records: moduleRef.get(RedisRecords),
    apps: moduleRef.get<AppRepository>(APP_REPOSITORY),
    users: moduleRef.get<UserRepository>(USER_REPOSITORY),
    close: () => moduleRef.close(),
  };
}

async function snapshot(store: { apps: AppRepository; users: UserRepository }): Promise<{
  apps: AppRecord[];
  users: UserRecord[];
}> {
  return { apps: await store.apps.list(), users: await store.users.list() };
}

describeRepositoryContract('redis store', async () => {
  const store = await openStore();
  await store.client.flushdb();
  return {
    apps: store.apps,
    users: store.users,
    close: async () => {
      await store.client.flushdb();
      await store.close();
    },
  };
});

describe('redis store', () => {
  let store: OpenStore | undefined;
  let other: OpenStore | undefined;

  beforeEach(async () => {
    store = await openStore();
    await store.client.flushdb();
  });

  afterEach(async () => {
    await store?.client.flushdb();
    await store?.close();
    await other?.close();
    store = other = undefined;
  });

  it('PersistenceModule with store redis provides the Redis repositories and a health of kind redis', async () => {
    expect(store!.apps).toBeInstanceOf(RedisAppRepository);
    expect(store!.users).toBeInstanceOf(RedisUserRepository);
    const health = store!.moduleRef.get(StoreHealth);
    expect(health).toBeInstanceOf(RedisStoreHealth);
    expect(health.kind).toBe('redis');
    expect(await health.ping()).toBe(true);
  });

  it('keeps the data across a redis-server restart and a kill -9, from the append-only file alone', async () => {
    const s = store!;
    await s.apps.create(newApp('com.example.alpha'));
    await s.apps.create(newApp('com.example.beta', { appType: 'background' }));
    await s.apps.update('com.example.beta', { name: 'Beta 2' });
    await s.users.installApp('alice@example.com', 'com.example.alpha');
    await s.users.addRunningApp('alice@example.com', 'com.example.alpha');
    await s.users.setAppSettings('alice@example.com', 'com.example.alpha', [{ key: 'when', value: { at: 'later' } }]);
    await s.users.addRunningApp('bob@example.com', 'com.example.beta');
    const before = await snapshot(s);

    await server.restart('SIGTERM');
    const afterRestart = await snapshot(s); // the same connection, reconnected by ioredis
    expect(afterRestart).toEqual(before);
    expect(afterRestart.users[0].installedApps[0].installedDate).toBeInstanceOf(Date);
    expect(afterRestart.apps[0].createdAt).toBeInstanceOf(Date);

    await s.users.addRunningApp('carol@example.com', 'com.example.alpha');
    const beforeKill = await snapshot(s);
    // A crash: acknowledged writes were already handed to the kernel (appendfsync everysec only delays the fsync).
    await server.restart('SIGKILL');
    expect(await snapshot(s)).toEqual(beforeKill);

    // Nothing came from a snapshot: there is none, only the append-only file.
    const files = await readdir(server.dir);
    expect(files).not.toContain('dump.rdb');
    expect(existsSync(join(server.dir, 'appendonlydir'))).toBe(true);

    // The indexes came back with the records.
    await expect(s.apps.create(newApp('com.example.alpha'))).rejects.toBeInstanceOf(DuplicateKeyError);
    await s.users.removeAppEverywhere('com.example.alpha');
    for (const user of await s.users.list()) {
      expect(user.runningApps).not.toContain('com.example.alpha');
      expect(user.installedApps.map((a) => a.packageName)).not.toContain('com.example.alpha');
    }
  });

  it('two stores on one Redis (two processes) create one record per user and lose no concurrent change', async () => {
    other = await openStore();
    const a = store!;
    const b = other;
    const creates = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).users.findOrCreate('alice@example.com')),
    );
    expect(new Set(creates.map((u) => u.createdAt.getTime())).size).toBe(1);

    const packages = Array.from({ length: 30 }, (_, i) => `com.example.app${i}`);
    await Promise.all([
      ...packages.map((p, i) => (i % 2 ? a : b).users.addRunningApp('alice@example.com', p)),
      ...packages.map((p, i) => (i % 2 ? b : a).users.installApp('alice@example.com', p)),
      ...Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? a : b).users.addRunningApp('alice@example.com', 'com.example.app3'),
      ),
    ]);
    const user = await a.users.findById('alice@example.com');
    expect([...(user?.runningApps ?? [])].sort()).toEqual([...packages].sort());
    expect(user?.installedApps.map((i) => i.packageName).sort()).toEqual([...packages].sort());
    expect(await b.users.list()).toHaveLength(1);

    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).apps.create(newApp('com.example.race'))),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('keeps fields beside the record (such as a token version or a key pair) through every change', async () => {
    const s = store!;
    await s.users.installApp('alice@example.com', 'com.example.alpha');
    await s.apps.create(newApp('com.example.alpha'));
    // What a repository method added later would write: more fields in the same document.
    await s.records.update<StoredUser & { tokenVersion?: number }>(
      redisKeys.user('alice@example.com'),
      'alice@example.com',
      (current) => (current ? { doc: { ...current, tokenVersion: 7 } } : undefined),
    );
    const keyPair = { publicKeyPem: 'PEM', sealedPrivateKey: 'sealed', createdAt: new Date(1_700_000_000_000) };
    await s.records.update<StoredApp & { webviewKey?: typeof keyPair }>(
      redisKeys.app('com.example.alpha'),
      'com.example.alpha',
      (current) => (current ? { doc: { ...current, webviewKey: keyPair } } : undefined),
    );

    await s.users.addRunningApp('alice@example.com', 'com.example.alpha');
    await s.users.setAppSettings('alice@example.com', 'com.example.alpha', [{ key: 'k', value: 1 }]);
    await s.users.uninstallApp('alice@example.com', 'com.example.alpha');
    await s.apps.update('com.example.alpha', { name: 'Renamed' });

    const user = await s.records.read<StoredUser & { tokenVersion?: number }>(redisKeys.user('alice@example.com'));
    expect(user?.doc.tokenVersion).toBe(7);
    const app = await s.records.read<StoredApp & { webviewKey?: typeof keyPair }>(redisKeys.app('com.example.alpha'));
    expect(app?.doc.webviewKey).toEqual(keyPair);
    expect(app?.doc.webviewKey?.createdAt).toBeInstanceOf(Date);
    // Never part of the public record.
    expect(await s.apps.findByPackageName('com.example.alpha')).not.toHaveProperty('webviewKey');
    expect(await s.users.findById('alice@example.com')).not.toHaveProperty('tokenVersion');
  });

  it('keys are built from escaped ids: separators and operators in ids reach no other record', async () => {
    const s = store!;
    const ids = ['a', 'a:b', 'a%3Ab', 'a%003ab', 'a b', '*', '?', '[a]', '{tag}', 'x\r\nFLUSHALL', '\ud800'];
    for (const id of ids) await s.users.installApp(id, `pkg:${id}`);
    const keys = ids.map((id) => redisKeys.user(id));
    expect(new Set(keys).size).toBe(ids.length);
    for (const key of keys) expect(key.slice(`${STORE_PREFIX}user:`.length)).toMatch(/^[A-Za-z0-9._@+%-]+$/);
    expect(keyPart('alice@example.com')).toBe('alice@example.com');
    expect(keyPart('a:b')).toBe('a%003ab');
    for (const id of ids) {
      const user = await s.users.findById(id);
      expect(user?.userId).toBe(id);
      expect(user?.installedApps.map((a) => a.packageName)).toEqual([`pkg:${id}`]);
    }
    expect((await s.users.list()).map((u) => u.userId).sort()).toEqual([...ids].sort());
    // Every key the store made has its prefix; nothing else is in the database.
    const all = await s.client.keys('*');
    expect(all.every((k) => k.startsWith(STORE_PREFIX))).toBe(true);
  });

  it('removeAppEverywhere finds the users through the per-package index, never by scanning keys', async () => {
    const s = store!;
    for (let i = 0; i < 40; i++) await s.users.findOrCreate(`idle${i}@example.com`);
    await s.users.installApp('alice@example.com', 'com.example.doomed');
    await s.users.addRunningApp('bob@example.com', 'com.example.doomed');
    await s.users.setAppSettings('carol@example.com', 'com.example.doomed', [{ key: 'k', value: 1 }]);
    expect((await s.client.smembers(redisKeys.packageUsers('com.example.doomed'))).sort()).toEqual([
      'alice@example.com',
      'bob@example.com',
      'carol@example.com',
    ]);

    await s.client.config('RESETSTAT');
    await s.users.removeAppEverywhere('com.example.doomed');
    const stats = await s.client.info('commandstats');
    expect(stats).not.toMatch(/cmdstat_(keys|scan):/);
    // One rewrite per user that had the package, not one per user.
    expect(Number(/cmdstat_(?:evalsha|eval):calls=(\d+)/.exec(stats)?.[1])).toBe(3);
    expect(await s.client.exists(redisKeys.packageUsers('com.example.doomed'))).toBe(0);
    for (const id of ['alice@example.com', 'bob@example.com', 'carol@example.com']) {
      const user = await s.users.findById(id);
      expect([user?.installedApps, user?.runningApps, user?.appSettings]).toEqual([[], [], []]);
    }

    // Deleting a user takes it out of every index too.
    await s.users.installApp('dave@example.com', 'com.example.kept');
    await s.users.delete('dave@example.com');
    expect(await s.client.exists(redisKeys.packageUsers('com.example.kept'))).toBe(0);
    expect(await s.client.sismember(redisKeys.users, 'dave@example.com')).toBe(0);
  });

  it('keeps each record as one JSON document with tagged Dates', async () => {
    const s = store!;
    await s.users.installApp('alice@example.com', 'com.example.alpha');
    const raw = await s.client.hgetall(redisKeys.user('alice@example.com'));
    expect(Object.keys(raw).sort()).toEqual(['doc', 'v']);
    const parsed = JSON.parse(raw.doc) as { createdAt: unknown; installedApps: { installedDate: unknown }[] };
    expect(parsed.createdAt).toEqual({ $date: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    const decoded = decodeDocument<StoredUser>(raw.doc);
    expect(decoded.installedApps[0].installedDate).toBeInstanceOf(Date);
  });
});

describe('redis store while Redis is down', () => {
  let store: OpenStore | undefined;

  afterEach(async () => {
    if (store) await store.client.flushdb().catch(() => undefined);
    await store?.close();
    store = undefined;
  });

  it('health reports down and store calls fail with STORE_UNAVAILABLE (the address kept for logs); both recover', async () => {
    store = await openStore();
    const health = store.moduleRef.get(StoreHealth);
    await store.users.findOrCreate('alice@example.com');
    await server.down('SIGTERM');
    try {
      const error = await store.users.findOrCreate('bob@example.com').then(
        () => null,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as StoreUnavailableError).code).toBe('STORE_UNAVAILABLE');
      expect((error as Error).message).toBe('the store did not answer; try again shortly');
      expect((error as StoreUnavailableError).describe()).toContain(
        `the Redis store at redis://127.0.0.1:${server.port}`,
      );
      expect(await health.ping()).toBe(false);
    } finally {
      await server.up();
    }
    await expect.poll(() => health.ping(), { timeout: 10_000, interval: 100 }).toBe(true);
    expect((await store.users.findOrCreate('bob@example.com')).userId).toBe('bob@example.com');
    expect(await store.users.findById('alice@example.com')).not.toBeNull();
  });

  it('a boot against an unreachable Redis fails with a clear error and leaves no reconnect loop', async () => {
    const closed = await startRedisServer();
    const url = closed.url;
    await closed.stop();
    const started = Date.now();
    await expect(openRedis(url, 'mentra-test', 500)).rejects.toThrow(
      new RegExp(`cannot reach Redis at redis://127\\.0\\.0\\.1:${closed.port} within 500 ms`),
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('never queues commands forever: the connection gives up after a few reconnection attempts', () => {
    const options = redisClientOptions('x');
    expect(options.maxRetriesPerRequest).toBeGreaterThan(0);
    expect(options.maxRetriesPerRequest).toBeLessThanOrEqual(5);
    expect(options.commandTimeout).toBeGreaterThan(0);
  });
});

describe('redis durability check', () => {
  it('warns when Redis runs without an append-only file, and not when it has one', async () => {
    await redisServer();
    const noAof = await startRedisServer({ appendOnly: false });
    const warnings: string[] = [];
    const logger = { warn: (message: string) => void warnings.push(message) };
    const clients: Redis[] = [];
    try {
      clients.push(await openRedis(noAof.url, 'mentra-test'));
      await warnAboutDurability(clients[0], noAof.url, logger);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/without AOF persistence.*appendonly yes/);

      warnings.length = 0;
      clients.push(await openRedis(server.url, 'mentra-test'));
      await warnAboutDurability(clients[1], server.url, logger);
      expect(warnings).toEqual([]);

      await clients[1].config('SET', 'maxmemory-policy', 'allkeys-lru');
      await warnAboutDurability(clients[1], server.url, logger);
      expect(warnings).toEqual([expect.stringMatching(/evicts keys.*allkeys-lru.*noeviction/)]);
      await clients[1].config('SET', 'maxmemory-policy', 'noeviction');
    } finally {
      for (const c of clients) c.disconnect();
      await noAof.stop();
    }
  });
});
