import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CloudError } from '../../src/common/cloud-error.js';
import { startClusterNode, type ClusterNode } from '../support/cluster-node.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(50);
  }
}

async function failure(p: Promise<unknown>): Promise<CloudError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof CloudError)) throw new Error(`expected a CloudError, got ${String(err)}`);
  return err;
}

describe('cluster: node presence and the cross-process bus on a real redis-server', () => {
  let redis: RedisServer;
  const nodes: ClusterNode[] = [];
  const node = async (id: string) => {
    const n = await startClusterNode(redis.url, id);
    nodes.push(n);
    return n;
  };

  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.close()));
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('lists every live node with id, pid, address, sessions, lease count and health; a stopped node leaves at once, a killed one after three heartbeats', async () => {
    const [a, b, c] = [await node('node-a'), await node('node-b'), await node('node-c')];
    a.nodes.countSessionsWith(() => 7);
    await a.leases.acquire('u1@example.com');
    await a.leases.acquire('u2@example.com');
    await a.nodes.heartbeat();
    const list = await b.nodes.list();
    expect(list.map((n) => n.nodeId)).toEqual(['node-a', 'node-b', 'node-c']);
    expect(list[0]).toMatchObject({
      nodeId: 'node-a',
      pid: process.pid,
      address: expect.stringMatching(/^http:\/\//),
      sessions: 7,
      leaseCount: 2,
      health: 'ok',
    });
    await c.close();
    expect((await a.nodes.list()).map((n) => n.nodeId)).toEqual(['node-a', 'node-b']);
    await b.kill();
    expect(await a.nodes.isAlive('node-b')).toBe(true); // its presence outlives it by at most three heartbeats
    await until(async () => (await a.nodes.list()).length === 1, 3_000);
    expect(await a.nodes.isAlive('node-b')).toBe(false);
  });

  it('a request reaches the node that owns the user and comes back with its answer, or with its CloudError', async () => {
    const [a, b] = [await node('node-a'), await node('node-b')];
    const seen: Array<[string, string]> = [];
    for (const n of [a, b]) {
      n.bus.handle('admin.stop-app', ({ userId, packageName }, from) => {
        seen.push([n.nodeId, from]);
        if (packageName === 'com.example.missing')
          throw new CloudError('APP_NOT_RUNNING', `${packageName} is not running for ${userId}`, { packageName });
        return { stopped: true, by: n.nodeId };
      });
    }
    await b.leases.acquire('owned-by-b@example.com');
    const answer = await a.bus.toOwner('owned-by-b@example.com', 'admin.stop-app', {
      userId: 'owned-by-b@example.com',
      packageName: 'com.example.app',
    });
    expect(answer).toEqual({ nodeId: 'node-b', result: { stopped: true, by: 'node-b' } });
    expect(seen).toEqual([['node-b', 'node-a']]);

    const err = await failure(
      a.bus.toOwner('owned-by-b@example.com', 'admin.stop-app', {
        userId: 'owned-by-b@example.com',
        packageName: 'com.example.missing',
      }),
    );
    expect(err.code).toBe('APP_NOT_RUNNING');
    expect(err.details).toEqual({ packageName: 'com.example.missing' });

    // The owner itself takes the same path, run in place.
    seen.length = 0;
    const local = await b.bus.toOwner('owned-by-b@example.com', 'admin.stop-app', {
      userId: 'owned-by-b@example.com',
      packageName: 'com.example.app',
    });
    expect(local.nodeId).toBe('node-b');
    expect(seen).toEqual([['node-b', 'node-b']]);

    // Nobody owns the user: a clear error, nothing sent.
    expect((await failure(a.bus.toOwner('nobody@example.com', 'ping', { sentAt: 1 }))).code).toBe('SESSION_NOT_FOUND');
  });

  it('a node that does not listen fails at once; one that does not answer fails after CLUSTER_REQUEST_TIMEOUT_MS', async () => {
    const [a, b] = [await node('node-a'), await node('node-b')];
    let started = Date.now();
    const gone = await failure(a.bus.request('node-nowhere', 'ping', { sentAt: 0 }));
    expect(gone.code).toBe('OWNER_UNREACHABLE');
    expect(Date.now() - started).toBeLessThan(1_000); // not the timeout: PUBLISH reached nobody
    b.bus.handle('admin.device', () => new Promise(() => undefined)); // never answers
    started = Date.now();
    const slow = await failure(
      a.bus.request('node-b', 'admin.device', { userId: 'x@example.com', modelName: 'Mentra Live', connected: true }),
    );
    expect(slow.code).toBe('OWNER_UNREACHABLE');
    expect(slow.message).toMatch(/did not answer admin\.device within 1000 ms/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    // A type the node has no handler for is an answer, not a timeout.
    expect(
      (await failure(a.bus.request('node-b', 'app.settings-changed', { userId: 'x', packageName: 'p' }))).code,
    ).toBe('UNSUPPORTED');
  });

  it('a broadcast reaches every node once, the sender included; requestAll gathers one answer per live node', async () => {
    const [a, b, c] = [await node('node-a'), await node('node-b'), await node('node-c')];
    const heard: string[] = [];
    for (const n of [a, b, c])
      n.bus.on('app.uninstalled', (p, from) => heard.push(`${n.nodeId}<-${from}:${p.packageName}`));
    await b.bus.broadcast('app.uninstalled', { packageName: 'com.example.gone', userId: null });
    await until(() => heard.length >= 3);
    await sleep(100); // no duplicates arrive late
    expect(heard.sort()).toEqual([
      'node-a<-node-b:com.example.gone',
      'node-b<-node-b:com.example.gone',
      'node-c<-node-b:com.example.gone',
    ]);

    const answers = await a.bus.requestAll('ping', { sentAt: 42 });
    expect(answers).toEqual(
      ['node-a', 'node-b', 'node-c'].map((nodeId) => ({ nodeId, ok: true, result: { nodeId, sentAt: 42 } })),
    );
    const infos = await c.bus.requestAll('node.info', {});
    expect(infos.map((x) => x.ok && x.result.nodeId)).toEqual(['node-a', 'node-b', 'node-c']);
  });

  it('after Redis restarts, requests and broadcasts flow again (the bus subscribes again by itself)', async () => {
    const [a, b] = [await node('node-a'), await node('node-b')];
    expect((await a.bus.request('node-b', 'ping', { sentAt: 1 })).nodeId).toBe('node-b');
    await redis.down();
    await until(() => !a.link.up && !b.link.up);
    expect((await failure(a.bus.request('node-b', 'ping', { sentAt: 2 }))).code).toBe('CLUSTER_UNAVAILABLE');
    // The sender's own listeners still hear a broadcast while Redis is away; the others cannot.
    const heard: string[] = [];
    a.bus.on('token.revoked', ({ userId }) => heard.push(`a:${userId}`));
    b.bus.on('token.revoked', ({ userId }) => heard.push(`b:${userId}`));
    expect((await failure(a.bus.broadcast('token.revoked', { userId: 't1', minimumVersion: 1 }))).code).toBe(
      'CLUSTER_UNAVAILABLE',
    );
    expect(heard).toEqual(['a:t1']);
    await redis.up();
    await until(async () => {
      try {
        return (await a.bus.request('node-b', 'ping', { sentAt: 3 })).nodeId === 'node-b';
      } catch {
        return false;
      }
    });
    await until(async () => {
      await a.bus.broadcast('token.revoked', { userId: 't2', minimumVersion: 1 }).catch(() => undefined);
      return heard.includes('b:t2');
    });
  });
});
