import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http } from '../faults/support.js';
import { startCloud, type TestCloud } from '../support/cloud.js';

/**
 * The failed-admin-authentication limiter: failures only, per client address, one budget for the whole process
 * (every route the admin key opens), and never in the way of the right key. Each case uses its own loopback
 * source address (127.0.0.x), a different client for the limiter.
 */
describe('failed admin authentications', () => {
  let cloud: TestCloud;
  let proxied: TestCloud;
  let ipSeq = 20;
  const freshIp = () => `127.0.0.${ipSeq++}`;
  const call = (target: TestCloud, path: string, key: string, ip: string, headers: Record<string, string> = {}) =>
    http(target.url + path, { localAddress: ip, headers: { authorization: `Bearer ${key}`, ...headers } });
  const wrong = (i: number) => `wrong-admin-key-${i}-0123456789`;

  beforeAll(async () => {
    cloud = await startCloud({ ADMIN_AUTH_FAILURES_PER_MINUTE: '10' });
    proxied = await startCloud({ ADMIN_AUTH_FAILURES_PER_MINUTE: '10', TRUST_PROXY: '1' });
  });
  afterAll(async () => {
    await cloud?.close();
    await proxied?.close();
  });

  it('after the limit, wrong keys get 429 with Retry-After, and the right key still gets through', async () => {
    const ip = freshIp();
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await call(cloud, '/api/admin/apps', wrong(i), ip)).status);
    expect(statuses).toEqual([...Array(10).fill(401), 429, 429]);
    const right = await call(cloud, '/api/admin/apps', cloud.config.adminApiKey, ip);
    expect(right.status).toBe(200);
    const stillBlocked = await call(cloud, '/api/admin/apps', wrong(99), ip);
    expect(stillBlocked.status).toBe(429);
    expect(Number(stillBlocked.headers['retry-after'])).toBeGreaterThan(0);
    // /metrics takes the admin key through the same guard: the right key passes there too.
    expect((await call(cloud, '/metrics', cloud.config.adminApiKey, ip)).status).toBe(200);
  });

  it('one budget for every route the admin key opens (admin API, /metrics, admin settings, simulator links)', async () => {
    const ip = freshIp();
    const routes = [
      ['GET', '/api/admin/apps'],
      ['GET', '/metrics'],
      ['PUT', '/api/admin/users/u@x.test/apps/com.x.y/settings'],
      ['POST', '/api/simulator/links'],
    ] as const;
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const [method, path] = routes[i % routes.length]!;
      const res = await http(cloud.url + path, {
        method,
        localAddress: ip,
        headers: { authorization: `Bearer ${wrong(i)}`, 'content-type': 'application/json' },
        body: method === 'GET' ? undefined : '{}',
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([...Array(10).fill(401), 429, 429]);
  });

  it('behind a trusted proxy (TRUST_PROXY=1) each client is counted by its X-Forwarded-For address', async () => {
    const ip = freshIp(); // the proxy
    const as = (client: string) => ({ 'x-forwarded-for': client });
    for (let i = 0; i < 10; i++)
      expect((await call(proxied, '/api/admin/apps', wrong(i), ip, as('198.51.100.1'))).status).toBe(401);
    expect((await call(proxied, '/api/admin/apps', wrong(10), ip, as('198.51.100.1'))).status).toBe(429);
    // Another client behind the same proxy is not locked out, with a wrong key nor the right one.
    expect((await call(proxied, '/api/admin/apps', wrong(11), ip, as('198.51.100.2'))).status).toBe(401);
    const admin = await call(proxied, '/api/admin/apps', proxied.config.adminApiKey, ip, as('198.51.100.2'));
    expect(admin.status).toBe(200);
  });

  it('without TRUST_PROXY the header is ignored: a client cannot escape the limit by naming another address', async () => {
    const ip = freshIp();
    for (let i = 0; i < 10; i++)
      expect(
        (await call(cloud, '/api/admin/apps', wrong(i), ip, { 'x-forwarded-for': `198.51.100.${i}` })).status,
      ).toBe(401);
    expect((await call(cloud, '/api/admin/apps', wrong(10), ip, { 'x-forwarded-for': '198.51.100.200' })).status).toBe(
      429,
    );
  });
});
