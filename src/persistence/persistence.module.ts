import { Global, Module, type DynamicModule } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import type { AppConfig } from '../config/config.types.js';
import { MetricsService } from '../observability/metrics.service.js';
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
    const store = withStoreTiming(withStoreDelay(backend, config.storeDelayMs ?? 0));
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

/**
 * Every call of the three repositories is timed into `mentra_session_phase_seconds` (`store_read` for find*,
 * list* and get*, `store_write` for the rest), so a mass reconnect can be broken down into its store work. The
 * token's provider becomes a factory wrapping what it gave before; MetricsService is optional (modules built
 * without observability, e.g. in unit tests, get the repository untouched).
 */
function withStoreTiming(store: DynamicModule): DynamicModule {
  const optionalMetrics = { token: MetricsService, optional: true };
  const providers = (store.providers ?? []).map((p) => {
    if (typeof p !== 'object' || !('provide' in p) || !DELAYED_TOKENS.has(p.provide)) return p;
    if ('useExisting' in p)
      return {
        provide: p.provide,
        useFactory: (repo: object, metrics?: MetricsService) => timed(repo, metrics),
        inject: [p.useExisting, optionalMetrics],
      };
    if ('useFactory' in p) {
      const inner = p.useFactory as (...args: unknown[]) => object;
      const n = (p.inject ?? []).length;
      return {
        provide: p.provide,
        useFactory: (...args: unknown[]) => timed(inner(...args.slice(0, n)), args[n] as MetricsService | undefined),
        inject: [...(p.inject ?? []), optionalMetrics],
      };
    }
    return p;
  });
  return { ...store, providers };
}

function timed<T extends object>(target: T, metrics: MetricsService | undefined): T {
  if (!metrics) return target;
  // Keyed by the function itself, so a method replaced later (a test's spy) is wrapped afresh.
  const wrappers = new WeakMap<object, unknown>();
  return new Proxy(target, {
    get(obj, key) {
      const value = Reflect.get(obj, key) as unknown;
      if (typeof value !== 'function' || typeof key !== 'string') return value;
      let w = wrappers.get(value);
      if (w === undefined) {
        const phase = /^(find|list|get)/.test(key) ? 'store_read' : 'store_write';
        const fn = value as (...a: unknown[]) => unknown;
        w = (...args: unknown[]) => {
          const t0 = performance.now();
          const out = fn.apply(obj, args);
          if (out instanceof Promise) {
            const done = () => metrics.recordPhase(phase, performance.now() - t0);
            out.then(done, done);
          }
          return out;
        };
        wrappers.set(value, w);
      }
      return w;
    },
  });
}
