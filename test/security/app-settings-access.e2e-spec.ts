import type { AppSession } from '@mentra/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectGlasses, startCloud, type TestCloud } from '../support/cloud.js';
import { startRawApp } from '../support/raw-app.js';
import { eventually, serveSdkApp } from '../support/sdk-app.js';

/**
 * `GET /appsettings/user/:packageName` no longer answers whoever writes `Bearer <email>-<packageName>`: that form
 * (all SDK 2.1.29 sends) counts only while the app is starting or running for that user; an app server may also use
 * its own credential (`Bearer <packageName>:<apiKey>` with `?userId=`); nothing answers for another package.
 */
describe("a user's app settings are readable only by that app, while it runs or with its key", () => {
  const USER = 'owner@settings-access.test';
  const SCHEMA = [{ type: 'text', key: 'apiToken', label: 'API token', defaultValue: '' }];
  const SECRET = 'user-secret-value-123';
  let cloud: TestCloud;
  const cleanups: Array<() => unknown> = [];

  const read = (packageName: string, authorization: string, query = '') =>
    fetch(`${cloud.url}/appsettings/user/${packageName}${query}`, { headers: { authorization } });
  const valueOf = async (res: Response) =>
    ((await res.json()) as { settings: Array<{ key: string; value: unknown }> }).settings.find(
      (s) => s.key === 'apiToken',
    )?.value;
  const setSecret = async (packageName: string) => {
    const put = await cloud.admin('PUT', `/api/admin/users/${encodeURIComponent(USER)}/apps/${packageName}/settings`, {
      settings: [{ key: 'apiToken', value: SECRET }],
    });
    expect(put.status).toBe(200);
  };

  beforeAll(async () => {
    cloud = await startCloud({ APP_INIT_TIMEOUT_MS: '1000' });
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await cloud?.close();
  });

  it("the SDK's bearer for an installed app that is not running is refused, today's one-line attack", async () => {
    const pkg = 'com.access.idle';
    await cloud.registerApp({ packageName: pkg, publicUrl: 'http://127.0.0.1:9', settings: SCHEMA }, [USER]);
    await setSecret(pkg);
    const res = await read(pkg, `Bearer ${USER}-${pkg}`);
    expect(res.status).toBe(401);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe('UNAUTHORIZED');
    expect(JSON.stringify(body)).not.toContain(SECRET);
    // Even with live glasses (a session), as long as the app is not starting or running.
    await connectGlasses(cloud, USER, cleanups);
    expect((await read(pkg, `Bearer ${USER}-${pkg}`)).status).toBe(401);
  });

  it('the app credential (Bearer <packageName>:<apiKey>, ?userId=) reads them; another package, a wrong key or no user do not', async () => {
    const pkg = 'com.access.keyed';
    const other = 'com.access.other';
    const key = await cloud.registerApp({ packageName: pkg, publicUrl: 'http://127.0.0.1:9', settings: SCHEMA }, [
      USER,
    ]);
    const otherKey = await cloud.registerApp(
      { packageName: other, publicUrl: 'http://127.0.0.1:9', settings: SCHEMA },
      [USER],
    );
    await setSecret(pkg);
    const q = `?userId=${encodeURIComponent(USER)}`;
    const ok = await read(pkg, `Bearer ${pkg}:${key}`, q);
    expect(ok.status).toBe(200);
    expect(await valueOf(ok)).toBe(SECRET);

    const missingUser = await read(pkg, `Bearer ${pkg}:${key}`);
    expect(missingUser.status).toBe(400);
    expect(((await missingUser.json()) as { code: string }).code).toBe('BAD_REQUEST');
    const wrongKey = await read(pkg, `Bearer ${pkg}:${'f'.repeat(64)}`, q);
    expect(wrongKey.status).toBe(401);
    expect(((await wrongKey.json()) as { code: string }).code).toBe('INVALID_API_KEY');
    // Another package's valid credential, on this package's path, and this package's on the other's path.
    for (const [path, auth] of [
      [pkg, `Bearer ${other}:${otherKey}`],
      [pkg, `Bearer ${pkg}:${otherKey}`],
      [other, `Bearer ${pkg}:${key}`],
    ] as const) {
      const res = await read(path, auth, q);
      expect(res.status, `${path} with ${auth.slice(0, 30)}`).toBe(401);
      expect(await res.text()).not.toContain(SECRET);
    }
    // A user who did not install the app: nothing to read.
    expect((await read(pkg, `Bearer ${pkg}:${key}`, '?userId=stranger%40settings-access.test')).status).toBe(404);
  });

  it("the SDK's bearer works while the app is starting (webhook still open)", async () => {
    const pkg = 'com.access.starting';
    const raw = await startRawApp(pkg, () => ({ connect: false, delayMs: 1500 }));
    cleanups.push(() => raw.close());
    raw.apiKey = await cloud.registerApp({ packageName: pkg, publicUrl: raw.url, settings: SCHEMA }, [USER]);
    await setSecret(pkg);
    await connectGlasses(cloud, USER, cleanups);
    const starting = cloud.admin('POST', `/api/admin/sessions/${encodeURIComponent(USER)}/apps/${pkg}/start`);
    await eventually(() => cloud.registry.get(USER)?.apps.loadingApps().includes(pkg), 3000, 'the app loading');
    const res = await read(pkg, `Bearer ${USER}-${pkg}`);
    expect(res.status).toBe(200);
    expect(await valueOf(res)).toBe(SECRET);
    // No init comes: the start fails (APP_INIT_TIMEOUT_MS), and the bearer stops working with it.
    expect((await starting).status).toBeGreaterThanOrEqual(400);
    expect((await read(pkg, `Bearer ${USER}-${pkg}`)).status).toBe(401);
  });

  it('session.settings.fetch() of a running SDK app works; after the app stops its bearer is refused again', async () => {
    const pkg = 'com.access.running';
    const sessions: AppSession[] = [];
    const { app } = await serveSdkApp(cloud, { packageName: pkg, settings: SCHEMA }, [USER], (session) => {
      sessions.push(session);
    });
    cleanups.push(() => app.close());
    await setSecret(pkg);
    await connectGlasses(cloud, USER, cleanups);
    const started = await cloud.admin('POST', `/api/admin/sessions/${encodeURIComponent(USER)}/apps/${pkg}/start`);
    expect(started.status).toBe(201);
    const session = await eventually(() => sessions[0], 5000, 'the SDK session');
    const fetched = await session.settings.fetch();
    expect(fetched.find((s) => s.key === 'apiToken')?.value).toBe(SECRET);
    // Never for another package: the SDK's bearer of this app on another app's path.
    expect((await read('com.access.idle', `Bearer ${USER}-${pkg}`)).status).toBe(401);

    const stopped = await cloud.admin('POST', `/api/admin/sessions/${encodeURIComponent(USER)}/apps/${pkg}/stop`);
    expect(stopped.status).toBe(201);
    expect((await read(pkg, `Bearer ${USER}-${pkg}`)).status).toBe(401);
  });
});
