import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectGlasses, startCloud, type TestCloud } from '../support/cloud.js';
import { startRawApp, type RawApp } from '../support/raw-app.js';
import { eventually } from '../support/sdk-app.js';

const PKG = 'com.storage.scoped';
const DASHBOARD = 'com.storage.dashboard';
const [U1, U2, U3] = ['one@storage.test', 'two@storage.test', 'three@storage.test'];

/**
 * Simple storage with a valid app key: writes only for users the app is installed for (or running for), and a
 * package keeps storage for at most SIMPLE_STORAGE_MAX_USERS_PER_PACKAGE users (each store up to 1 MB).
 */
describe('simple storage is scoped to the users an app serves, with a per-package quota', () => {
  let cloud: TestCloud;
  let key = '';
  let dashboard: RawApp;
  const cleanups: Array<() => unknown> = [];
  const put = (pkg: string, apiKey: string, user: string, data: Record<string, string>) =>
    fetch(`${cloud.url}/api/sdk/simple-storage/${encodeURIComponent(user)}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${pkg}:${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ data }),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
  const get = (pkg: string, apiKey: string, user: string) =>
    fetch(`${cloud.url}/api/sdk/simple-storage/${encodeURIComponent(user)}`, {
      headers: { authorization: `Bearer ${pkg}:${apiKey}` },
    }).then(async (r) => (await r.json()) as any);

  beforeAll(async () => {
    cloud = await startCloud({ SIMPLE_STORAGE_MAX_USERS_PER_PACKAGE: '2', SYSTEM_DASHBOARD_PACKAGE_NAME: DASHBOARD });
    key = await cloud.registerApp({ packageName: PKG, publicUrl: 'http://127.0.0.1:9' }, [U1, U2, U3]);
    dashboard = await startRawApp(DASHBOARD);
    dashboard.apiKey = await cloud.registerApp({ packageName: DASHBOARD, publicUrl: dashboard.url });
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    await dashboard?.close();
    await cloud?.close();
  });

  it('a valid key cannot write for a made-up user, or a real one who did not install the app (403, nothing stored)', async () => {
    for (const user of ['made-up@storage.test', 'stranger@storage.test']) {
      if (user === 'stranger@storage.test') await cloud.admin('PUT', `/api/admin/users/${user}/apps/${DASHBOARD}`);
      const res = await put(PKG, key, user, { planted: 'x'.repeat(1000) });
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ statusCode: 403, code: 'PERMISSION_DENIED' });
      expect((await get(PKG, key, user)).data).toEqual({});
    }
  });

  it('writes for a user the app is installed for', async () => {
    expect((await put(PKG, key, U1, { theme: 'dark' })).status).toBe(200);
    expect((await get(PKG, key, U1)).data).toEqual({ theme: 'dark' });
  });

  it('writes for a user the app is running for without being installed (the system dashboard)', async () => {
    const user = 'dash@storage.test';
    expect((await put(DASHBOARD, dashboard.apiKey, user, { a: '1' })).status).toBe(403);
    await connectGlasses(cloud, user, cleanups);
    await eventually(
      async () => (await cloud.admin('GET', `/api/admin/sessions/${user}`)).body?.runningApps?.includes(DASHBOARD),
      5000,
      'the dashboard running',
    );
    expect((await put(DASHBOARD, dashboard.apiKey, user, { a: '1' })).status).toBe(200);
  });

  it("a new user past the package's SIMPLE_STORAGE_MAX_USERS_PER_PACKAGE gets 413; its existing users still write", async () => {
    expect((await put(PKG, key, U2, { k: 'v' })).status).toBe(200); // U1 (previous test) and U2: two users
    const third = await put(PKG, key, U3, { k: 'v' });
    expect(third.status).toBe(413);
    expect(third.body).toMatchObject({ code: 'STORAGE_LIMIT_EXCEEDED' });
    expect(third.body.message).toMatch(/2 users/);
    expect((await get(PKG, key, U3)).data).toEqual({});
    expect((await put(PKG, key, U1, { more: 'data' })).status).toBe(200);
    // A user whose store is cleared frees a place.
    const cleared = await fetch(`${cloud.url}/api/sdk/simple-storage/${encodeURIComponent(U2)}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${PKG}:${key}` },
    });
    expect(cleared.status).toBe(200);
    expect((await put(PKG, key, U3, { k: 'v' })).status).toBe(200);
  });
});
