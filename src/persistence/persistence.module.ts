import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { AppConfig } from '../config/config.types.js';
import { EmbeddedPersistenceModule } from './embedded/embedded-persistence.module.js';
import { APP_REPOSITORY, USER_REPOSITORY } from './persistence.types.js';
import { SIMPLE_STORAGE_REPOSITORY } from './simple-storage.types.js';

/**
 * Provides APP_REPOSITORY, USER_REPOSITORY, SIMPLE_STORAGE_REPOSITORY and StoreHealth to the whole app, from
 * the store `config.store` names: `mongo` (MONGO_URL), `redis` (REDIS_URL) or `embedded` (the nedb files
 * under `dataDir`). Without `store`, MongoDB when `mongoUrl` is set, else embedded. Only the fields it reads
 * are required, so tests can pass a partial config.
 */
@Global()
@Module({})
export class PersistenceModule {
  static async forRoot(
    config: Pick<AppConfig, 'dataDir' | 'mongoUrl'> & Partial<Pick<AppConfig, 'storeDelayMs' | 'store' | 'redisUrl'>>,
  ): Promise<DynamicModule> {
    const backend = await storeModule(config);
    const store = withStoreDelay(backend, config.storeDelayMs ?? 0);
    return { module: PersistenceModule, global: true, imports: [store], exports: [store] };
  }
}

async function storeModule(
  config: Pick<AppConfig, 'dataDir' | 'mongoUrl'> & Partial<Pick<AppConfig, 'store' | 'redisUrl'>>,
): Promise<DynamicModule> {
  const kind = config.store ?? (config.mongoUrl ? 'mongo' : 'embedded');
  // MongoDB and Redis support are imported only when used: mongoose and its driver hold about 16 MB of heap,
  // which every major GC of a cloud on the embedded store would otherwise mark again (and which showed in its
  // event-loop pauses); ioredis is smaller, but no process that does not use it should carry it either.
  switch (kind) {
    case 'mongo':
      if (!config.mongoUrl) throw new Error('the mongo store needs MONGO_URL');
      return (await import('./mongo/mongo-persistence.module.js')).MongoPersistenceModule.register(config.mongoUrl);
    case 'redis':
      if (!config.redisUrl) throw new Error('the redis store needs REDIS_URL');
      return (await import('./redis/redis-persistence.module.js')).RedisPersistenceModule.register(config.redisUrl);
    case 'embedded':
      return EmbeddedPersistenceModule.register({ dataDir: config.dataDir });
  }
}

const DELAYED_TOKENS = new Set<unknown>([APP_REPOSITORY, USER_REPOSITORY, SIMPLE_STORAGE_REPOSITORY]);

/**
 * Test knob STORE_DELAY_MS (fault suite, "slow store"): every method of the three repositories waits `ms`
 * before it runs. The store modules alias each token to a class (`useExisting`); with a delay the alias
 * becomes a factory returning a delaying proxy of that class. Off (the module untouched) when `ms` is 0.
 */
function withStoreDelay(store: DynamicModule, ms: number): DynamicModule {
  if (ms <= 0) return store;
  const providers = (store.providers ?? []).map((p) => {
    if (typeof p !== 'object' || !('provide' in p) || !DELAYED_TOKENS.has(p.provide) || !('useExisting' in p)) return p;
    return { provide: p.provide, useFactory: (repo: object) => delayed(repo, ms), inject: [p.useExisting] };
  });
  return { ...store, providers };
}

function delayed<T extends object>(target: T, ms: number): T {
  return new Proxy(target, {
    get(obj, key, receiver) {
      const value = Reflect.get(obj, key, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await new Promise((r) => setTimeout(r, ms));
        return (value as (...a: unknown[]) => unknown).apply(obj, args);
      };
    },
  });
}
