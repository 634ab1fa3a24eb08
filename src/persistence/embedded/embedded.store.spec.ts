import { appendFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuplicateKeyError, type AppRecord, type UserRecord } from '../persistence.types.js';
import { describeRepositoryContract, newApp } from '../repository.contract.js';
import { EmbeddedAppRepository } from './embedded-app.repository.js';
import { EmbeddedStoreHealth } from './embedded-store.health.js';
import { EmbeddedStore } from './embedded.store.js';
import { EmbeddedUserRepository } from './embedded-user.repository.js';

interface OpenStore {
  store: EmbeddedStore;
  apps: EmbeddedAppRepository;
  users: EmbeddedUserRepository;
}

/** Compaction timers off: tests decide when files are rewritten. */
async function openStore(dataDir: string): Promise<OpenStore> {
  const store = await EmbeddedStore.open({ dataDir, compactionIntervalMs: 0 });
  return { store, apps: new EmbeddedAppRepository(store), users: new EmbeddedUserRepository(store) };
}

async function snapshot(open: OpenStore): Promise<{ apps: AppRecord[]; users: UserRecord[] }> {
  return { apps: await open.apps.list(), users: await open.users.list() };
}

async function dataLines(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8')).split('\n').filter((line) => line.length > 0);
}

/** A few hundred interleaved concurrent writes over several users and packages. */
async function writeMany(open: OpenStore, rounds: number): Promise<void> {
  const userIds = Array.from({ length: 8 }, (_, i) => `user${i}@example.com`);
  const packages = Array.from({ length: 12 }, (_, i) => `com.example.app${i}`);
  for (let round = 0; round < rounds; round++) {
    await Promise.all(
      userIds.flatMap((userId, u) => {
        const pkg = packages[(round + u) % packages.length];
        const other = packages[(round * 7 + u) % packages.length];
        return [
          open.users.installApp(userId, pkg),
          open.users.addRunningApp(userId, pkg),
          open.users.setAppSettings(userId, pkg, [
            { key: 'round', value: round },
            { key: 'nested', value: { u, list: [round] } },
          ]),
          open.users.removeRunningApp(userId, other),
          round % 3 === 0 ? open.users.uninstallApp(userId, other) : Promise.resolve(null),
        ];
      }),
    );
    if (round % 5 === 0) {
      const app = await open.apps.findByPackageName(packages[round % packages.length]);
      if (app) await open.apps.update(app.packageName, { name: `round ${round}` });
      else await open.apps.create(newApp(packages[round % packages.length]));
    }
  }
}

describeRepositoryContract('embedded store (nedb)', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'mentra-nedb-contract-'));
  const { store, apps, users } = await openStore(dataDir);
  return {
    apps,
    users,
    close: async () => {
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});

