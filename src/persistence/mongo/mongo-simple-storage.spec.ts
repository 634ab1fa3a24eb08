import { tmpdir } from 'node:os';
import { getConnectionToken } from '@nestjs/mongoose';
import { Test } from '@nestjs/testing';
import mongoose, { type Connection, type Model } from 'mongoose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PersistenceModule } from '../persistence.module.js';
import { describeSimpleStorageContract, type SimpleStorageHarness } from '../simple-storage.contract.js';
import { SIMPLE_STORAGE_REPOSITORY, type SimpleStorageRepository } from '../simple-storage.types.js';
import { mongoConnectionOptions } from './mongo-persistence.module.js';
import { MongoSimpleStorageRepository } from './mongo-simple-storage.repository.js';
import { SIMPLE_STORAGE_MODEL, SimpleStorageSchema, type SimpleStorageEntity } from './simple-storage.schema.js';

const MONGO_URL = process.env.MONGO_URL;

function withDatabase(url: string, dbName: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/[^/?]*)(?:\/[^?]*)?(\?.*)?$/.exec(url);
  if (!match) throw new Error(`MONGO_URL is not a mongodb:// connection string: ${url}`);
  return `${match[1]}/${dbName}${match[2] ?? ''}`;
}

let databases = 0;

/** A fresh database per test, dropped on close; wired through PersistenceModule like the app does. */
async function openMongoHarness(url: string): Promise<SimpleStorageHarness> {
  const dbName = `mentra_storage_test_${process.pid}_${Date.now()}_${++databases}`;
  const moduleRef = await Test.createTestingModule({
    imports: [PersistenceModule.forRoot({ mongoUrl: withDatabase(url, dbName), dataDir: tmpdir() })],
  }).compile();
  await moduleRef.init();
  return {
    storage: moduleRef.get<SimpleStorageRepository>(SIMPLE_STORAGE_REPOSITORY),
    close: async () => {
      await moduleRef.get<Connection>(getConnectionToken()).dropDatabase();
      await moduleRef.close();
    },
  };
}

if (MONGO_URL) {
  describeSimpleStorageContract('mongo store', () => openMongoHarness(MONGO_URL));
} else {
  console.warn('MongoDB simple storage contract skipped: MONGO_URL is not set (CI runs the embedded store)');
  describe.skip('mongo store (needs MONGO_URL)', () => {
    describeSimpleStorageContract('mongo store', () => openMongoHarness(''));
  });
}

// Without a server: what mongoose would send to the driver.
describe('mongo simple storage without a server', () => {
  let connection: Connection;
  let model: Model<SimpleStorageEntity>;
  let storage: MongoSimpleStorageRepository;
  let calls: Array<{ method: string; args: unknown[] }>;

  beforeEach(() => {
    connection = mongoose.createConnection();
    Object.assign(connection.config as Record<string, unknown>, {
      bufferCommands: false,
      autoIndex: false,
      autoCreate: false,
      sanitizeFilter: mongoConnectionOptions('mongodb://unused').sanitizeFilter,
    });
    model = connection.model<SimpleStorageEntity>(SIMPLE_STORAGE_MODEL, SimpleStorageSchema);
    storage = new MongoSimpleStorageRepository(model);
    calls = [];
    const existing = {
      userId: 'alice@example.com',
      packageName: 'com.example.notes',
      entries: [{ key: 'a.b', value: '1' }],
      version: 7,
      updatedAt: new Date(),
    };
    const collection = model.collection as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const record = (method: string, reply: unknown) => {
      collection[method] = async (...args: unknown[]) => {
        calls.push({ method, args: JSON.parse(JSON.stringify(args)) as unknown[] });
        return reply;
      };
    };
    record('findOne', existing);
    record('updateOne', { acknowledged: true, matchedCount: 1, modifiedCount: 1, upsertedCount: 0, upsertedId: null });
    record('deleteOne', { acknowledged: true, deletedCount: 1 });
  });

  afterEach(async () => {
    await connection.close();
  });

  it('declares a unique (userId, packageName) index', () => {
    expect(SimpleStorageSchema.indexes()).toContainEqual([
      { userId: 1, packageName: 1 },
      expect.objectContaining({ unique: true }),
    ]);
  });

  it('writes the whole entry list conditionally on the version read; user keys stay values', async () => {
    await storage.upsert(
      'alice@example.com',
      'com.example.notes',
      [
        { key: '$where', value: 'x' },
        { key: '__proto__', value: 'y' },
      ],
      { maxTotalBytes: 1000, maxKeys: 10 },
    );
    expect(calls.map((c) => c.method)).toEqual(['findOne', 'updateOne']);
    const [filter, update] = calls[1].args as [Record<string, unknown>, { $set: Record<string, unknown> }];
    expect(filter).toEqual({ userId: 'alice@example.com', packageName: 'com.example.notes', version: 7 });
    expect(update.$set.entries).toEqual([
      { key: 'a.b', value: '1' },
      { key: '$where', value: 'x' },
      { key: '__proto__', value: 'y' },
    ]);
    expect(update.$set.version).toBe(8);
  });

  it('rejects operator-shaped ids before any query is sent', async () => {
    const hostile = { $ne: null } as unknown as string;
    await expect(storage.list(hostile, 'com.example.notes')).rejects.toBeInstanceOf(TypeError);
    await expect(storage.clear('alice@example.com', hostile)).rejects.toBeInstanceOf(TypeError);
    expect(calls).toEqual([]);
  });
});
