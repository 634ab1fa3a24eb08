import { tmpdir } from 'node:os';
import { getConnectionToken, getModelToken } from '@nestjs/mongoose';
import { Test, type TestingModule } from '@nestjs/testing';
import mongoose, { type Connection, type Model } from 'mongoose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PersistenceModule } from '../persistence.module.js';
import {
  APP_REPOSITORY,
  DuplicateKeyError,
  USER_REPOSITORY,
  type AppRepository,
  type UserRecord,
  type UserRepository,
} from '../persistence.types.js';
import { describeRepositoryContract, newApp, type RepositoryHarness } from '../repository.contract.js';
import { StoreHealth } from '../store-health.js';
import { APP_MODEL, AppSchema, type AppEntity } from './app.schema.js';
import { MongoAppRepository } from './mongo-app.repository.js';
import { mongoConnectionOptions } from './mongo-persistence.module.js';
import { MongoStoreHealth } from './mongo-store.health.js';
import { MongoUserRepository } from './mongo-user.repository.js';
import { USER_MODEL, UserSchema, type UserEntity } from './user.schema.js';

const MONGO_URL = process.env.MONGO_URL;

/** Points a MongoDB connection string at another database (multi-host strings are not valid WHATWG URLs). */
function withDatabase(url: string, dbName: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/[^/?]*)(?:\/[^?]*)?(\?.*)?$/.exec(url);
  if (!match) throw new Error(`MONGO_URL is not a mongodb:// connection string: ${url}`);
  return `${match[1]}/${dbName}${match[2] ?? ''}`;
}

let databases = 0;

/** A fresh database per test, dropped on close; wired through PersistenceModule like the app does. */
async function openMongoHarness(url: string): Promise<RepositoryHarness> {
  const dbName = `mentra_test_${process.pid}_${Date.now()}_${++databases}`;
  const moduleRef = await Test.createTestingModule({
    imports: [PersistenceModule.forRoot({ mongoUrl: withDatabase(url, dbName), dataDir: tmpdir() })],
  }).compile();
  await moduleRef.init();
  return {
    apps: moduleRef.get<AppRepository>(APP_REPOSITORY),
    users: moduleRef.get<UserRepository>(USER_REPOSITORY),
    close: async () => {
      await moduleRef.get<Connection>(getConnectionToken()).dropDatabase();
      await moduleRef.close();
    },
  };
}

if (MONGO_URL) {
  describeRepositoryContract('mongo store', () => openMongoHarness(MONGO_URL));
} else {
  console.warn(
    'MongoDB contract suite skipped: MONGO_URL is not set (no MongoDB server can run on this machine; CI runs the embedded store)',
  );
  describe.skip('mongo store (needs MONGO_URL)', () => {
    describeRepositoryContract('mongo store', () => openMongoHarness(''));
  });
}

// Everything below runs without a server: models live on a connection that never connects, and the driver
// collection methods are replaced by recorders, so we see exactly what mongoose would send.

/** A connection that never connects and never waits for one (no buffering, no index or collection creation). */
function offlineConnection(): Connection {
  const connection = mongoose.createConnection();
  // `config`, not set(): set() files unknown keys under `options`, where Model.init() does not look.
  Object.assign(connection.config as Record<string, unknown>, {
    bufferCommands: false,
    autoIndex: false,
    autoCreate: false,
    sanitizeFilter: mongoConnectionOptions('mongodb://unused').sanitizeFilter,
  });
  return connection;
}

type DriverMethod = 'findOne' | 'findOneAndUpdate' | 'updateOne' | 'updateMany' | 'deleteOne' | 'insertOne';

interface DriverCall {
  method: DriverMethod;
  args: unknown[];
}

const UPDATE_RESULT = { acknowledged: true, matchedCount: 1, modifiedCount: 1, upsertedCount: 0, upsertedId: null };

function storedUser(userId: string): UserRecord {
  const now = new Date('2025-01-01T00:00:00Z');
  return {
    userId,
    installedApps: [],
    runningApps: [],
    appSettings: [],
    userSettings: {},
    createdAt: now,
    updatedAt: now,
  };
}

