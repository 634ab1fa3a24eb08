import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedGlasses } from '../../src/simulator/index.js';
import type { Service } from '../faults/support.js';
import { startClusterHarness, type ClusterHarness, type ClusterNodeProcess } from '../support/cluster-harness.js';
import { eventually, startSdkApp, type SdkAppHandle } from '../support/sdk-app.js';

const PKG = 'com.test.owner-calls';
const CANDIDATES = Array.from({ length: 16 }, (_, i) => `owner-calls-${i}@cluster.test`);

interface Summary {
  userId: string;
  ownerNode?: string;
  modelName: string | null;
  runningApps: string[];
  apps: Array<{ packageName: string; state: string; connected: boolean }>;
}

/**
 * Two cloud processes behind nginx on one redis-server (separate processes, built dist, STORE=redis). Each user's
 * glasses reach their process through nginx, which takes the user's lease; every call here is sent straight to
 * the process that does NOT hold the user, and must be carried out by the one that does.
 */
describe('cluster: admin and phone calls on a user held by the other process', () => {
  let cluster: ClusterHarness;
  let app: SdkAppHandle;
  const glasses = new Map<string, SimulatedGlasses>();
  /** Users by the process holding them (one of each is enough). */
  const usersOf = new Map<string, string[]>();
  let alice = ''; // held by node-0
  let bob = ''; // held by node-1
  let a: ClusterNodeProcess; // node-0
  let b: ClusterNodeProcess; // node-1

  /** Every onSession of the SDK app, per user. */
  const onSessions = new Map<string, number>();
  const appSessions = (userId: string) => onSessions.get(userId) ?? 0;
  /** Every metricSystemEnabled change the SDK app saw. */
  const metric: Array<{ userId: string; value: unknown }> = [];
  const stopsOf = (userId: string) => app.stops.filter((s) => s.userId === userId).length;
  const phone = async (service: Service, method: string, path: string, userId: string, body?: unknown) => {
    const res = await fetch(`${service.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${service.token(userId)}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const localSummary = async (node: ClusterNodeProcess, userId: string) =>
    (await node.service.admin<Summary[]>('GET', '/api/admin/sessions?scope=local')).body.find(
      (s) => s.userId === userId,
    );
  const appState = async (node: ClusterNodeProcess, userId: string) =>
    (await localSummary(node, userId))?.apps.find((a) => a.packageName === PKG);

  beforeAll(async () => {
    cluster = await startClusterHarness({ nodes: 2 });
    [a, b] = cluster.nodes as [ClusterNodeProcess, ClusterNodeProcess];
    const registered = await cluster.admin<{ apiKey: string }>('POST', '/api/admin/apps', {
      packageName: PKG,
      name: PKG,
      appType: 'background',
      publicUrl: 'http://127.0.0.1:9',
    });
    expect(registered.status, registered.text).toBe(201);
    app = await startSdkApp(PKG, registered.body.apiKey, (session, _id, userId) => {
      onSessions.set(userId, appSessions(userId) + 1);
      session.settings.onMentraosSettingChange('metricSystemEnabled', (value) => metric.push({ userId, value }));
    });
    expect((await cluster.admin('PATCH', `/api/admin/apps/${PKG}`, { publicUrl: app.url })).status).toBe(200);
    // nginx picks the process by the user: connect users until each process holds one.
    for (const u of CANDIDATES) {
      if (usersOf.get('node-0')?.length && usersOf.get('node-1')?.length) break;
      expect((await cluster.admin('PUT', `/api/admin/users/${encodeURIComponent(u)}/apps/${PKG}`)).status).toBe(200);
      const g = new SimulatedGlasses({ cloudUrl: cluster.nginx.url, token: cluster.token(u), timeoutMs: 10_000 });
      await g.connect();
      glasses.set(u, g);
      const [holder] = await cluster.leaseHolders([u]);
      expect(holder, `${u}'s lease`).toMatch(/^node-[01]$/);
      usersOf.set(holder!, [...(usersOf.get(holder!) ?? []), u]);
    }
    alice = usersOf.get('node-0')?.[0] ?? '';
    bob = usersOf.get('node-1')?.[0] ?? '';
    expect(alice && bob, `a user on each process: ${JSON.stringify([...usersOf])}`).toBeTruthy();
  }, 180_000);

  afterAll(async () => {
    await Promise.all([...glasses.values()].map((g) => g.disconnect().catch(() => undefined)));
    await app?.close();
    await cluster?.close();
  }, 60_000);

  it('GET /api/admin/sessions on either process lists the sessions of both, each with its owner node; ?scope=local only its own', async () => {
    const everyone = [...glasses.keys()].sort();
    for (const node of [a, b]) {
      const all = await node.service.admin<Summary[]>('GET', '/api/admin/sessions');
      expect(all.status).toBe(200);
      expect(all.headers['x-cluster-incomplete']).toBeUndefined();
      expect(all.body.map((s) => s.userId).sort()).toEqual(everyone);
      const holders = await cluster.leaseHolders(all.body.map((s) => s.userId));
      expect(all.body.map((s) => s.ownerNode)).toEqual(holders);
      const local = await node.service.admin<Summary[]>('GET', '/api/admin/sessions?scope=local');
      expect(local.body.map((s) => s.userId).sort()).toEqual([...(usersOf.get(node.nodeId) ?? [])].sort());
      expect(local.body.every((s) => s.ownerNode === node.nodeId)).toBe(true);
    }
    const one = await b.service.admin<Summary>('GET', `/api/admin/sessions/${encodeURIComponent(alice)}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ userId: alice, ownerNode: 'node-0' });
    expect((await b.service.admin('GET', '/api/admin/sessions?scope=everywhere')).status).toBe(400);
    const doc = (await (await fetch(`${a.service.url}/api/docs-json`)).json()) as any;
    expect(doc.paths['/api/admin/sessions'].get.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'scope', in: 'query', required: false })]),
    );
  }, 30_000);

  it('admin start through the process that does not hold the user: the owner starts the app and answers with its outcome', async () => {
    const res = await b.service.admin('POST', `/api/admin/sessions/${encodeURIComponent(alice)}/apps/${PKG}/start`);
    expect(res.status, res.text).toBe(201);
    expect(res.body).toEqual({ ok: true, packageName: PKG, alreadyRunning: false });
    await eventually(() => appSessions(alice) === 1, 10_000, "the SDK app's session of the user");
    expect(await appState(a, alice)).toMatchObject({ state: 'running', connected: true });
    expect(await localSummary(b, alice)).toBeUndefined(); // nothing was built on the process asked
    // A failing start: the same status and body through either process.
    const path = `/api/admin/sessions/${encodeURIComponent(alice)}/apps/com.test.not-installed/start`;
    const [remote, local] = [await b.service.admin('POST', path), await a.service.admin('POST', path)];
    expect(remote.status).toBe(404);
    expect(remote.body).toMatchObject({ code: 'START_FAILED', details: { stage: 'LOOKUP' } });
    expect(remote.body).toEqual(local.body);
  }, 30_000);

  it('admin device through the process that does not hold the user: the owner applies it and returns its summary', async () => {
    const res = await b.service.admin<Summary>('PUT', `/api/admin/sessions/${encodeURIComponent(alice)}/device`, {
      modelName: 'Mentra Live',
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ userId: alice, ownerNode: 'node-0', modelName: 'Mentra Live' });
    expect((await localSummary(a, alice))?.modelName).toBe('Mentra Live');
  }, 20_000);

  it("admin stop through the process that does not hold the user: the app stops on the owner and the SDK app's onStop runs", async () => {
    const path = `/api/admin/sessions/${encodeURIComponent(alice)}/apps/${PKG}/stop`;
    const stopsBefore = stopsOf(alice);
    const res = await b.service.admin('POST', path);
    expect(res.status, res.text).toBe(201);
    expect(res.body).toEqual({ ok: true, packageName: PKG });
    await eventually(() => stopsOf(alice) > stopsBefore, 10_000, "the SDK app's onStop");
    expect((await localSummary(a, alice))?.runningApps).toEqual([]);
    // Not running any more: the owner's error, as a local call gives it.
    const [remote, local] = [await b.service.admin('POST', path), await a.service.admin('POST', path)];
    expect(remote.status).toBe(409);
    expect(remote.body).toMatchObject({ code: 'APP_NOT_RUNNING' });
    expect(remote.body).toEqual(local.body);
  }, 30_000);

  it("the phone's REST start and stop through the process that does not hold the user reach its owner", async () => {
    const sessionsBefore = appSessions(bob);
    const started = await phone(a.service, 'POST', `/apps/${PKG}/start`, bob); // bob is on node-1
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    expect(started.body).toEqual({
      success: true,
      data: { status: 'started', packageName: PKG, alreadyRunning: false },
    });
    await eventually(() => appSessions(bob) > sessionsBefore, 10_000, "the SDK app's session of bob");
    expect(await appState(b, bob)).toMatchObject({ state: 'running', connected: true });
    // The home screen through the same process shows the app running where it runs.
    const home = await phone(a.service, 'GET', '/api/client/apps', bob);
    expect(home.status).toBe(200);
    expect(home.body.data.find((a: { packageName: string }) => a.packageName === PKG)).toMatchObject({
      running: true,
      loading: false,
    });
    // A MentraOS setting changed through the same process reaches the app (augmentos_settings_update).
    const settings = await phone(a.service, 'PUT', '/api/client/user/settings', bob, {
      settings: { metric_system: true },
    });
    expect(settings.status, JSON.stringify(settings.body)).toBe(200);
    await eventually(() => metric.some((m) => m.userId === bob && m.value === true), 10_000, 'the setting on the app');
    const stopsBefore = stopsOf(bob);
    const stopped = await phone(a.service, 'POST', `/apps/${PKG}/stop`, bob);
    expect(stopped.status, JSON.stringify(stopped.body)).toBe(200);
    expect(stopped.body.data).toEqual({ status: 'stopped', packageName: PKG, wasRunning: true });
    await eventually(() => stopsOf(bob) > stopsBefore, 10_000, "the SDK app's onStop for bob");
    expect((await localSummary(b, bob))?.runningApps).toEqual([]);
    // A user with no session anywhere gets the phone's 503, from any process.
    const nobody = await phone(a.service, 'POST', `/apps/${PKG}/start`, 'nobody@cluster.test');
    expect(nobody.status).toBe(503);
    expect(nobody.body).toMatchObject({ code: 'NO_ACTIVE_SESSION' });
  }, 40_000);

  it('an app deleted through one process stops in the sessions of both', async () => {
    const stopsBefore = [stopsOf(alice), stopsOf(bob)];
    for (const u of [alice, bob]) {
      const started = await a.service.admin('POST', `/api/admin/sessions/${encodeURIComponent(u)}/apps/${PKG}/start`);
      expect(started.status, started.text).toBe(201);
    }
    expect((await b.service.admin('DELETE', `/api/admin/apps/${PKG}`)).status).toBe(204);
    await eventually(
      () => stopsOf(alice) > stopsBefore[0]! && stopsOf(bob) > stopsBefore[1]!,
      10_000,
      "the SDK app's onStop for both users",
    );
    expect((await localSummary(a, alice))?.runningApps).toEqual([]);
    expect((await localSummary(b, bob))?.runningApps).toEqual([]);
  }, 40_000);

  it('admin end-session through the process that does not hold the user: the owner ends it and closes the glasses socket', async () => {
    const closed = glasses.get(alice)!.waitForClose({ timeoutMs: 10_000 });
    const res = await b.service.admin('DELETE', `/api/admin/sessions/${encodeURIComponent(alice)}`);
    expect(res.status, res.text).toBe(204);
    expect((await closed).code).toBe(1000);
    expect(await localSummary(a, alice)).toBeUndefined();
    await eventually(async () => (await cluster.leaseHolders([alice]))[0] === null, 5000, 'the lease released');
    const again = await b.service.admin('DELETE', `/api/admin/sessions/${encodeURIComponent(alice)}`);
    expect(again.status).toBe(404);
    expect(again.body).toMatchObject({ code: 'SESSION_NOT_FOUND' });
  }, 30_000);

  // Last: it kills node-1.
  it('an owner that is gone: calls through the survivor fail with OWNER_UNREACHABLE (504) until its lease expires', async () => {
    await b.service.stop('SIGKILL');
    // At once: node-1's lease and presence outlive it by LEASE_TTL_MS and three heartbeats.
    const [res, list] = await Promise.all([
      a.service.admin('POST', `/api/admin/sessions/${encodeURIComponent(bob)}/apps/${PKG}/start`),
      a.service.admin<Summary[]>('GET', '/api/admin/sessions'),
    ]);
    expect(res.status, res.text).toBe(504);
    expect(res.body).toMatchObject({ code: 'OWNER_UNREACHABLE', details: { nodeId: 'node-1' } });
    expect(list.status).toBe(200);
    expect(list.headers['x-cluster-incomplete']).toBe('node-1');
    expect(list.body.every((s) => s.ownerNode === 'node-0')).toBe(true);
  }, 30_000);
});
