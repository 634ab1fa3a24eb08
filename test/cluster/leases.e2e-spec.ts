import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CloudError } from '../../src/common/cloud-error.js';
import { KEYS } from '../../src/cluster/keys.js';
import type { LeaseHolder } from '../../src/cluster/user-leases.js';
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

describe('cluster: user leases on a real redis-server', () => {
  let redis: RedisServer;
  let probe: Redis;
  const nodes: ClusterNode[] = [];
  const node = async (id: string, env: Record<string, string> = {}) => {
    const n = await startClusterNode(redis.url, id, env);
    nodes.push(n);
    return n;
  };

  beforeAll(async () => {
    redis = await startRedisServer();
    probe = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    probe.on('error', () => undefined);
    await probe.connect();
  });
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.close()));
    if (redis) await probe.flushall();
  });
  afterAll(async () => {
    probe?.disconnect();
    await redis?.stop();
  });

  it('a user has one owner: set-if-absent, the others are told who holds it, tokens only grow', async () => {
    const [a, b] = [await node('node-a'), await node('node-b')];
    const first = await a.leases.acquire('alice@example.com');
    expect(first).toEqual({ ok: true, token: expect.any(Number) });
    const refused = await b.leases.acquire('alice@example.com');
    expect(refused.ok).toBe(false);
    expect((refused as { holder: LeaseHolder }).holder).toMatchObject({
      nodeId: 'node-a',
      token: (first as { token: number }).token,
    });
    expect(await b.leases.owner('alice@example.com')).toMatchObject({ nodeId: 'node-a' });
    expect(a.leases.isOwned('alice@example.com')).toBe(true);
    expect(b.leases.isOwned('alice@example.com')).toBe(false);
    // Acquiring again on the owner confirms it with the same token.
    expect(await a.leases.acquire('alice@example.com')).toEqual(first);
    const other = await b.leases.acquire('bob@example.com');
    expect(other.ok && other.token).toBeGreaterThan((first as { token: number }).token);
    // The lease has an expiry in Redis (PX), not a key that lives for ever.
    const pttl = await probe.pttl(KEYS.lease('alice@example.com'));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(1500);
  });

  it('release frees the user for another process, with a larger token; a stale release deletes nothing', async () => {
    const [a, b] = [await node('node-a'), await node('node-b')];
    const first = await a.leases.acquire('carol@example.com');
    expect(await a.leases.release('carol@example.com')).toBe(true);
    expect(a.leases.isOwned('carol@example.com')).toBe(false);
    expect(await a.leases.owner('carol@example.com')).toBeNull();
    const second = await b.leases.acquire('carol@example.com');
    expect(second.ok && first.ok && second.token > first.token).toBe(true);
    // A process that no longer owns the user cannot delete the new owner's lease.
    expect(await a.leases.release('carol@example.com')).toBe(false);
    expect(await a.leases.owner('carol@example.com')).toMatchObject({ nodeId: 'node-b' });
  });

  it('renewal keeps a lease alive for many TTLs; without it the lease expires and the old owner learns it lost the user', async () => {
    const [a, b] = [await node('node-a'), await node('node-b')];
    await a.leases.acquire('dave@example.com');
    await sleep(1500 * 3); // three TTLs: only renewals keep it
    expect(await b.leases.owner('dave@example.com')).toMatchObject({ nodeId: 'node-a' });
    expect((await b.leases.acquire('dave@example.com')).ok).toBe(false);

    const lost: Array<[string, string]> = [];
    a.leases.onLost((userId, holder) => lost.push([userId, holder.nodeId]));
    a.leases.stop(); // a stuck process: no renewal
    await until(async () => (await b.leases.acquire('dave@example.com')).ok);
    expect(b.leases.isOwned('dave@example.com')).toBe(true);
    // The stale owner's next renewal is refused: it drops the user and says so.
    const report = await a.leases.renewNow();
    expect(report).toMatchObject({ lost: 1, renewed: 0 });
    expect(lost).toEqual([['dave@example.com', 'node-b']]);
    expect(a.leases.isOwned('dave@example.com')).toBe(false);
    expect(await a.leases.owner('dave@example.com')).toMatchObject({ nodeId: 'node-b' });
  });

  it('renews every owned user in one pipeline per interval: ceil(users / 500) Lua calls, not one per user', async () => {
    const a = await node('node-a');
    const users = Array.from({ length: 1200 }, (_, i) => `user${i}@example.com`);
    await Promise.all(users.map((u) => a.leases.acquire(u)));
    expect(a.leases.count).toBe(1200);
    a.leases.stop();
    await probe.config('RESETSTAT');
    const report = await a.leases.renewNow();
    expect(report).toEqual({ renewed: 1200, retaken: 0, lost: 0 });
    const calls = (info: string) =>
      Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0) +
      Number(/cmdstat_eval:calls=(\d+)/.exec(info)?.[1] ?? 0);
    expect(calls(await probe.info('commandstats'))).toBe(3);
    // The periodic renewal does the same, once per LEASE_RENEW_MS.
    await probe.config('RESETSTAT');
    a.leases.start();
    const started = Date.now();
    await sleep(1000);
    const periods = (Date.now() - started) / 300;
    const n = calls(await probe.info('commandstats'));
    expect(n % 3).toBe(0);
    expect(n).toBeGreaterThanOrEqual(3);
    expect(n / 3).toBeLessThanOrEqual(Math.ceil(periods) + 1);
  });

  it("fencing: a stale owner's writes and renewals are refused once another process holds the user", async () => {
    const [a, b] = [await node('node-a'), await node('node-b')];
    const userId = 'erin@example.com';
    expect((await a.leases.acquire(userId)).ok).toBe(true);
    const key = 'test:running-apps:erin';
    expect(
      await a.leases.fencedWrite(userId, [
        ['SET', key, 'from-a'],
        ['SADD', `${key}:set`, 'x'],
      ]),
    ).toBe(true);
    expect(await probe.get(key)).toBe('from-a');

    a.leases.stop();
    await until(async () => (await b.leases.acquire(userId)).ok);
    expect(b.leases.token(userId)).toBeGreaterThan(0);
    expect(await b.leases.fencedWrite(userId, [['SET', key, 'from-b']])).toBe(true);
    // a still thinks it owns the user (it has not renewed yet): its write is refused by Redis, atomically.
    expect(a.leases.isOwned(userId)).toBe(true);
    expect(
      await a.leases.fencedWrite(userId, [
        ['SET', key, 'stale'],
        ['DEL', `${key}:set`],
      ]),
    ).toBe(false);
    expect(await probe.get(key)).toBe('from-b');
    expect(await probe.sismember(`${key}:set`, 'x')).toBe(1);
    // Only the listed write commands are accepted.
    await expect(b.leases.fencedWrite(userId, [['FLUSHALL' as never, key]])).rejects.toThrow(/not a fenced write/);
  });

  it('take-over replaces a named holder at once (no waiting for expiry) and is refused when the lease changed meanwhile', async () => {
    const [a, b, c] = [await node('node-a'), await node('node-b'), await node('node-c')];
    const userId = 'frank@example.com';
    const mine = await a.leases.acquire(userId);
    const holder = (await b.leases.owner(userId))!;
    const taken = await b.leases.takeOver(userId, holder);
    expect(taken.ok && mine.ok && taken.token > mine.token).toBe(true);
    // c names the holder it saw before b took over: refused, b stays.
    const late = await c.leases.takeOver(userId, holder);
    expect(late).toMatchObject({ ok: false, holder: { nodeId: 'node-b' } });
    const lost: string[] = [];
    a.leases.onLost((u) => lost.push(u));
    await a.leases.renewNow();
    expect(lost).toEqual([userId]);
    expect(a.leases.isOwned(userId)).toBe(false);
  });

  it('Redis down: the owner keeps its users and reports degraded; acquire fails clearly; when Redis is back (even empty) the leases are taken again with larger tokens', async () => {
    const a = await node('node-a');
    const users = ['gina@example.com', 'hank@example.com'];
    const before = await Promise.all(users.map((u) => a.leases.acquire(u)));
    const maxBefore = Math.max(...before.map((r) => (r.ok ? r.token : 0)));
    expect(a.nodes.self().health).toBe('ok');
    probe.disconnect();
    await redis.down();
    await until(() => !a.link.up);
    expect(users.every((u) => a.leases.isOwned(u))).toBe(true);
    await expect(a.leases.renewNow()).rejects.toThrow();
    expect(a.leases.degraded).toBe(true);
    expect(a.nodes.self().health).toBe('degraded');
    const failed = await a.leases.acquire('ivan@example.com').catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(CloudError);
    expect((failed as CloudError).code).toBe('CLUSTER_UNAVAILABLE');
    expect(users.every((u) => a.leases.isOwned(u))).toBe(true);

    // Redis comes back without its data (the worst case: the fence counter restarts too).
    await rm(join(redis.dir, 'appendonlydir'), { recursive: true, force: true });
    await redis.up();
    probe = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    probe.on('error', () => undefined);
    await until(async () => {
      const values = await Promise.all(users.map((u) => probe.get(KEYS.lease(u))));
      return values.every((v) => v !== null && v.endsWith('|node-a'));
    });
    for (const u of users) {
      const token = Number((await probe.get(KEYS.lease(u)))!.split('|')[0]);
      expect(token).toBeGreaterThan(maxBefore);
      expect(a.leases.token(u)).toBe(token);
    }
    await until(() => !a.leases.degraded);
    expect(a.nodes.self().health).toBe('ok');
  });

  it("graceful close releases every lease in one go; a killed process's leases expire after the TTL", async () => {
    const [a, b, c] = [await node('node-a'), await node('node-b'), await node('node-c')];
    await a.leases.acquire('jill@example.com');
    await b.leases.acquire('kim@example.com');
    await a.close();
    expect(await c.leases.owner('jill@example.com')).toBeNull();
    await b.kill();
    expect(await c.leases.owner('kim@example.com')).toMatchObject({ nodeId: 'node-b' });
    await until(async () => (await c.leases.owner('kim@example.com')) === null, 5_000);
  });
});