/** A plain copy of what mongoose hands the driver (its casted arrays and subdocuments are not plain). */
function toPlain(value: unknown): unknown {
  if (Array.isArray(value)) return Array.from(value, toPlain);
  if (
    value === null ||
    typeof value !== 'object' ||
    value instanceof Date ||
    value instanceof mongoose.Types.ObjectId
  ) {
    return value;
  }
  const bson = (value as { toBSON?: () => unknown }).toBSON;
  if (typeof bson === 'function' && Object.getPrototypeOf(value) !== Object.prototype) return toPlain(bson.call(value));
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toPlain(item)]));
}

/** Replaces the model's driver calls with recorders answering `replies[method]` (or a plausible default). */
function recordDriver(
  model: Model<AppEntity> | Model<UserEntity>,
  replies: Partial<Record<DriverMethod, (...args: unknown[]) => unknown>> = {},
): DriverCall[] {
  const calls: DriverCall[] = [];
  const defaults: Record<DriverMethod, (...args: unknown[]) => unknown> = {
    findOne: () => null,
    findOneAndUpdate: () => null,
    updateOne: () => UPDATE_RESULT,
    updateMany: () => UPDATE_RESULT,
    deleteOne: () => ({ acknowledged: true, deletedCount: 1 }),
    insertOne: () => ({ acknowledged: true, insertedId: new mongoose.Types.ObjectId() }),
  };
  const collection = model.collection as unknown as Record<DriverMethod, (...args: unknown[]) => Promise<unknown>>;
  for (const method of Object.keys(defaults) as DriverMethod[]) {
    collection[method] = async (...args: unknown[]) => {
      calls.push({ method, args: args.map(toPlain) });
      return (replies[method] ?? defaults[method])(...args);
    };
  }
  return calls;
}

