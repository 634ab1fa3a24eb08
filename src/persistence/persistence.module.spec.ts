import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Inject, Injectable, Module } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedAppRepository } from './embedded/embedded-app.repository.js';
import { EmbeddedStoreHealth } from './embedded/embedded-store.health.js';
import { EmbeddedUserRepository } from './embedded/embedded-user.repository.js';
import { PersistenceModule } from './persistence.module.js';
import { APP_REPOSITORY, USER_REPOSITORY, type AppRepository, type UserRepository } from './persistence.types.js';
import { newApp } from './repository.contract.js';
import { StoreHealth } from './store-health.js';

/** Lives in a module that does not import PersistenceModule: it only works if the providers are global. */
@Injectable()
class Consumer {
  constructor(
    @Inject(APP_REPOSITORY) readonly apps: AppRepository,
    @Inject(USER_REPOSITORY) readonly users: UserRepository,
    readonly health: StoreHealth,
  ) {}
}

@Module({ providers: [Consumer] })
class ConsumerModule {}

async function boot(config: { dataDir: string; mongoUrl?: string }): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule({
    imports: [PersistenceModule.forRoot(config), ConsumerModule],
  }).compile();
  await moduleRef.init();
  return moduleRef;
}

describe('PersistenceModule without a MONGO_URL', () => {
  let dataDir: string;
  let moduleRef: TestingModule | undefined;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mentra-persistence-module-'));
  });

  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
    await rm(dataDir, { recursive: true, force: true });
  });

  it('provides the embedded repositories and health globally', async () => {
    moduleRef = await boot({ dataDir, mongoUrl: undefined });
    const consumer = moduleRef.get(Consumer);
    expect(consumer.apps).toBeInstanceOf(EmbeddedAppRepository);
    expect(consumer.users).toBeInstanceOf(EmbeddedUserRepository);
    expect(consumer.health).toBeInstanceOf(EmbeddedStoreHealth);
    expect(consumer.health.kind).toBe('embedded');
    expect(await consumer.health.ping()).toBe(true);
    expect(moduleRef.get(StoreHealth)).toBe(consumer.health);
  });

  it('treats an empty mongoUrl as unset', async () => {
    moduleRef = await boot({ dataDir, mongoUrl: '' });
    expect(moduleRef.get(StoreHealth).kind).toBe('embedded');
  });

  it('compacts the files on shutdown, and the next boot sees the data', async () => {
    moduleRef = await boot({ dataDir });
    const first = moduleRef.get(Consumer);
    await first.apps.create(newApp('com.example.alpha'));
    for (let i = 0; i < 20; i++) await first.users.addRunningApp('alice@example.com', `com.example.app${i}`);
    const before = await first.users.findById('alice@example.com');
    const linesBefore = (await readFile(join(dataDir, 'users.db'), 'utf8')).trim().split('\n').length;

    await moduleRef.close();
    moduleRef = undefined;
    const linesAfter = (await readFile(join(dataDir, 'users.db'), 'utf8')).trim().split('\n');
    expect(linesBefore).toBeGreaterThan(20);
    expect(linesAfter).toHaveLength(2); // alice + the unique-index line

    moduleRef = await boot({ dataDir });
    const second = moduleRef.get(Consumer);
    expect(await second.users.findById('alice@example.com')).toEqual(before);
    expect((await second.apps.list()).map((a) => a.packageName)).toEqual(['com.example.alpha']);
  });
});
