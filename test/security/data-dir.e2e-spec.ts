import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, spawnService, until } from '../faults/support.js';

/**
 * DATA_DIR holds the generated secrets: the built service (dist/) creates it private to its user, and prints the
 * admin key only at the boot that generated it, not at every later boot that reads it back.
 */
describe('DATA_DIR and the generated admin key', () => {
  const dirs: string[] = [];
  beforeAll(() => ensureBuilt(), 180_000);
  afterAll(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const noSecrets = { ADMIN_API_KEY: '', AUGMENTOS_AUTH_JWT_SECRET: '', LOG_LEVEL: 'log' };

  it('DATA_DIR (and any parent the service creates for it) is created with mode 0700', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mentra-datadir-'));
    dirs.push(root);
    const dataDir = join(root, 'created', 'data');
    const svc = await spawnService({ dataDir, keepDataDir: true, env: noSecrets });
    await svc.close();
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(root, 'created')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, 'secrets.json')).mode & 0o777).toBe(0o600);
  }, 60_000);

  it('the admin key is printed at the boot that generated it, and not at a later boot that reads it back', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mentra-datadir-'));
    dirs.push(dataDir);
    const first = await spawnService({ dataDir, keepDataDir: true, env: noSecrets });
    await until(() => first.output().includes('admin API key'), 10_000, 'the first boot mentions the admin key');
    await first.close();
    const key = JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8')).adminApiKey as string;
    expect(first.output()).toContain(key);

    const second = await spawnService({ dataDir, keepDataDir: true, env: noSecrets });
    try {
      // The later boot still says where the key is, without the key.
      await until(() => second.output().includes('admin API key'), 10_000, 'the second boot mentions the admin key');
      expect(second.output()).toContain(join(dataDir, 'secrets.json'));
      expect(second.output()).not.toContain(key);
      const auth = await fetch(`${second.url}/api/admin/apps`, { headers: { authorization: `Bearer ${key}` } });
      expect(auth.status, 'and the key read back is the one in force').toBe(200);
    } finally {
      await second.close();
    }
  }, 60_000);
});
