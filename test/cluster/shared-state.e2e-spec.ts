import { randomBytes } from 'node:crypto';
import type { AppSession } from '@mentra/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_ROOM_STORE, type AppRoomStore } from '../../src/app-messaging/app-rooms.js';
import { UserLeases } from '../../src/cluster/user-leases.js';
import { connectGlasses, startCloud, type TestCloud } from '../support/cloud.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { eventually, serveSdkApp, type SdkAppHandle } from '../support/sdk-app.js';

const PKG = 'com.shared.state';
const ALICE = 'alice@shared.test'; // lives on A
const BOB = 'bob@shared.test'; // lives on B
const ADMIN_FAILURES = 4;
const SETTINGS = [
  {
    type: 'select',
    key: 'mode',
    label: 'Mode',
    defaultValue: 'fast',
    options: [
      { label: 'Fast', value: 'fast' },
      { label: 'Slow', value: 'slow' },
    ],
  },
];

/**
 * Two whole services (A and B) on one real redis-server, both clustered on the Redis store, as nginx would put
 * them behind one address: what one process issued or holds, the other accepts or reaches. Alice's session and
 * app live on A (A holds her lease, as the session ownership does), Bob's on B; every request here goes to the
 * process that does NOT hold the user.
 */
describe('cluster shared state across two processes', () => {
  let redis: RedisServer;
  let a: TestCloud;
  let b: TestCloud;
  let app: SdkAppHandle;
  let apiKey = '';
  const sessions = new Map<string, AppSession>();
  const changes: unknown[] = [];
  const cleanups: Array<() => unknown> = [];
  const glasses = new Map<string, Awaited<ReturnType<typeof connectGlasses>>['glasses']>();
  const glassesOf = (userId: string) => glasses.get(userId)!;
  const secret = randomBytes(32).toString('hex');

  const node = (id: string) =>
    startCloud({
      AUGMENTOS_AUTH_JWT_SECRET: secret,
      ADMIN_API_KEY: secret.slice(0, 40),
      REDIS_URL: redis.url,
      STORE: 'redis',
      CLUSTER_NODE_ID: id,
      ADMIN_AUTH_FAILURES_PER_MINUTE: String(ADMIN_FAILURES),
      INGEST_CALLBACK_SECRET: secret,
      MANAGED_RTMP_INGEST_URL: 'rtmp://127.0.0.1:9/live',
      MANAGED_HLS_BASE_URL: 'http://127.0.0.1:9/hls',
      MANAGED_DASH_BASE_URL: 'http://127.0.0.1:9/dash',
    });

  /** The user's glasses on `cloud`, which takes the user's lease. */
  const live = async (cloud: TestCloud, userId: string) => {
    const connected = await connectGlasses(cloud, userId, cleanups, { model: 'live', autoAnswer: { rtmp: false } });
    glasses.set(userId, connected.glasses);
    await cloud.app.get(UserLeases, { strict: false }).acquire(userId);
    expect(cloud.app.get(UserLeases, { strict: false }).isOwned(userId)).toBe(true);
    const started = await cloud.admin('POST', `/api/admin/sessions/${userId}/apps/${PKG}/start`);
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    return { session: await eventually(() => sessions.get(userId), 8000, `${userId}'s SDK session`) };
  };

  beforeAll(async () => {
    redis = await startRedisServer();
    a = await node('node-a');
    b = await node('node-b');
    ({ app, apiKey } = await serveSdkApp(
      a,
      { packageName: PKG, permissions: [{ type: 'CAMERA' }], settings: SETTINGS, webviewURL: 'http://127.0.0.1:9/wv' },
      [ALICE, BOB],
      (session, _id, userId) => {
        sessions.set(userId, session);
        session.events.onSettingChange('mode', (value) => changes.push({ userId, value }));
      },
    ));
  }, 60_000);
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    await app?.close();
    await b?.close();
    await a?.close();
    await redis?.stop();
  });

  it('GET /api/admin/cluster on either process lists both nodes with pid, address, sessions, leases and health', async () => {
    await live(a, ALICE);
    for (const cloud of [a, b]) {
      const res = await cloud.admin('GET', '/api/admin/cluster');
      expect(res.status).toBe(200);
      expect(res.body.mode).toBe('cluster');
      expect(res.body.nodes.map((n: { nodeId: string }) => n.nodeId)).toEqual(['node-a', 'node-b']);
      expect(res.body.nodes[0]).toMatchObject({ pid: process.pid, health: 'ok', leaseCount: 1, sessions: 1 });
      expect(res.body.nodes[1]).toMatchObject({ health: 'ok', leaseCount: 0 });
      expect(typeof res.body.nodes[1].address).toBe('string');
    }
  }, 30_000);

  it('a webview temp token issued on A is exchanged on B, once', async () => {
    const issued = await fetch(`${a.url}/api/auth/generate-webview-token`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a.token(ALICE)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ packageName: PKG }),
    });
    expect(issued.status).toBe(200);
    const { token } = (await issued.json()) as { token: string };
    const exchange = (cloud: TestCloud) =>
      fetch(`${cloud.url}/api/auth/exchange-user-token`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ aos_temp_token: token, packageName: PKG }),
      });
    const first = await exchange(b);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ success: true, userId: ALICE });
    expect((await exchange(a)).status).toBe(401); // single use, cluster-wide
  });

  it('a managed-stream key made on A, published through B: B redirects to the playback name and the stream on A goes active', async () => {
    const alice = await eventually(() => sessions.get(ALICE));
    const starting = alice.camera.startManagedStream();
    const start = await glassesOf(ALICE).waitFor('start_rtmp_stream', undefined, { since: 0 });
    const key = start.rtmpUrl!.split('/').pop()!;
    const publish = (cloud: TestCloud) =>
      fetch(`${cloud.url}/api/streaming/nginx/on_publish?secret=${secret}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ app: 'live', name: key, addr: '127.0.0.1', call: 'publish' }).toString(),
      });
    const accepted = await publish(b);
    expect(accepted.status).toBe(302);
    const playbackName = accepted.headers.get('location')!;
    expect(playbackName).toMatch(/^s-[0-9a-f]{24}$/);
    const started = await starting; // resolves on the managed stream's 'active' status, sent by A
    expect(started.hlsUrl).toContain(playbackName);
    // A second publisher with the same key is refused wherever it lands.
    expect((await publish(a)).status).toBe(403);
    expect((await publish(b)).status).toBe(403);
  }, 30_000);

  it("a settings change made through B reaches Alice's app on A (delivered over A's socket)", async () => {
    const put = await b.admin('PUT', `/api/admin/users/${ALICE}/apps/${PKG}/settings`, {
      settings: [{ key: 'mode', value: 'slow' }],
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({ delivered: true });
    await eventually(() => changes.some((c) => JSON.stringify(c) === JSON.stringify({ userId: ALICE, value: 'slow' })));
    const phone = await fetch(`${b.url}/appsettings/${PKG}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${b.token(ALICE)}`, 'content-type': 'application/json' },
      body: JSON.stringify([{ key: 'mode', value: 'fast' }]),
    });
    expect(phone.status).toBe(200);
    await eventually(() => changes.some((c) => JSON.stringify(c) === JSON.stringify({ userId: ALICE, value: 'fast' })));
  }, 20_000);

  it('a room joined by an app on A and one on B is one room, seen the same from both processes', async () => {
    const { session: bob } = await live(b, BOB);
    const alice = sessions.get(ALICE)!;
    const rooms = (cloud: TestCloud) => cloud.app.get<AppRoomStore>(APP_ROOM_STORE, { strict: false });
    await alice.joinAppRoom('lobby', { maxUsers: 2 }); // she creates it, with its config
    await eventually(async () => (await rooms(b).members(PKG, 'lobby')).includes(ALICE), 5000, 'alice in');
    await bob.joinAppRoom('lobby');
    await eventually(async () => (await rooms(a).members(PKG, 'lobby')).length === 2, 5000, 'both members');
    expect((await rooms(b).members(PKG, 'lobby')).sort()).toEqual([ALICE, BOB]);
    expect(await rooms(b).join(PKG, 'lobby', 'carol@shared.test', 5, {})).toMatchObject({ result: 'full' });
    await bob.leaveAppRoom('lobby');
    await eventually(async () => (await rooms(a).members(PKG, 'lobby')).length === 1, 5000, 'bob gone');
  }, 30_000);

  it('app-to-app messaging spans the processes: discovery through B lists Alice on A; broadcasts and direct messages cross both ways', async () => {
    const alice = sessions.get(ALICE)!;
    const bob = sessions.get(BOB)!;
    const got = new Map<string, any[]>([
      [ALICE, []],
      [BOB, []],
    ]);
    alice.onAppMessage((m: any) => got.get(ALICE)!.push(m));
    bob.onAppMessage((m: any) => got.get(BOB)!.push(m));
    const list = await bob.discoverAppUsers(b.url);
    expect(list.users.map((u: any) => u.userId)).toEqual([ALICE]);
    await alice.broadcastToAppUsers({ text: 'hi from A' });
    await eventually(() => got.get(BOB)!.length === 1, 5000, 'the broadcast on B');
    expect(got.get(BOB)![0]).toMatchObject({ payload: { text: 'hi from A' }, senderUserId: ALICE });
    expect(await bob.sendDirectMessage(ALICE, { text: 'psst from B' })).toBe(true);
    await eventually(() => got.get(ALICE)!.length === 1, 5000, 'the direct message on A');
    expect(got.get(ALICE)![0]).toMatchObject({ payload: { text: 'psst from B' }, senderUserId: BOB });
    expect(await bob.sendDirectMessage('nobody@shared.test', { text: 'nope' })).toBe(false);
  }, 20_000);

  it("an uninstall made through B stops Alice's app where it runs (A), and nobody else's", async () => {
    const res = await b.admin('DELETE', `/api/admin/users/${ALICE}/apps/${PKG}`);
    expect(res.status).toBe(200);
    await eventually(() => app.stops.some((s) => s.userId === ALICE), 5000, "the app's onStop on A");
    expect(a.registry.get(ALICE)?.connections.isRunning(PKG)).toBe(false);
    expect(b.registry.get(BOB)?.connections.isRunning(PKG)).toBe(true);
  }, 20_000);

  it('a revocation made through B closes the socket of the user on A with 4001', async () => {
    const closed = glassesOf(ALICE).waitForClose({ timeoutMs: 5000 });
    const res = await b.admin('POST', `/api/admin/users/${ALICE}/token/revoke`);
    expect(res.status).toBe(200);
    expect(await closed).toEqual({ code: 4001, reason: 'token revoked' });
  });

  // Last: it leaves 127.0.0.1 blocked from the admin API for a minute.
  it('the admin failed-auth budget is one for the cluster: failures on A and B add up', async () => {
    const wrong = (cloud: TestCloud) => cloud.admin('GET', '/api/admin/cluster', undefined, 'wrong-key');
    expect((await wrong(a)).status).toBe(401);
    expect((await wrong(b)).status).toBe(401);
    expect((await wrong(a)).status).toBe(401);
    expect((await wrong(b)).status).toBe(401);
    const blocked = await wrong(a);
    expect(blocked.status).toBe(429);
    expect((await wrong(b)).status).toBe(429);
    expect((await b.admin('GET', '/api/admin/cluster')).status).toBe(200); // the right key is never refused
  });

  it('/ready says "degraded" with 200 while the cluster\'s Redis is away, and "ok" again once it is back', async () => {
    const ready = async (cloud: TestCloud) => {
      const res = await fetch(`${cloud.url}/ready`);
      return { status: res.status, body: (await res.json()) as { status: string } };
    };
    expect(await ready(a)).toMatchObject({ status: 200, body: { status: 'ok' } });
    await redis.down();
    const degraded = await eventually(
      async () => {
        const r = await ready(a);
        return r.body.status === 'degraded' ? r : null;
      },
      10_000,
      '/ready degraded',
    );
    expect(degraded.status).toBe(200);
    await redis.up();
    await eventually(async () => (await ready(a)).body.status === 'ok', 15_000, '/ready ok again');
  }, 40_000);
});