describe('mongo store without a server', () => {
  let connection: Connection;
  let appModel: Model<AppEntity>;
  let userModel: Model<UserEntity>;
  let apps: MongoAppRepository;
  let users: MongoUserRepository;

  beforeEach(() => {
    connection = offlineConnection();
    appModel = connection.model<AppEntity>(APP_MODEL, AppSchema);
    userModel = connection.model<UserEntity>(USER_MODEL, UserSchema);
    apps = new MongoAppRepository(appModel);
    users = new MongoUserRepository(userModel);
  });

  afterEach(async () => {
    await connection.close();
  });

  it('declares unique indexes on packageName and userId', () => {
    expect(AppSchema.indexes()).toContainEqual([{ packageName: 1 }, expect.objectContaining({ unique: true })]);
    expect(UserSchema.indexes()).toContainEqual([{ userId: 1 }, expect.objectContaining({ unique: true })]);
  });

  it('stores documents without version keys or subdocument ids', () => {
    const app = new appModel(newApp('com.example.alpha')).toObject();
    expect(app).not.toHaveProperty('__v');
    expect(app.permissions[0]).not.toHaveProperty('_id');
    expect(app.settings[2]).toEqual(newApp('x').settings[2]);
    const user = new userModel({
      ...storedUser('alice@example.com'),
      installedApps: [{ packageName: 'com.example.alpha', installedDate: new Date() }],
      appSettings: [{ packageName: 'com.example.alpha', settings: [{ key: 'k', value: { nested: {} } }] }],
    }).toObject();
    expect(user.installedApps[0]).not.toHaveProperty('_id');
    expect(user.appSettings[0]).not.toHaveProperty('_id');
    expect(user.appSettings[0].settings[0]).toEqual({ key: 'k', value: { nested: {} } });
  });

  it('opens connections with sanitizeFilter, which neutralises operator objects in filters', async () => {
    expect(mongoConnectionOptions('mongodb://db.example:27017/mentra')).toMatchObject({
      uri: 'mongodb://db.example:27017/mentra',
      sanitizeFilter: true,
    });
    const calls = recordDriver(userModel);
    // Bypasses the repository's own guard: the filter is wrapped in $eq, and a string path cannot hold it.
    await expect(userModel.findOne({ userId: { $gt: '' } }).exec()).rejects.toThrow(/Cast to string failed/);
    expect(calls).toEqual([]);
  });

  it('rejects operator-shaped keys with a TypeError before any query is sent', async () => {
    const calls = recordDriver(userModel);
    const appCalls = recordDriver(appModel);
    const hostile = { $gt: '' } as unknown as string;
    await expect(users.findById(hostile)).rejects.toBeInstanceOf(TypeError);
    await expect(users.findOrCreate(hostile)).rejects.toBeInstanceOf(TypeError);
    await expect(users.addRunningApp('alice@example.com', hostile)).rejects.toBeInstanceOf(TypeError);
    await expect(users.removeAppEverywhere(hostile)).rejects.toBeInstanceOf(TypeError);
    await expect(users.delete('')).rejects.toBeInstanceOf(TypeError);
    await expect(apps.findByPackageName(hostile)).rejects.toBeInstanceOf(TypeError);
    await expect(apps.update(hostile, { name: 'x' })).rejects.toBeInstanceOf(TypeError);
    await expect(apps.create(newApp(hostile))).rejects.toBeInstanceOf(TypeError);
    expect([...calls, ...appCalls]).toEqual([]);
  });

  it('findOrCreate is one upsert that only sets fields on insert, retried after a lost E11000 race', async () => {
    let attempts = 0;
    const calls = recordDriver(userModel, {
      findOneAndUpdate: () => {
        if (++attempts === 1) throw Object.assign(new Error('E11000 duplicate key error'), { code: 11000 });
        return storedUser('alice@example.com');
      },
    });
    const user = await users.findOrCreate('alice@example.com');

    expect(user).toEqual(storedUser('alice@example.com'));
    expect(calls.map((c) => c.method)).toEqual(['findOneAndUpdate', 'findOneAndUpdate']);
    const [filter, update, options] = calls[0].args as [object, Record<string, Record<string, unknown>>, object];
    expect(filter).toEqual({ userId: 'alice@example.com' });
    expect(Object.keys(update)).toEqual(['$setOnInsert']);
    expect(update.$setOnInsert).toEqual({
      installedApps: [],
      runningApps: [],
      appSettings: [],
      userSettings: {},
      createdAt: expect.any(Date),
      updatedAt: expect.any(Date),
    });
    expect(options).toMatchObject({ upsert: true, returnDocument: 'after' });
  });

  it('raiseTokenVersion is one upsert with $max, its operators on disjoint paths; the version reads back', async () => {
    const calls = recordDriver(userModel, {
      findOneAndUpdate: () => ({ ...storedUser('alice@example.com'), tokenVersion: 42 }),
    });
    expect(await users.raiseTokenVersion('alice@example.com', 42)).toBe(42);
    expect(calls.map((c) => c.method)).toEqual(['findOneAndUpdate']);
    const [filter, update, options] = calls[0].args as [object, Record<string, Record<string, unknown>>, object];
    expect(filter).toEqual({ userId: 'alice@example.com' });
    expect(update.$max).toEqual({ tokenVersion: 42 });
    expect(Object.keys(update.$set)).toEqual(['updatedAt']);
    expect(Object.keys(update.$setOnInsert).sort()).toEqual([
      'appSettings',
      'createdAt',
      'installedApps',
      'runningApps',
    ]);
    expect(options).toMatchObject({ upsert: true, returnDocument: 'after' });
    await expect(users.raiseTokenVersion('alice@example.com', -1)).rejects.toBeInstanceOf(TypeError);
  });

  it('replaceWebviewKey is a compare-and-set whose $exists survives sanitizeFilter', async () => {
    const pair = { publicKeyPem: 'pem', sealedPrivateKey: 'v1.a.b.c', createdAt: new Date('2025-01-01T00:00:00Z') };
    const calls = recordDriver(appModel, { findOne: () => ({ ...newApp('com.example.alpha'), webviewKey: pair }) });
    expect(await apps.replaceWebviewKey('com.example.alpha', null, pair)).toEqual(pair);
    await apps.replaceWebviewKey('com.example.alpha', pair, { ...pair, sealedPrivateKey: 'v1.d.e.f' });
    const updates = calls.filter((c) => c.method === 'updateOne').map((c) => c.args[0]);
    expect(updates).toEqual([
      { packageName: 'com.example.alpha', webviewKey: { $exists: false } },
      { packageName: 'com.example.alpha', 'webviewKey.sealedPrivateKey': 'v1.a.b.c' },
    ]);
  });

  it('addRunningApp is a single upsert whose operators touch disjoint paths', async () => {
    const calls = recordDriver(userModel);
    await users.addRunningApp('alice@example.com', 'com.example.alpha');

    expect(calls).toHaveLength(1);
    const [filter, update, options] = calls[0].args as [object, Record<string, Record<string, unknown>>, object];
    expect(calls[0].method).toBe('updateOne');
    expect(filter).toEqual({ userId: 'alice@example.com' });
    expect(update.$addToSet).toEqual({ runningApps: 'com.example.alpha' });
    expect(Object.keys(update.$set)).toEqual(['updatedAt']);
    expect(Object.keys(update.$setOnInsert).sort()).toEqual([
      'appSettings',
      'createdAt',
      'installedApps',
      'userSettings',
    ]);
    expect(options).toMatchObject({ upsert: true });
  });

  it('updateUserSettings is one update of dotted userSettings paths: $set for values, $unset for nulls', async () => {
    const stored = { ...storedUser('alice@example.com'), userSettings: { metric_system: true } };
    const calls = recordDriver(userModel, { findOne: () => stored });
    const user = await users.updateUserSettings('alice@example.com', { metric_system: true, brightness: null });

    expect(user.userSettings).toEqual({ metric_system: true });
    expect(calls.map((c) => c.method)).toEqual(['updateOne', 'updateOne', 'findOne']);
    const [filter, update] = calls[1].args as [object, Record<string, Record<string, unknown>>];
    expect(filter).toEqual({ userId: 'alice@example.com' });
    expect(update.$set).toEqual({ 'userSettings.metric_system': true, updatedAt: expect.any(Date) });
    expect(update.$unset).toEqual({ 'userSettings.brightness': true });
  });

  it('updateUserSettings refuses keys that would be operators or paths before any call', async () => {
    const calls = recordDriver(userModel);
    for (const key of ['$where', 'a.b', '__proto__', ''])
      await expect(users.updateUserSettings('alice@example.com', { [key]: 1 })).rejects.toThrow(TypeError);
    expect(calls).toEqual([]);
  });

  it('installApp pushes only where the package is absent, and the $ne survives sanitizeFilter', async () => {
    const installed = {
      ...storedUser('alice@example.com'),
      installedApps: [{ packageName: 'com.example.alpha', installedDate: new Date() }],
    };
    const calls = recordDriver(userModel, { findOne: () => installed });
    const user = await users.installApp('alice@example.com', 'com.example.alpha');

    expect(user.installedApps.map((a) => a.packageName)).toEqual(['com.example.alpha']);
    expect(calls.map((c) => c.method)).toEqual(['updateOne', 'updateOne', 'findOne']);
    const [filter, update] = calls[1].args as [object, Record<string, Record<string, unknown>>];
    expect(filter).toEqual({ userId: 'alice@example.com', 'installedApps.packageName': { $ne: 'com.example.alpha' } });
    expect(update.$push).toEqual({
      installedApps: { packageName: 'com.example.alpha', installedDate: expect.any(Date) },
    });
  });

  it('setAppSettings replaces in place, or pushes only while no entry exists', async () => {
    const calls = recordDriver(userModel, {
      updateOne: (filter) =>
        'appSettings.packageName' in (filter as object) &&
        typeof (filter as Record<string, unknown>)['appSettings.packageName'] === 'string'
          ? { ...UPDATE_RESULT, matchedCount: 0, modifiedCount: 0 }
          : UPDATE_RESULT,
      findOne: () => storedUser('alice@example.com'),
    });
    await users.setAppSettings('alice@example.com', 'com.example.alpha', [{ key: 'k', value: [1, { a: 'b' }] }]);

    expect(calls.map((c) => c.method)).toEqual(['updateOne', 'updateOne', 'updateOne', 'findOne']);
    const [replaceFilter, replace] = calls[1].args as [object, Record<string, Record<string, unknown>>];
    expect(replaceFilter).toEqual({ userId: 'alice@example.com', 'appSettings.packageName': 'com.example.alpha' });
    expect(replace.$set['appSettings.$.settings']).toEqual([{ key: 'k', value: [1, { a: 'b' }] }]);
    const [pushFilter, push] = calls[2].args as [object, Record<string, Record<string, unknown>>];
    expect(pushFilter).toEqual({
      userId: 'alice@example.com',
      'appSettings.packageName': { $ne: 'com.example.alpha' },
    });
    expect(push.$push).toEqual({
      appSettings: { packageName: 'com.example.alpha', settings: [{ key: 'k', value: [1, { a: 'b' }] }] },
    });
  });

  it('uninstallApp and removeAppEverywhere pull the package from all three lists', async () => {
    const calls = recordDriver(userModel);
    expect(await users.uninstallApp('alice@example.com', 'com.example.alpha')).toBeNull();
    await users.removeAppEverywhere('com.example.alpha');

    const expectedPull = {
      installedApps: { packageName: 'com.example.alpha' },
      runningApps: 'com.example.alpha',
      appSettings: { packageName: 'com.example.alpha' },
    };
    expect(calls.map((c) => c.method)).toEqual(['findOneAndUpdate', 'updateMany']);
    expect((calls[0].args[1] as Record<string, unknown>).$pull).toEqual(expectedPull);
    expect((calls[1].args[1] as Record<string, unknown>).$pull).toEqual(expectedPull);
    expect(calls[1].args[0]).toEqual({
      $or: [
        { 'installedApps.packageName': 'com.example.alpha' },
        { runningApps: 'com.example.alpha' },
        { 'appSettings.packageName': 'com.example.alpha' },
      ],
    });
  });

  it('maps E11000 on create to DuplicateKeyError', async () => {
    recordDriver(appModel, {
      insertOne: () => {
        throw Object.assign(new Error('E11000 duplicate key error'), { code: 11000 });
      },
    });
    await expect(apps.create(newApp('com.example.alpha'))).rejects.toEqual(new DuplicateKeyError('com.example.alpha'));
  });

  it('app updates $set only patchable fields plus updatedAt', async () => {
    const calls = recordDriver(appModel);
    const smuggled = { name: 'Renamed', packageName: 'com.example.other', createdAt: new Date(0) };
    expect(await apps.update('com.example.alpha', smuggled)).toBeNull();
    const [filter, update] = calls[0].args as [object, Record<string, Record<string, unknown>>];
    expect(filter).toEqual({ packageName: 'com.example.alpha' });
    expect(Object.keys(update.$set).sort()).toEqual(['name', 'updatedAt']);
  });
});

