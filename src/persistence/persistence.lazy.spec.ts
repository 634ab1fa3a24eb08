import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PersistenceModule } from './persistence.module.js';

/** In a file of its own: the test process must not have loaded mongoose or ioredis through another import first. */
describe('PersistenceModule loads MongoDB and Redis support only for the store that uses it', () => {
  it('the embedded store leaves mongoose and ioredis unloaded; MONGO_URL loads mongoose only; STORE=redis loads ioredis', async () => {
    const cache = createRequire(import.meta.url).cache;
    const loaded = (pkg: string) =>
      Object.keys(cache).some((path) => new RegExp(`[\\\\/]node_modules[\\\\/]${pkg}[\\\\/]`).test(path));
    const dataDir = await mkdtemp(join(tmpdir(), 'mentra-lazy-store-'));
    try {
      const embedded = await PersistenceModule.forRoot({ dataDir });
      expect(embedded.imports).toHaveLength(1);
      expect(loaded('mongoose')).toBe(false);
      expect(loaded('ioredis')).toBe(false);
      await PersistenceModule.forRoot({ dataDir, mongoUrl: 'mongodb://127.0.0.1:1/lazy' });
      expect(loaded('mongoose')).toBe(true);
      expect(loaded('ioredis')).toBe(false);
      // Registering the module connects nothing yet (that happens when the app starts).
      await PersistenceModule.forRoot({ dataDir, store: 'redis', redisUrl: 'redis://127.0.0.1:1' });
      expect(loaded('ioredis')).toBe(true);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('a store named without its URL is refused', async () => {
    await expect(PersistenceModule.forRoot({ dataDir: tmpdir(), store: 'redis' })).rejects.toThrow(/needs REDIS_URL/);
    await expect(PersistenceModule.forRoot({ dataDir: tmpdir(), store: 'mongo' })).rejects.toThrow(/needs MONGO_URL/);
  });
});
