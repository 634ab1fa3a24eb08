import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedGlasses } from '../../src/simulator/index.js';
import { startClusterHarness, type ClusterHarness, type ClusterNodeProcess } from '../support/cluster-harness.js';
import { eventually, startSdkApp, type SdkAppHandle } from '../support/sdk-app.js';

/** `npm run test:cluster` sets CLUSTER_LONG=1: 3 processes and 300 users; `npm test` runs the short form. */
const LONG = process.env.CLUSTER_LONG === '1';
const USERS = LONG ? 300 : 45;
const NODES = 3;
/** The deadline for every user of a failed process to have its app running again. */
const RECOVERY_DEADLINE_MS = 15_000;
const PKG = 'com.test.failover';

interface Summary {
  userId: string;
  glassesConnected: boolean;
  apps: Array<{ packageName: string; state: string; connected: boolean }>;
}

const userIds = Array.from({ length: USERS }, (_, i) => `failover-${i}@example.com`);
/** Users who first connect after the fourth process joined. */
const NEW_USERS = LONG ? 60 : 16;
const newUserIds = Array.from({ length: NEW_USERS }, (_, i) => `scaleout-${i}@example.com`);

describe(`cluster failover (${NODES} processes behind nginx, ${USERS} users with a running SDK app)`, () => {
  let cluster: ClusterHarness;
  let app: SdkAppHandle;
  const glasses = new Map<string, SimulatedGlasses>();
  /** Every onSession of the SDK app, per user, with its time. */
  const sessionsAt = new Map<string, number[]>();
  const presses = new Map<string, number>();
  /** Every close code each user's glasses saw, in order. */
  const closes = new Map<string, number[]>([...userIds, ...newUserIds].map((u) => [u, []]));
  /** Users seen with a live session on two processes in two consecutive samples (should stay empty). */
  const doubles = new Set<string>();
  let sampling: Promise<void> | null = null;
  let stopSampling = false;

  async function sessionsByNode(): Promise<Map<string, Summary[]>> {
    const out = new Map<string, Summary[]>();
    await Promise.all(
      cluster.alive().map(async (n) => {
        const r = await n.service.admin<Summary[]>('GET', '/api/admin/sessions?scope=local').catch(() => null);
        if (r?.status === 200) out.set(n.nodeId, r.body);
      }),
    );
    return out;
  }

  function appRunning(s: Summary): boolean {
    return s.apps.some((a) => a.packageName === PKG && a.state === 'running' && a.connected);
  }

  /** Users whose session on some live process has the glasses connected and the app running and connected. */
  async function recovered(): Promise<Set<string>> {
    const ok = new Set<string>();
    for (const list of (await sessionsByNode()).values())
      for (const s of list) if (s.glassesConnected && appRunning(s)) ok.add(s.userId);
    return ok;
  }

  function startSampling(): void {
    stopSampling = false;
    sampling = (async () => {
      let previous = new Set<string>();
      while (!stopSampling) {
        const seen = new Map<string, number>();
        for (const list of (await sessionsByNode()).values())
          for (const s of list) seen.set(s.userId, (seen.get(s.userId) ?? 0) + 1);
        const now = new Set([...seen].filter(([, n]) => n > 1).map(([u]) => u));
        for (const u of now) if (previous.has(u)) doubles.add(u);
        previous = now;
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
  }

  async function ownersOf(users: string[]): Promise<Map<string, string | null>> {
    const holders = await cluster.leaseHolders(users);
    return new Map(users.map((u, i) => [u, holders[i] ?? null]));
  }

  /** Presses a button on each user's glasses and waits until the SDK app got every press. */
  async function pressAll(users: string[]): Promise<void> {
    const before = new Map(users.map((u) => [u, presses.get(u) ?? 0]));
    for (const u of users) glasses.get(u)!.pressButton('short');
    await eventually(
      () => users.every((u) => (presses.get(u) ?? 0) > before.get(u)!),
      10_000,
      'every button press delivered to the app',
    );
  }

  /** Where each user not recovered stands (lease, sessions, app states, glasses), for a failure's message. */
  async function describeUsers(users: string[]): Promise<string> {
    const ok = await recovered();
    const missing = users.filter((u) => !ok.has(u));
    const owners = await ownersOf(missing);
    const lists = await sessionsByNode();
    const lines = missing.slice(0, 20).map((u) => {
      const where = [...lists].flatMap(([nodeId, list]) =>
        list
          .filter((s) => s.userId === u)
          .map((s) => `${nodeId}: glasses ${s.glassesConnected}, apps ${JSON.stringify(s.apps)}`),
      );
      const g = glasses.get(u)!;
      return `  ${u}: lease ${owners.get(u)}, sessions [${where.join('; ')}], glasses socket open ${g.isOpen}, closes ${closes.get(u)!.join(',')}`;
    });
    return `${missing.length} of ${users.length} users not recovered:\n${lines.join('\n')}`;
  }

  /** Fails the process, then waits until each of its users has the app running again; returns the time it took. */
  async function failAndRecover(
    victim: ClusterNodeProcess,
    signal: 'SIGKILL' | 'SIGTERM',
  ): Promise<{ users: string[]; ms: number; sessionsAfter: Map<string, number> }> {
    const owners = await ownersOf(userIds);
    const users = userIds.filter((u) => owners.get(u) === victim.nodeId);
    expect(users.length).toBeGreaterThan(0);
    const t0 = Date.now();
    const countBefore = new Map(users.map((u) => [u, sessionsAt.get(u)?.length ?? 0]));
    await victim.service.stop(signal, 20_000);
    await eventually(
      async () => {
        const ok = await recovered();
        return users.every((u) => ok.has(u));
      },
      RECOVERY_DEADLINE_MS + 15_000,
      `every user of ${victim.nodeId} with its app running again after ${signal}`,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await describeUsers(users)}`);
    });
    const ms = Date.now() - t0;
    const sessionsAfter = new Map(users.map((u) => [u, (sessionsAt.get(u)?.length ?? 0) - countBefore.get(u)!]));
    return { users, ms, sessionsAfter };
  }

  /**
   * Installs the app for each user, connects the user's glasses through nginx (which routes by the user; the
   * process it lands on takes the lease) and starts the app on the lease holder.
   */
  async function connectWithApp(users: string[]): Promise<void> {
    for (const u of users)
      expect((await cluster.admin('PUT', `/api/admin/users/${encodeURIComponent(u)}/apps/${PKG}`)).status).toBe(200);
    for (let i = 0; i < users.length; i += 20) {
      await Promise.all(
        users.slice(i, i + 20).map(async (u) => {
          const g = new SimulatedGlasses({
            cloudUrl: cluster.nginx.url,
            token: cluster.token(u),
            timeoutMs: 10_000,
            autoReconnect: { initialDelayMs: 250, maxDelayMs: 2000 },
          });
          glasses.set(u, g);
          g.on('close', ({ code }) => closes.get(u)!.push(code));
          await g.connect();
        }),
      );
    }
    const owners = await ownersOf(users);
    await Promise.all(
      users.map(async (u) => {
        const node = cluster.nodes.find((n) => n.nodeId === owners.get(u))!;
        const r = await node.service.admin('POST', `/api/admin/sessions/${encodeURIComponent(u)}/apps/${PKG}/start`);
        expect(r.status, r.text).toBe(201);
      }),
    );
  }

  beforeAll(async () => {
    cluster = await startClusterHarness({ nodes: NODES });
    const registered = await cluster.admin<{ apiKey: string }>('POST', '/api/admin/apps', {
      packageName: PKG,
      name: PKG,
      appType: 'background',
      publicUrl: 'http://127.0.0.1:9',
    });
    expect(registered.status).toBe(201);
    app = await startSdkApp(PKG, registered.body.apiKey, (session, _sessionId, userId) => {
      sessionsAt.set(userId, [...(sessionsAt.get(userId) ?? []), Date.now()]);
      session.events.onButtonPress(() => presses.set(userId, (presses.get(userId) ?? 0) + 1));
    });
    expect((await cluster.admin('PATCH', `/api/admin/apps/${PKG}`, { publicUrl: app.url })).status).toBe(200);
    await connectWithApp(userIds);
    await eventually(async () => (await recovered()).size === USERS, LONG ? 90_000 : 20_000, 'every app running');
    startSampling();
  }, 180_000);

  afterAll(async () => {
    stopSampling = true;
    await sampling;
    await Promise.all([...glasses.values()].map((g) => g.disconnect()));
    await app?.close();
    await cluster?.close();
  }, 60_000);

  it('spreads the users over every process, one lease and one session per user, each on its lease holder', async () => {
    const owners = await ownersOf(userIds);
    const perNode = new Map<string, number>();
    for (const u of userIds) perNode.set(owners.get(u)!, (perNode.get(owners.get(u)!) ?? 0) + 1);
    expect([...perNode.keys()].sort()).toEqual(cluster.nodes.map((n) => n.nodeId).sort());
    const lists = await sessionsByNode();
    for (const [nodeId, list] of lists) for (const s of list) expect(owners.get(s.userId)).toBe(nodeId);
    expect([...lists.values()].reduce((n, l) => n + l.length, 0)).toBe(USERS);
    await pressAll(userIds);
  });

  it('Redis restart: every process keeps its users, /ready says degraded (200) meanwhile, leases are held again after', async () => {
    const before = await ownersOf(userIds);
    const closes = userIds.map((u) => glasses.get(u)!.lastClose);
    await cluster.redis.down('SIGTERM');
    try {
      await eventually(
        async () => {
          const answers = await Promise.all(
            cluster.alive().map(async (n) => {
              const r = await fetch(`${n.service.url}/ready`);
              return r.status === 200 && ((await r.json()) as { status: string }).status === 'degraded';
            }),
          );
          return answers.every(Boolean);
        },
        10_000,
        '/ready degraded on every process',
      );
      // The relays are process-local: presses still reach the app while Redis is away.
      await pressAll(userIds);
    } finally {
      await cluster.redis.up();
    }
    await eventually(
      async () => {
        const answers = await Promise.all(
          cluster
            .alive()
            .map(async (n) => ((await (await fetch(`${n.service.url}/ready`)).json()) as { status: string }).status),
        );
        return answers.every((s) => s === 'ok');
      },
      10_000,
      '/ready ok again on every process',
    );
    const after = await eventually(
      async () => {
        const owners = await ownersOf(userIds);
        return userIds.every((u) => owners.get(u) === before.get(u)) ? owners : null;
      },
      10_000,
      'every lease held again by the same process',
    );
    expect(after.size).toBe(USERS);
    // Nobody was dropped: the same sockets, still open, and every app still running.
    userIds.forEach((u, i) => {
      expect(glasses.get(u)!.isOpen).toBe(true);
      expect(glasses.get(u)!.lastClose).toBe(closes[i]);
    });
    expect((await recovered()).size).toBe(USERS);
    expect([...doubles]).toEqual([]);
  }, 60_000);

  it('SIGKILL of a process: each of its users has its app running again on a survivor within 15 s, presses arrive', async () => {
    const { users, ms } = await failAndRecover(cluster.nodes[0]!, 'SIGKILL');
    console.log(`[cluster failover] SIGKILL: ${users.length} users recovered in ${ms} ms`);
    expect(ms).toBeLessThan(RECOVERY_DEADLINE_MS);
    const owners = await ownersOf(users);
    for (const u of users) expect(owners.get(u)).not.toBe('node-0');
    // No running app forgotten, anywhere.
    expect((await recovered()).size).toBe(USERS);
    await pressAll(userIds);
    expect([...doubles]).toEqual([]);
  }, 60_000);

  it('SIGTERM of a process: it drains with 1012, its users move, no app is restarted twice, presses arrive', async () => {
    const victim = cluster.nodes[1]!;
    const closesBefore = new Map(userIds.map((u) => [u, closes.get(u)!.length]));
    const { users, ms, sessionsAfter } = await failAndRecover(victim, 'SIGTERM');
    console.log(`[cluster failover] SIGTERM: ${users.length} users moved in ${ms} ms`);
    expect(ms).toBeLessThan(RECOVERY_DEADLINE_MS);
    for (const u of users) {
      // The drain's 1012 first; a 1013 may follow while the new owner waits for the old one's hand-over.
      expect(closes.get(u)!.slice(closesBefore.get(u)!)[0]).toBe(1012);
      expect(glasses.get(u)!.isOpen).toBe(true);
      expect(sessionsAfter.get(u)).toBeLessThanOrEqual(1);
    }
    const owners = await ownersOf(userIds);
    for (const u of userIds) expect(owners.get(u)).toBe('node-2');
    expect((await recovered()).size).toBe(USERS);
    await pressAll(userIds);
    expect([...doubles]).toEqual([]);
  }, 60_000);
  it('Adding a process (nginx reloaded): new users land on it; the users the hash moves to it are handed over with their apps', async () => {
    const before = await ownersOf(userIds);
    const sessionsBefore = new Map(userIds.map((u) => [u, sessionsAt.get(u)?.length ?? 0]));
    const added = await cluster.addNode();
    // nginx keeps the sockets it already proxies where they are: nobody moved yet.
    expect(await ownersOf(userIds)).toEqual(before);

    await connectWithApp(newUserIds);
    const everyone = [...userIds, ...newUserIds];
    await eventually(async () => (await recovered()).size === everyone.length, 20_000, 'every new user with its app');
    const newOwners = await ownersOf(newUserIds);
    expect(newUserIds.filter((u) => newOwners.get(u) === added.nodeId).length).toBeGreaterThan(0);

    // Each phone's next connection (here: all of them, like a network change) goes by the new hash. The old
    // owner is alive, so a user the hash moved is handed over (session.handover) by it, apps and all.
    await Promise.all(
      userIds.map((u) =>
        glasses
          .get(u)!
          .reconnect({ previous: 'drop' })
          .catch(() => undefined),
      ),
    );
    const owners = await eventually(
      async () => {
        const ok = await recovered();
        if (!everyone.every((u) => ok.has(u))) return null;
        const o = await ownersOf(userIds);
        return userIds.every((u) => o.get(u) !== null) ? o : null;
      },
      RECOVERY_DEADLINE_MS,
      'every user with its app running after the reconnects',
    );
    const moved = userIds.filter((u) => owners.get(u) === added.nodeId);
    console.log(`[cluster failover] scale-out: ${moved.length} of ${USERS} users moved to ${added.nodeId}`);
    expect(moved.length).toBeGreaterThan(0);
    for (const u of userIds) {
      if (owners.get(u) === before.get(u)) {
        // Not moved: the same session, the app never restarted.
        expect(sessionsAt.get(u)!.length - sessionsBefore.get(u)!, u).toBe(0);
      } else {
        expect(owners.get(u), u).toBe(added.nodeId);
        // Moved: the app runs again on the new owner, started once.
        expect(sessionsAt.get(u)!.length - sessionsBefore.get(u)!, u).toBeLessThanOrEqual(1);
      }
    }
    // One session per user, each on its lease holder; none lost.
    const lists = await sessionsByNode();
    const allOwners = await ownersOf(everyone);
    const seen = new Map<string, number>();
    for (const [nodeId, list] of lists)
      for (const s of list) {
        seen.set(s.userId, (seen.get(s.userId) ?? 0) + 1);
        expect(allOwners.get(s.userId), s.userId).toBe(nodeId);
      }
    expect(everyone.filter((u) => seen.get(u) !== 1)).toEqual([]);
    await pressAll(everyone);
    expect([...doubles]).toEqual([]);
  }, 90_000);
});
