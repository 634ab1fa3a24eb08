import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type TestCloud } from './support/cloud.js';
import { startRedisServer, type RedisServer } from './support/redis-server.js';

/**
 * Two whole clouds on one redis-server with STORE=redis: what one stores the other reads, and a Redis outage
 * is a clear 503 STORE_UNAVAILABLE, and /ready says "degraded" (still 200: the process keeps serving the users it
 * holds) with the store down, until Redis is back.
 */
describe('two clouds sharing the Redis store', () => {
  let redis: RedisServer;
  const clouds: TestCloud[] = [];
  const shared = {
    AUGMENTOS_AUTH_JWT_SECRET: randomBytes(24).toString('hex'),
    ADMIN_API_KEY: randomBytes(24).toString('hex'),
  };

  beforeAll(async () => {
    redis = await startRedisServer();
    for (let i = 0; i < 2; i++) clouds.push(await startCloud({ ...shared, STORE: 'redis', REDIS_URL: redis.url }));
  });

  afterAll(async () => {
    for (const cloud of clouds) await cloud.close();
    await redis?.stop();
  });

  it('boots on the Redis store in cluster mode, and /ready reports kind redis', async () => {
    for (const cloud of clouds) {
      expect([cloud.config.store, cloud.config.cluster]).toEqual(['redis', true]);
      const ready = await fetch(`${cloud.url}/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ok', info: { store: { status: 'up', kind: 'redis' } } });
    }
  });

  it('an app registered and installed through one cloud is there, installed, through the other', async () => {
    const [a, b] = clouds;
    await a.registerApp({ packageName: 'com.example.shared', publicUrl: 'http://127.0.0.1:9' }, ['alice@example.com']);
    const app = await b.admin('GET', '/api/admin/apps/com.example.shared');
    expect(app.status).toBe(200);
    expect(app.body).toMatchObject({ packageName: 'com.example.shared' });
    const user = await b.admin('GET', '/api/admin/users/alice@example.com');
    expect(user.status).toBe(200);
    expect(JSON.stringify(user.body)).toContain('com.example.shared');

    // Deleting it through the second removes it for the user everywhere.
    expect((await b.admin('DELETE', '/api/admin/apps/com.example.shared')).status).toBeLessThan(300);
    expect((await a.admin('GET', '/api/admin/apps/com.example.shared')).status).toBe(404);
    expect(JSON.stringify((await a.admin('GET', '/api/admin/users/alice@example.com')).body)).not.toContain(
      'com.example.shared',
    );
  });

  it('while Redis is down: 503 STORE_UNAVAILABLE for calls that need the store, /ready degraded with the store down; both recover', async () => {
    const [a] = clouds;
    await redis.down('SIGTERM');
    try {
      const res = await a.admin('GET', '/api/admin/apps');
      expect(res).toMatchObject({ status: 503, body: { code: 'STORE_UNAVAILABLE' } });
      expect(JSON.stringify(res.body)).not.toContain(String(redis.port)); // the address stays in the logs
      const ready = await fetch(`${a.url}/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'degraded', error: { store: { status: 'down' } } });
    } finally {
      await redis.up();
    }
    await expect
      .poll(async () => ((await (await fetch(`${a.url}/ready`)).json()) as { status: string }).status, {
        timeout: 10_000,
        interval: 100,
      })
      .toBe('ok');
    expect((await a.admin('GET', '/api/admin/apps')).status).toBe(200);
  });
});