describe('embedded store files', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mentra-nedb-files-'));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps apps and users in <dataDir>/apps.db and <dataDir>/users.db across close and reopen', async () => {
    const first = await openStore(dataDir);
    await first.apps.create(newApp('com.example.alpha'));
    await first.apps.create(newApp('com.example.beta', { appType: 'background' }));
    await first.apps.update('com.example.beta', { name: 'Beta 2' });
    await first.users.installApp('alice@example.com', 'com.example.alpha');
    await first.users.addRunningApp('alice@example.com', 'com.example.alpha');
    await first.users.setAppSettings('alice@example.com', 'com.example.alpha', [{ key: 'when', value: 'later' }]);
    await first.users.findOrCreate('bob@example.com');
    const before = await snapshot(first);
    await first.store.close();

    for (const file of ['apps.db', 'users.db']) {
      const info = await stat(join(dataDir, file));
      expect(info.isFile()).toBe(true);
      if (process.platform !== 'win32') expect(info.mode & 0o777).toBe(0o600);
    }

    const second = await openStore(dataDir);
    const after = await snapshot(second);
    expect(after).toEqual(before);
    expect(after.users[0].installedApps[0].installedDate).toBeInstanceOf(Date);
    expect(after.apps[0].createdAt).toBeInstanceOf(Date);
    // The unique indexes come back with the data.
    await expect(second.apps.create(newApp('com.example.alpha'))).rejects.toBeInstanceOf(DuplicateKeyError);
    await Promise.all(Array.from({ length: 10 }, () => second.users.findOrCreate('bob@example.com')));
    expect(await second.users.list()).toHaveLength(2);
    await second.store.close();
  });

  it('a running-app change appends one line, and one that changes nothing appends none', async () => {
    const open = await openStore(dataDir);
    const file = join(dataDir, 'users.db');
    await open.users.installApp('alice@example.com', 'com.example.alpha');
    const lines = async () => (await dataLines(file)).length;
    const start = await lines();
    await open.users.addRunningApp('alice@example.com', 'com.example.alpha');
    expect(await lines()).toBe(start + 1);
    await open.users.addRunningApp('alice@example.com', 'com.example.alpha');
    await open.users.removeRunningApp('alice@example.com', 'com.example.never');
    expect(await lines()).toBe(start + 1);
    await open.users.removeRunningApp('alice@example.com', 'com.example.alpha');
    expect(await lines()).toBe(start + 2);
    expect((await open.users.findById('alice@example.com'))?.runningApps).toEqual([]);
    await open.store.close();
  });

  it("answers a read at once while another user's write waits on its file append, and sees a write once it completed", async () => {
    const open = await openStore(dataDir);
    await open.users.installApp('alice@example.com', 'com.example.alpha');
    await open.users.installApp('bob@example.com', 'com.example.alpha');
    const storage = createRequire(import.meta.url)('@seald-io/nedb/lib/storage.js') as {
      appendFileAsync: (...args: unknown[]) => Promise<void>;
    };
    const append = storage.appendFileAsync;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    storage.appendFileAsync = async (...args) => {
      await gate;
      return append(...args);
    };
    try {
      let written = false;
      const write = open.users.addRunningApp('alice@example.com', 'com.example.alpha').then(() => (written = true));
      const bob = await open.users.findById('bob@example.com');
      expect(bob?.installedApps.map((a) => a.packageName)).toEqual(['com.example.alpha']);
      expect(await open.users.findTokenVersion('bob@example.com')).toBe(0);
      expect(await open.apps.findByPackageName('com.example.never')).toBeNull();
      expect(written).toBe(false);
      release();
      await write;
      const alice = await open.users.findById('alice@example.com');
      expect(alice?.runningApps).toEqual(['com.example.alpha']);
      // a record is a copy: changing it changes nothing stored
      alice!.runningApps.push('com.example.mutated');
      alice!.installedApps[0]!.packageName = 'com.example.mutated';
      expect(await open.users.findById('alice@example.com')).toMatchObject({
        runningApps: ['com.example.alpha'],
        installedApps: [{ packageName: 'com.example.alpha' }],
      });
    } finally {
      storage.appendFileAsync = append;
      release();
      await open.store.close();
    }
  });

  // Changes are appended through a handle kept open per data file; a compaction replaces the file, so a stale
  // handle would write into the replaced file and lose every later change.
  it('changes made after a compaction land in the rewritten file', async () => {
    const first = await openStore(dataDir);
    await first.users.installApp('alice@example.com', 'com.example.alpha');
    await first.users.addRunningApp('alice@example.com', 'com.example.alpha');
    await first.store.users.compactDatafileAsync();
    await first.users.addRunningApp('alice@example.com', 'com.example.beta');
    await first.users.installApp('bob@example.com', 'com.example.alpha');
    // Read from disk by a second store, without closing the first (as after a crash).
    const second = await openStore(dataDir);
    expect((await second.users.findById('alice@example.com'))?.runningApps).toEqual([
      'com.example.alpha',
      'com.example.beta',
    ]);
    expect(await second.users.findById('bob@example.com')).not.toBeNull();
    await second.store.close();
    await first.store.close();
  });

  it('creates a missing data directory', async () => {
    const nested = join(dataDir, 'deeper', 'still');
    const open = await openStore(nested);
    await open.users.findOrCreate('alice@example.com');
    await open.store.close();
    expect((await stat(join(nested, 'users.db'))).isFile()).toBe(true);
  });

  it('replays many concurrent updates to the same state, after a crash and after a clean close', async () => {
    const writer = await openStore(dataDir);
    await writeMany(writer, 40);
    const expected = await snapshot(writer);
    expect(expected.users).toHaveLength(8);
    expect(expected.users.every((u) => new Set(u.runningApps).size === u.runningApps.length)).toBe(true);

    // Without close(): the append-only log as a crashed process would leave it.
    for (const line of await dataLines(join(dataDir, 'users.db'))) expect(() => JSON.parse(line)).not.toThrow();
    const afterCrash = await openStore(dataDir);
    expect(await snapshot(afterCrash)).toEqual(expected);

    await afterCrash.store.close();
    // close() compacted: one line per document plus the unique-index line.
    expect(await dataLines(join(dataDir, 'users.db'))).toHaveLength(expected.users.length + 1);
    expect(await dataLines(join(dataDir, 'apps.db'))).toHaveLength(expected.apps.length + 1);
    const afterClose = await openStore(dataDir);
    expect(await snapshot(afterClose)).toEqual(expected);
    await afterClose.store.close();
  });

  it('still loads when a crash tore the last appended line', async () => {
    const writer = await openStore(dataDir);
    await writeMany(writer, 10);
    const expected = await snapshot(writer);
    await appendFile(join(dataDir, 'users.db'), '{"userId":"torn@example.com","installedApps":[{"packa');

    const reopened = await openStore(dataDir);
    expect(await snapshot(reopened)).toEqual(expected);
    await reopened.store.close();
  });

  it('close() is idempotent, and health reports a closed store as down', async () => {
    const open = await openStore(dataDir);
    const health = new EmbeddedStoreHealth(open.store);
    expect(health.kind).toBe('embedded');
    expect(await health.ping()).toBe(true);
    await open.users.addRunningApp('alice@example.com', 'com.example.alpha');
    await Promise.all([open.store.close(), open.store.close()]);
    await open.store.close();
    expect(await health.ping()).toBe(false);
    expect(await dataLines(join(dataDir, 'users.db'))).toHaveLength(2);
  });

  it('health reports a data directory that is gone as down', async () => {
    const open = await openStore(join(dataDir, 'vanishing'));
    const health = new EmbeddedStoreHealth(open.store);
    await rm(join(dataDir, 'vanishing'), { recursive: true, force: true });
    expect(await health.ping()).toBe(false);
  });
});
