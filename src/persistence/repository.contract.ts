import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DuplicateKeyError,
  type AppPatch,
  type AppRecord,
  type AppRepository,
  type NewApp,
  type SettingValue,
  type UserRecord,
  type UserRepository,
  type WebviewKeyPair,
} from './persistence.types.js';

/**
 * The behaviour both stores must share, run by embedded/embedded.store.spec.ts and mongo/mongo.store.spec.ts.
 * Each test gets a fresh, empty store from the factory and closes it afterwards.
 */

export interface RepositoryHarness {
  apps: AppRepository;
  users: UserRepository;
  /** Releases the store (and removes whatever the factory created for it). */
  close(): Promise<void>;
}

export type RepositoryFactory = () => Promise<RepositoryHarness>;

export function newApp(packageName: string, overrides: Partial<NewApp> = {}): NewApp {
  return {
    packageName,
    name: `App ${packageName}`,
    description: 'Shows things on the glasses',
    publicUrl: `https://${packageName}.example.com`,
    webviewURL: `https://${packageName}.example.com/webview`,
    logoURL: `https://${packageName}.example.com/logo.png`,
    appType: 'standard',
    permissions: [{ type: 'MICROPHONE', description: 'for captions' }, { type: 'LOCATION' }],
    hardwareRequirements: [
      { type: 'DISPLAY', level: 'REQUIRED' },
      { type: 'CAMERA', level: 'OPTIONAL', description: 'photos' },
    ],
    settings: [
      { type: 'group', title: 'General' },
      { type: 'toggle', key: 'enabled', label: 'Enabled', defaultValue: true },
      {
        type: 'select',
        key: 'mode',
        label: 'Mode',
        defaultValue: 'fast',
        options: [
          { label: 'Fast', value: 'fast' },
          { label: 'Slow', value: 'slow' },
        ],
      },
      { type: 'slider', key: 'volume', label: 'Volume', min: 0, max: 10, step: 1, defaultValue: 5 },
    ],
    tools: [
      {
        id: 'add_note',
        description: 'Adds a note',
        activationPhrases: ['add a note'],
        parameters: { text: { type: 'string', description: 'The note', required: true } },
      },
      { id: 'empty_params', description: 'No parameters', parameters: {} },
    ],
    version: '1.2.3',
    hashedApiKey: 'a'.repeat(64),
    ...overrides,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Values a JSON body could put where a key belongs; none may ever act as a query operator. */
const HOSTILE_KEYS: readonly unknown[] = [
  { $gt: '' },
  { $ne: 'nobody' },
  { $regex: '.*' },
  { $exists: true },
  { $in: ['alice@example.com', 'com.example.alpha'] },
  ['alice@example.com'],
  '',
  null,
  undefined,
  42,
];

const asKey = (value: unknown): string => value as string;

/** Passes when `operation` rejects with a TypeError, or resolves to a value `inert` accepts (taken literally). */
async function expectRejectedOrInert<T>(operation: () => Promise<T>, inert: (value: T) => void): Promise<void> {
  let value: T;
  try {
    value = await operation();
  } catch (err) {
    expect(err).toBeInstanceOf(TypeError);
    return;
  }
  inert(value);
}

async function expectTypeError(operation: () => Promise<unknown>): Promise<void> {
  await expect(operation()).rejects.toBeInstanceOf(TypeError);
}

function withoutUpdatedAt(users: UserRecord[]): Omit<UserRecord, 'updatedAt'>[] {
  return users.map(({ updatedAt: _updatedAt, ...rest }) => rest);
}

export function describeRepositoryContract(name: string, factory: RepositoryFactory): void {
  describe(`${name}: repository contract`, () => {
    let harness: RepositoryHarness | undefined;
    let apps: AppRepository;
    let users: UserRepository;

    beforeEach(async () => {
      harness = await factory();
      ({ apps, users } = harness);
    });

    afterEach(async () => {
      await harness?.close();
      harness = undefined;
    });

    describe('apps', () => {
      it('create returns the stored record with equal Date timestamps and no internal fields', async () => {
        const input = newApp('com.example.alpha');
        const before = Date.now();
        const created = await apps.create(input);

        const { createdAt, updatedAt, ...fields } = created;
        expect(fields).toEqual(input);
        expect(Object.keys(created).sort()).toEqual([...Object.keys(input), 'createdAt', 'updatedAt'].sort());
        expect(createdAt).toBeInstanceOf(Date);
        expect(updatedAt).toBeInstanceOf(Date);
        expect(createdAt.getTime()).toBe(updatedAt.getTime());
        expect(createdAt.getTime()).toBeGreaterThanOrEqual(before - 1);
        expect(await apps.findByPackageName('com.example.alpha')).toEqual(created);
      });

      it('leaves absent optional fields absent', async () => {
        const {
          description: _d,
          webviewURL: _w,
          logoURL: _l,
          tools: _t,
          version: _v,
          ...bare
        } = newApp('com.example.bare');
        const created = await apps.create(bare);
        const found = await apps.findByPackageName('com.example.bare');
        for (const record of [created, found]) {
          expect(record).not.toBeNull();
          expect(record && 'description' in record).toBe(false);
          expect(record && 'webviewURL' in record).toBe(false);
          expect(record && 'logoURL' in record).toBe(false);
          expect(record && 'tools' in record).toBe(false);
          expect(record && 'version' in record).toBe(false);
        }
      });

      it('findByPackageName returns null for an unknown package', async () => {
        await apps.create(newApp('com.example.alpha'));
        expect(await apps.findByPackageName('com.example.unknown')).toBeNull();
      });

      it('create rejects a duplicate package name with DuplicateKeyError and keeps the original', async () => {
        const original = await apps.create(newApp('com.example.alpha'));
        const attempt = apps.create(newApp('com.example.alpha', { name: 'Impostor', hashedApiKey: 'b'.repeat(64) }));
        await expect(attempt).rejects.toBeInstanceOf(DuplicateKeyError);
        await expect(attempt).rejects.toMatchObject({ key: 'com.example.alpha' });
        expect(await apps.findByPackageName('com.example.alpha')).toEqual(original);
        expect(await apps.list()).toHaveLength(1);
      });

      it('concurrent creates of one package name store one app and fail the rest with DuplicateKeyError', async () => {
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) => apps.create(newApp('com.example.race', { name: `Racer ${i}` }))),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results.filter((r) => r.status === 'rejected')) {
          expect(r.reason).toBeInstanceOf(DuplicateKeyError);
        }
        expect(await apps.list()).toHaveLength(1);
      });

      it('update returns null for an unknown package and creates nothing', async () => {
        expect(await apps.update('com.example.ghost', { name: 'Ghost' })).toBeNull();
        expect(await apps.findByPackageName('com.example.ghost')).toBeNull();
        expect(await apps.list()).toEqual([]);
      });

      it('update changes the given fields, keeps packageName and createdAt, and bumps updatedAt', async () => {
        const created = await apps.create(newApp('com.example.alpha'));
        await sleep(5);
        const patch: AppPatch = {
          name: 'Renamed',
          appType: 'background',
          permissions: [{ type: 'CAMERA' }],
          settings: [{ type: 'text', key: 'greeting', defaultValue: 'hi' }],
        };
        const updated = await apps.update('com.example.alpha', patch);

        expect(updated).toEqual({ ...created, ...patch, updatedAt: expect.any(Date) });
        expect(updated?.packageName).toBe('com.example.alpha');
        expect(updated?.createdAt.getTime()).toBe(created.createdAt.getTime());
        expect(updated?.updatedAt.getTime()).toBeGreaterThan(created.updatedAt.getTime());
        expect(await apps.findByPackageName('com.example.alpha')).toEqual(updated);
      });

      it('update ignores identity fields smuggled into a patch', async () => {
        const created = await apps.create(newApp('com.example.alpha'));
        const smuggled = { name: 'Renamed', packageName: 'com.example.other', createdAt: new Date(0), _id: 'x' };
        const updated = await apps.update('com.example.alpha', smuggled as AppPatch);

        expect(updated?.packageName).toBe('com.example.alpha');
        expect(updated?.name).toBe('Renamed');
        expect(updated?.createdAt.getTime()).toBe(created.createdAt.getTime());
        expect(updated && '_id' in updated).toBe(false);
        expect(await apps.findByPackageName('com.example.other')).toBeNull();
      });

      it('update treats undefined fields as not given', async () => {
        await apps.create(newApp('com.example.alpha'));
        const updated = await apps.update('com.example.alpha', { description: undefined, name: 'Renamed' });
        expect(updated?.description).toBe('Shows things on the glasses');
        expect(updated?.name).toBe('Renamed');
      });

      it('delete removes the app and reports whether one was deleted', async () => {
        await apps.create(newApp('com.example.alpha'));
        await apps.create(newApp('com.example.beta'));
        expect(await apps.delete('com.example.alpha')).toBe(true);
        expect(await apps.delete('com.example.alpha')).toBe(false);
        expect(await apps.findByPackageName('com.example.alpha')).toBeNull();
        expect((await apps.list()).map((a) => a.packageName)).toEqual(['com.example.beta']);
        // The name is free again.
        await expect(apps.create(newApp('com.example.alpha'))).resolves.toMatchObject({
          packageName: 'com.example.alpha',
        });
      });

      it('list returns every app, ordered by package name', async () => {
        expect(await apps.list()).toEqual([]);
        const made: AppRecord[] = [];
        for (const pkg of ['com.example.gamma', 'com.example.alpha', 'com.example.beta'])
          made.push(await apps.create(newApp(pkg)));
        const listed = await apps.list();
        expect(listed.map((a) => a.packageName)).toEqual([
          'com.example.alpha',
          'com.example.beta',
          'com.example.gamma',
        ]);
        expect(listed).toEqual(expect.arrayContaining(made));
      });

      it('package names with dots are matched exactly, never as patterns or paths', async () => {
        await apps.create(newApp('com.example.app'));
        await apps.create(newApp('com.example'));
        expect((await apps.findByPackageName('com.example'))?.packageName).toBe('com.example');
        expect(await apps.findByPackageName('comXexample.app')).toBeNull();
        expect(await apps.findByPackageName('com.example.*')).toBeNull();
        expect(await apps.update('com.example.ap', { name: 'x' })).toBeNull();
        expect(await apps.delete('com.example')).toBe(true);
        expect((await apps.list()).map((a) => a.packageName)).toEqual(['com.example.app']);
      });

      it('returns copies: mutating inputs or results never changes the store', async () => {
        const input = newApp('com.example.alpha');
        const created = await apps.create(input);
        const snapshot = structuredClone(created);

        input.permissions.push({ type: 'ALL' });
        input.settings[1].label = 'mutated input';
        created.name = 'mutated';
        created.permissions[0].type = 'CAMERA';
        created.settings[2].options?.push({ label: 'x', value: 'x' });
        created.createdAt.setFullYear(1999);
        const found = await apps.findByPackageName('com.example.alpha');
        found?.hardwareRequirements.pop();
        (await apps.list())[0].settings.length = 0;
        const updated = await apps.update('com.example.alpha', {});
        updated?.permissions.splice(0);

        const again = await apps.findByPackageName('com.example.alpha');
        expect({ ...again, updatedAt: snapshot.updatedAt }).toEqual(snapshot);
      });

      it('rejects non-string package names, or takes them literally: they never match another app', async () => {
        await apps.create(newApp('com.example.alpha'));
        await apps.create(newApp('com.example.beta'));
        const before = await apps.list();

        for (const hostile of HOSTILE_KEYS) {
          await expectRejectedOrInert(
            () => apps.findByPackageName(asKey(hostile)),
            (v) => expect(v).toBeNull(),
          );
          await expectRejectedOrInert(
            () => apps.update(asKey(hostile), { name: 'pwned' }),
            (v) => expect(v).toBeNull(),
          );
          await expectRejectedOrInert(
            () => apps.delete(asKey(hostile)),
            (v) => expect(v).toBe(false),
          );
          await expectTypeError(() => apps.create(newApp(asKey(hostile))));
        }
        expect(await apps.list()).toEqual(before);
      });

      it('rejects app data with keys that cannot be stored', async () => {
        const bad = newApp('com.example.alpha', {
          settings: [{ type: 'select', key: 'mode', options: [{ label: 'x', value: { $where: 'sleep(1000)' } }] }],
        });
        await expectTypeError(() => apps.create(bad));
        expect(await apps.findByPackageName('com.example.alpha')).toBeNull();

        await apps.create(newApp('com.example.alpha'));
        await expectTypeError(() => apps.update('com.example.alpha', { settings: [{ type: 'x', 'a.b': 1 }] }));
        expect((await apps.findByPackageName('com.example.alpha'))?.settings).toEqual(newApp('x').settings);
      });

      const keyPair = (n: number): WebviewKeyPair => ({
        publicKeyPem: `-----BEGIN PUBLIC KEY-----\nkey${n}\n-----END PUBLIC KEY-----\n`,
        sealedPrivateKey: `v1.sealed-${n}`,
        createdAt: new Date(1_700_000_000_000 + n),
      });

      it('a webview key pair is stored with the app, compare-and-set, and never shows in AppRecord', async () => {
        const created = await apps.create(newApp('com.example.alpha'));
        expect(await apps.findWebviewKey('com.example.alpha')).toBeNull();
        expect(await apps.replaceWebviewKey('com.example.alpha', null, keyPair(1))).toEqual(keyPair(1));
        // A second "first" key loses: the stored pair stays.
        expect(await apps.replaceWebviewKey('com.example.alpha', null, keyPair(2))).toEqual(keyPair(1));
        // A swap naming a pair that is not the current one loses too.
        expect(await apps.replaceWebviewKey('com.example.alpha', keyPair(3), keyPair(4))).toEqual(keyPair(1));
        expect(await apps.replaceWebviewKey('com.example.alpha', keyPair(1), keyPair(5))).toEqual(keyPair(5));
        expect(await apps.findWebviewKey('com.example.alpha')).toEqual(keyPair(5));

        const found = await apps.findByPackageName('com.example.alpha');
        expect(found).toEqual({ ...created, updatedAt: expect.any(Date) });
        expect(found && 'webviewKey' in found).toBe(false);
        expect((await apps.list()).some((a) => 'webviewKey' in a)).toBe(false);
        // An app update (even one smuggling the field) keeps the pair.
        await apps.update('com.example.alpha', { name: 'Renamed', webviewKey: keyPair(9) } as AppPatch);
        expect(await apps.findWebviewKey('com.example.alpha')).toEqual(keyPair(5));
      });

      it('concurrent first webview keys of one app settle on one pair', async () => {
        await apps.create(newApp('com.example.alpha'));
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => apps.replaceWebviewKey('com.example.alpha', null, keyPair(i))),
        );
        const stored = await apps.findWebviewKey('com.example.alpha');
        expect(stored).not.toBeNull();
        for (const r of results) expect(r).toEqual(stored);
      });

      it('webview keys of unknown apps: null, nothing created; a deleted app takes its pair with it', async () => {
        expect(await apps.replaceWebviewKey('com.example.ghost', null, keyPair(1))).toBeNull();
        expect(await apps.findWebviewKey('com.example.ghost')).toBeNull();
        expect(await apps.list()).toEqual([]);
        await apps.create(newApp('com.example.alpha'));
        await apps.replaceWebviewKey('com.example.alpha', null, keyPair(1));
        await apps.delete('com.example.alpha');
        await apps.create(newApp('com.example.alpha'));
        expect(await apps.findWebviewKey('com.example.alpha')).toBeNull();
        await expectTypeError(() => apps.findWebviewKey(asKey({ $gt: '' })));
      });
    });

    describe('users', () => {
      const ALICE = 'alice@example.com';
      const BOB = 'bob@example.com';

      it('findById returns null for an unknown user', async () => {
        await users.findOrCreate(BOB);
        expect(await users.findById(ALICE)).toBeNull();
      });

      it('findOrCreate creates an empty user once and then returns the same one', async () => {
        const created = await users.findOrCreate(ALICE);
        expect(created).toEqual({
          userId: ALICE,
          installedApps: [],
          runningApps: [],
          appSettings: [],
          userSettings: {},
          createdAt: expect.any(Date),
          updatedAt: expect.any(Date),
        });
        expect(created.createdAt.getTime()).toBe(created.updatedAt.getTime());

        await users.addRunningApp(ALICE, 'com.example.alpha');
        const again = await users.findOrCreate(ALICE);
        expect(again.createdAt.getTime()).toBe(created.createdAt.getTime());
        expect(again.runningApps).toEqual(['com.example.alpha']);
        expect(await users.findById(ALICE)).toEqual(again);
      });

      it('20 concurrent findOrCreate calls for one userId create exactly one record', async () => {
        const results = await Promise.all(Array.from({ length: 20 }, () => users.findOrCreate(ALICE)));
        const listed = await users.list();
        expect(listed.filter((u) => u.userId === ALICE)).toHaveLength(1);
        expect(listed).toHaveLength(1);
        expect(new Set(results.map((r) => r.createdAt.getTime())).size).toBe(1);
        expect(results.every((r) => r.userId === ALICE)).toBe(true);
      });

      it('list returns every user, ordered by userId', async () => {
        expect(await users.list()).toEqual([]);
        await users.findOrCreate(BOB);
        await users.installApp(ALICE, 'com.example.alpha');
        const listed = await users.list();
        expect(listed.map((u) => u.userId)).toEqual([ALICE, BOB]);
        expect(listed[0]).toEqual(await users.findById(ALICE));
      });

      it('installApp creates the user, installs once and keeps the first installedDate', async () => {
        const first = await users.installApp(ALICE, 'com.example.alpha');
        expect(first.userId).toBe(ALICE);
        expect(first.installedApps).toEqual([{ packageName: 'com.example.alpha', installedDate: expect.any(Date) }]);
        await sleep(5);

        const second = await users.installApp(ALICE, 'com.example.alpha');
        expect(second.installedApps).toEqual(first.installedApps);
        expect(second.createdAt.getTime()).toBe(first.createdAt.getTime());

        const third = await users.installApp(ALICE, 'com.example.beta');
        expect(third.installedApps.map((a) => a.packageName)).toEqual(['com.example.alpha', 'com.example.beta']);
        expect(third.updatedAt.getTime()).toBeGreaterThan(first.updatedAt.getTime());
        expect(await users.findById(ALICE)).toEqual(third);
      });

      it('concurrent installApp calls: one entry per package, and no package lost', async () => {
        const packages = Array.from({ length: 15 }, (_, i) => `com.example.app${i}`);
        await Promise.all([
          ...Array.from({ length: 10 }, () => users.installApp(ALICE, 'com.example.same')),
          ...packages.map((p) => users.installApp(ALICE, p)),
        ]);
        const user = await users.findById(ALICE);
        const names = user?.installedApps.map((a) => a.packageName) ?? [];
        expect(names.filter((n) => n === 'com.example.same')).toHaveLength(1);
        expect([...names].sort()).toEqual(['com.example.same', ...packages].sort());
        expect(await users.list()).toHaveLength(1);
      });

      it('uninstallApp returns null for an unknown user and does not create it', async () => {
        expect(await users.uninstallApp(ALICE, 'com.example.alpha')).toBeNull();
        expect(await users.findById(ALICE)).toBeNull();
      });

      it('uninstallApp removes the package from installed, running and settings, and nothing else', async () => {
        for (const pkg of ['com.example.alpha', 'com.example.beta']) {
          await users.installApp(ALICE, pkg);
          await users.addRunningApp(ALICE, pkg);
          await users.setAppSettings(ALICE, pkg, [{ key: 'k', value: pkg }]);
        }
        const before = await users.findById(ALICE);
        await sleep(5);

        const after = await users.uninstallApp(ALICE, 'com.example.alpha');
        expect(after?.installedApps.map((a) => a.packageName)).toEqual(['com.example.beta']);
        expect(after?.runningApps).toEqual(['com.example.beta']);
        expect(after?.appSettings).toEqual([
          { packageName: 'com.example.beta', settings: [{ key: 'k', value: 'com.example.beta' }] },
        ]);
        expect(after?.installedApps[0]).toEqual(before?.installedApps[1]);
        expect(after?.createdAt.getTime()).toBe(before?.createdAt.getTime());
        expect(after?.updatedAt.getTime()).toBeGreaterThan(before?.updatedAt.getTime() ?? Infinity);
        expect(await users.findById(ALICE)).toEqual(after);

        const notInstalled = await users.uninstallApp(ALICE, 'com.example.never');
        expect(notInstalled?.installedApps.map((a) => a.packageName)).toEqual(['com.example.beta']);
      });

      it('addRunningApp creates the user and has set semantics', async () => {
        await users.addRunningApp(ALICE, 'com.example.alpha');
        await users.addRunningApp(ALICE, 'com.example.alpha');
        await users.addRunningApp(ALICE, 'com.example.beta');
        const user = await users.findById(ALICE);
        expect(user?.runningApps).toEqual(['com.example.alpha', 'com.example.beta']);
        expect(user?.installedApps).toEqual([]);
        expect(user?.appSettings).toEqual([]);
        expect(user?.createdAt).toBeInstanceOf(Date);
      });

      it('50 concurrent addRunningApp calls of distinct packages lose none, and repeats are stored once', async () => {
        const packages = Array.from({ length: 50 }, (_, i) => `com.example.app${i}`);
        await Promise.all([
          ...packages.map((p) => users.addRunningApp(ALICE, p)),
          ...Array.from({ length: 20 }, () => users.addRunningApp(ALICE, 'com.example.app7')),
        ]);
        const running = (await users.findById(ALICE))?.runningApps ?? [];
        expect(running).toHaveLength(50);
        expect([...running].sort()).toEqual([...packages].sort());
        expect(await users.list()).toHaveLength(1);
      });

      it('removeRunningApp removes only that package; an unknown user is a no-op', async () => {
        await users.addRunningApp(ALICE, 'com.example.alpha');
        await users.addRunningApp(ALICE, 'com.example.beta');
        await users.removeRunningApp(ALICE, 'com.example.alpha');
        await users.removeRunningApp(ALICE, 'com.example.never');
        expect((await users.findById(ALICE))?.runningApps).toEqual(['com.example.beta']);

        await expect(users.removeRunningApp(BOB, 'com.example.alpha')).resolves.toBeUndefined();
        expect(await users.findById(BOB)).toBeNull();
      });

      it('concurrent adds and removes of different running apps do not undo each other', async () => {
        const initial = Array.from({ length: 10 }, (_, i) => `com.example.old${i}`);
        for (const p of initial) await users.addRunningApp(ALICE, p);
        const added = Array.from({ length: 10 }, (_, i) => `com.example.new${i}`);
        await Promise.all([
          ...initial.slice(0, 5).map((p) => users.removeRunningApp(ALICE, p)),
          ...added.map((p) => users.addRunningApp(ALICE, p)),
        ]);
        const running = (await users.findById(ALICE))?.runningApps ?? [];
        expect([...running].sort()).toEqual([...initial.slice(5), ...added].sort());
      });

      it("setAppSettings creates the user and replaces (not merges) one package's values", async () => {
        const first = await users.setAppSettings(ALICE, 'com.example.alpha', [
          { key: 'a', value: 1 },
          { key: 'b', value: 2 },
        ]);
        expect(first.appSettings).toEqual([
          {
            packageName: 'com.example.alpha',
            settings: [
              { key: 'a', value: 1 },
              { key: 'b', value: 2 },
            ],
          },
        ]);
        await users.setAppSettings(ALICE, 'com.example.beta', [{ key: 'x', value: 'keep' }]);

        const replaced = await users.setAppSettings(ALICE, 'com.example.alpha', [{ key: 'c', value: 3 }]);
        const byPackage = new Map(replaced.appSettings.map((s) => [s.packageName, s.settings]));
        expect(replaced.appSettings).toHaveLength(2);
        expect(byPackage.get('com.example.alpha')).toEqual([{ key: 'c', value: 3 }]);
        expect(byPackage.get('com.example.beta')).toEqual([{ key: 'x', value: 'keep' }]);
        expect(await users.findById(ALICE)).toEqual(replaced);

        const emptied = await users.setAppSettings(ALICE, 'com.example.alpha', []);
        expect(emptied.appSettings.find((s) => s.packageName === 'com.example.alpha')?.settings).toEqual([]);
      });

      it('concurrent setAppSettings calls leave exactly one entry per package', async () => {
        const writes = Array.from({ length: 10 }, (_, i): SettingValue[] => [{ key: 'n', value: i }]);
        await Promise.all([
          ...writes.map((s) => users.setAppSettings(ALICE, 'com.example.alpha', s)),
          ...Array.from({ length: 10 }, (_, i) =>
            users.setAppSettings(ALICE, `com.example.other${i}`, [{ key: 'i', value: i }]),
          ),
        ]);
        const user = await users.findById(ALICE);
        const alpha = user?.appSettings.filter((s) => s.packageName === 'com.example.alpha') ?? [];
        expect(alpha).toHaveLength(1);
        expect(writes).toContainEqual(alpha[0].settings);
        expect(user?.appSettings).toHaveLength(11);
        expect(await users.list()).toHaveLength(1);
      });

      it('setAppSettings keeps every JSON value type', async () => {
        const settings: SettingValue[] = [
          { key: 'string', value: 'text with $dollar and dots.' },
          { key: 'number', value: 3.5 },
          { key: 'zero', value: 0 },
          { key: 'true', value: true },
          { key: 'false', value: false },
          { key: 'null', value: null },
          { key: 'array', value: ['a', 1, { nested: [true] }] },
          { key: 'object', value: { a: { b: 'c' }, list: [1, 2] } },
          { key: 'empty', value: {} },
        ];
        const saved = await users.setAppSettings(ALICE, 'com.example.alpha', settings);
        expect(saved.appSettings[0].settings).toEqual(settings);
        expect((await users.findById(ALICE))?.appSettings[0].settings).toEqual(settings);
      });

      it('setAppSettings rejects values with keys that cannot be stored, changing nothing', async () => {
        await users.setAppSettings(ALICE, 'com.example.alpha', [{ key: 'k', value: 1 }]);
        const before = await users.findById(ALICE);
        await expectTypeError(() =>
          users.setAppSettings(ALICE, 'com.example.alpha', [{ key: 'k', value: { $where: '1' } }]),
        );
        await expectTypeError(() =>
          users.setAppSettings(ALICE, 'com.example.alpha', [{ key: 'k', value: { 'a.b': 1 } }]),
        );
        await expectTypeError(() =>
          users.setAppSettings(ALICE, 'com.example.alpha', asKey({ key: 'k' }) as unknown as SettingValue[]),
        );
        expect(await users.findById(ALICE)).toEqual(before);
      });

      it('updateUserSettings creates the user, merges keys, and removes the keys given as null', async () => {
        const first = await users.updateUserSettings(ALICE, { metric_system: true, brightness: 40 });
        expect(first.userSettings).toEqual({ metric_system: true, brightness: 40 });
        const merged = await users.updateUserSettings(ALICE, {
          brightness: null,
          default_wearable: 'Even Realities G1',
          'preferred_mic:Mentra Live': 'glasses',
          nested: { list: [1, 'two'], on: false },
        });
        expect(merged.userSettings).toEqual({
          metric_system: true,
          default_wearable: 'Even Realities G1',
          'preferred_mic:Mentra Live': 'glasses',
          nested: { list: [1, 'two'], on: false },
        });
        expect(merged.updatedAt.getTime()).toBeGreaterThanOrEqual(first.updatedAt.getTime());
        expect(await users.findById(ALICE)).toEqual(merged);
        // Other per-user lists are untouched.
        await users.installApp(ALICE, 'com.example.alpha');
        expect((await users.updateUserSettings(ALICE, { timezone: 'Europe/Berlin' })).installedApps).toHaveLength(1);
      });

      it('concurrent updateUserSettings calls of different keys lose none', async () => {
        await Promise.all(Array.from({ length: 20 }, (_, i) => users.updateUserSettings(ALICE, { [`key_${i}`]: i })));
        const user = await users.findById(ALICE);
        expect(Object.keys(user?.userSettings ?? {})).toHaveLength(20);
        expect(user?.userSettings.key_7).toBe(7);
        expect(await users.list()).toHaveLength(1);
      });

      it('updateUserSettings rejects keys and values that cannot be stored, changing nothing', async () => {
        await users.updateUserSettings(ALICE, { metric_system: false });
        const before = await users.findById(ALICE);
        for (const key of ['$where', 'a.b', '__proto__', 'constructor', ''])
          await expectTypeError(() => users.updateUserSettings(ALICE, JSON.parse(JSON.stringify({ [key]: 1 }))));
        await expectTypeError(() => users.updateUserSettings(ALICE, { ok: 1, bad: { $gt: '' } }));
        await expectTypeError(() =>
          users.updateUserSettings(ALICE, asKey(['x']) as unknown as Record<string, unknown>),
        );
        expect(await users.findById(ALICE)).toEqual(before);
      });

      it('removeAppEverywhere removes the package from every user and nothing else', async () => {
        for (const user of [ALICE, BOB]) {
          await users.installApp(user, 'com.example.doomed');
          await users.installApp(user, 'com.example.kept');
          await users.addRunningApp(user, 'com.example.doomed');
          await users.addRunningApp(user, 'com.example.kept');
          await users.setAppSettings(user, 'com.example.doomed', [{ key: 'k', value: 1 }]);
          await users.setAppSettings(user, 'com.example.kept', [{ key: 'k', value: 2 }]);
        }
        // Only running, never installed: still removed.
        await users.addRunningApp('carol@example.com', 'com.example.doomed');
        await users.findOrCreate('dave@example.com');

        await users.removeAppEverywhere('com.example.doomed');

        for (const user of [ALICE, BOB]) {
          const record = await users.findById(user);
          expect(record?.installedApps.map((a) => a.packageName)).toEqual(['com.example.kept']);
          expect(record?.runningApps).toEqual(['com.example.kept']);
          expect(record?.appSettings).toEqual([
            { packageName: 'com.example.kept', settings: [{ key: 'k', value: 2 }] },
          ]);
        }
        expect((await users.findById('carol@example.com'))?.runningApps).toEqual([]);
        expect(await users.list()).toHaveLength(4);
        await expect(users.removeAppEverywhere('com.example.never')).resolves.toBeUndefined();
      });

      it('delete removes the user and reports whether one was deleted', async () => {
        await users.installApp(ALICE, 'com.example.alpha');
        await users.findOrCreate(BOB);
        expect(await users.delete(ALICE)).toBe(true);
        expect(await users.delete(ALICE)).toBe(false);
        expect(await users.findById(ALICE)).toBeNull();
        expect((await users.list()).map((u) => u.userId)).toEqual([BOB]);
        // A later findOrCreate starts from scratch.
        expect((await users.findOrCreate(ALICE)).installedApps).toEqual([]);
      });

      it('returns copies: mutating inputs or results never changes the store', async () => {
        const settings: SettingValue[] = [{ key: 'k', value: { nested: [1] } }];
        await users.installApp(ALICE, 'com.example.alpha');
        await users.addRunningApp(ALICE, 'com.example.alpha');
        const saved = await users.setAppSettings(ALICE, 'com.example.alpha', settings);
        const snapshot = structuredClone(saved);

        (settings[0].value as { nested: number[] }).nested.push(2);
        settings.push({ key: 'extra', value: 1 });
        saved.installedApps.push({ packageName: 'com.example.fake', installedDate: new Date() });
        saved.installedApps[0].installedDate.setFullYear(1999);
        saved.runningApps.push('com.example.fake');
        (saved.appSettings[0].settings[0].value as { nested: number[] }).nested.push(3);
        const found = await users.findById(ALICE);
        found?.appSettings.pop();
        (await users.list())[0].runningApps.length = 0;
        (await users.findOrCreate(ALICE)).createdAt.setFullYear(1999);

        expect(await users.findById(ALICE)).toEqual(snapshot);
      });

      it('rejects non-string userIds and package names, or takes them literally: they never match another user', async () => {
        for (const user of [ALICE, BOB]) {
          await users.installApp(user, 'com.example.alpha');
          await users.addRunningApp(user, 'com.example.alpha');
          await users.setAppSettings(user, 'com.example.alpha', [{ key: 'k', value: user }]);
        }
        const before = await users.list();

        for (const hostile of HOSTILE_KEYS) {
          const key = asKey(hostile);
          await expectRejectedOrInert(
            () => users.findById(key),
            (v) => expect(v).toBeNull(),
          );
          await expectRejectedOrInert(
            () => users.uninstallApp(key, 'com.example.alpha'),
            (v) => expect(v).toBeNull(),
          );
          await expectRejectedOrInert(
            () => users.removeRunningApp(key, 'com.example.alpha'),
            () => undefined,
          );
          await expectRejectedOrInert(
            () => users.delete(key),
            (v) => expect(v).toBe(false),
          );
          await expectTypeError(() => users.findOrCreate(key));
          await expectTypeError(() => users.installApp(key, 'com.example.beta'));
          await expectTypeError(() => users.addRunningApp(key, 'com.example.beta'));
          await expectTypeError(() => users.setAppSettings(key, 'com.example.beta', []));

          await expectRejectedOrInert(
            () => users.uninstallApp(ALICE, key),
            (v) => expect(v?.installedApps.map((a) => a.packageName)).toEqual(['com.example.alpha']),
          );
          await expectRejectedOrInert(
            () => users.removeRunningApp(ALICE, key),
            () => undefined,
          );
          await expectRejectedOrInert(
            () => users.removeAppEverywhere(key),
            () => undefined,
          );
          await expectTypeError(() => users.installApp(ALICE, key));
          await expectTypeError(() => users.addRunningApp(ALICE, key));
          await expectTypeError(() => users.setAppSettings(ALICE, key, []));
        }
        expect(withoutUpdatedAt(await users.list())).toEqual(withoutUpdatedAt(before));
      });

      it("'__proto__' and 'constructor' are ordinary userIds", async () => {
        await users.findOrCreate(ALICE);
        const proto = await users.installApp('__proto__', 'com.example.alpha');
        await users.setAppSettings('constructor', 'com.example.beta', [{ key: 'k', value: 1 }]);

        expect(proto.userId).toBe('__proto__');
        expect((await users.findById('__proto__'))?.installedApps.map((a) => a.packageName)).toEqual([
          'com.example.alpha',
        ]);
        expect((await users.findById('constructor'))?.appSettings[0].packageName).toBe('com.example.beta');
        expect((await users.list()).map((u) => u.userId).sort()).toEqual(['__proto__', ALICE, 'constructor'].sort());
        expect((await users.findById(ALICE))?.installedApps).toEqual([]);
        expect(({} as Record<string, unknown>).installedApps).toBeUndefined();
        expect(await users.delete('__proto__')).toBe(true);
        expect(await users.findById('__proto__')).toBeNull();
      });

      it('package names with dots work in every per-user list and are matched exactly', async () => {
        for (const pkg of ['com.example', 'com.example.app', 'comXexample']) {
          await users.installApp(ALICE, pkg);
          await users.addRunningApp(ALICE, pkg);
          await users.setAppSettings(ALICE, pkg, [{ key: 'pkg', value: pkg }]);
        }
        await users.uninstallApp(ALICE, 'com.example');
        await users.removeRunningApp(ALICE, 'com.example.ap');
        await users.removeAppEverywhere('com.examplX');

        const user = await users.findById(ALICE);
        expect(user?.installedApps.map((a) => a.packageName)).toEqual(['com.example.app', 'comXexample']);
        expect(user?.runningApps).toEqual(['com.example.app', 'comXexample']);
        expect(user?.appSettings).toEqual([
          { packageName: 'com.example.app', settings: [{ key: 'pkg', value: 'com.example.app' }] },
          { packageName: 'comXexample', settings: [{ key: 'pkg', value: 'comXexample' }] },
        ]);
      });

      it('the token version starts at 0, only rises, creates the user, and never shows in UserRecord', async () => {
        expect(await users.findTokenVersion(ALICE)).toBe(0);
        expect(await users.findById(ALICE)).toBeNull();
        expect(await users.raiseTokenVersion(ALICE, 1_700_000_000_500)).toBe(1_700_000_000_500);
        expect(await users.raiseTokenVersion(ALICE, 12)).toBe(1_700_000_000_500);
        expect(await users.raiseTokenVersion(ALICE, 1_700_000_000_501)).toBe(1_700_000_000_501);
        expect(await users.findTokenVersion(ALICE)).toBe(1_700_000_000_501);
        expect(await users.findTokenVersion(BOB)).toBe(0);
        const alice = await users.findById(ALICE);
        expect(alice).toMatchObject({ userId: ALICE, installedApps: [], runningApps: [], appSettings: [] });
        expect(alice && 'tokenVersion' in alice).toBe(false);
        // Other changes to the user keep it.
        await users.installApp(ALICE, 'com.example.app');
        await users.setAppSettings(ALICE, 'com.example.app', [{ key: 'a', value: 1 }]);
        expect(await users.findTokenVersion(ALICE)).toBe(1_700_000_000_501);
      });

      it('concurrent raises keep the highest; bad versions and ids are refused', async () => {
        await Promise.all(Array.from({ length: 20 }, (_, i) => users.raiseTokenVersion(ALICE, 100 + i)));
        expect(await users.findTokenVersion(ALICE)).toBe(119);
        for (const bad of [-1, Number.NaN, Infinity, '5' as unknown as number])
          await expectTypeError(() => users.raiseTokenVersion(ALICE, bad));
        await expectTypeError(() => users.raiseTokenVersion(asKey({ $gt: '' }), 1));
        await expectTypeError(() => users.findTokenVersion(asKey({ $ne: 'x' })));
        expect(await users.findTokenVersion(ALICE)).toBe(119);
      });
    });
  });
}
