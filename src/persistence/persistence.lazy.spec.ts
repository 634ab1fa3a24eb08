import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PersistenceModule } from './persistence.module.js';

/** In a file of its own: the test process must not have loaded mongoose through another import first. */
describe('PersistenceModule loads MongoDB support only for MONGO_URL', () => {
  it('the embedded store leaves mongoose unloaded; a MONGO_URL loads it', async () => {
    const cache = createRequire(import.meta.url).cache;
    const mongooseLoaded = () => Object.keys(cache).some((path) => /[\\/]node_modules[\\/]mongoose[\\/]/.test(path));
    const dataDir = await mkdtemp(join(tmpdir(), 'mentra-lazy-store-'));
    try {
      const embedded = await PersistenceModule.forRoot({ dataDir });
      expect(embedded.imports).toHaveLength(1);
      expect(mongooseLoaded()).toBe(false);
      await PersistenceModule.forRoot({ dataDir, mongoUrl: 'mongodb://127.0.0.1:1/lazy' });
      expect(mongooseLoaded()).toBe(true);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