describe('PersistenceModule with a MONGO_URL', () => {
  let moduleRef: TestingModule | undefined;

  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
  });

  it('provides the Mongo repositories and health on the mongoose connection', async () => {
    const connection = offlineConnection();
    moduleRef = await Test.createTestingModule({
      imports: [PersistenceModule.forRoot({ mongoUrl: 'mongodb://127.0.0.1:9/never', dataDir: tmpdir() })],
    })
      .overrideProvider(getConnectionToken())
      .useValue(connection)
      .compile();
    await moduleRef.init();

    expect(moduleRef.get(APP_REPOSITORY)).toBeInstanceOf(MongoAppRepository);
    expect(moduleRef.get(USER_REPOSITORY)).toBeInstanceOf(MongoUserRepository);
    const health = moduleRef.get(StoreHealth);
    expect(health).toBeInstanceOf(MongoStoreHealth);
    expect(health.kind).toBe('mongo');
    expect(await health.ping()).toBe(false);
    const userModel = moduleRef.get<Model<UserEntity>>(getModelToken(USER_MODEL));
    expect(userModel.db).toBe(connection);
    expect(userModel.collection.collectionName).toBe('users');
    expect(moduleRef.get<Model<AppEntity>>(getModelToken(APP_MODEL)).collection.collectionName).toBe('apps');
  });
});
