import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryLimiterFactory } from '../../src/cluster/limiter.js';
import { startClusterNode, type ClusterNode } from '../support/cluster-node.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

describe('cluster: shared limiter', () => {
  let redis: RedisServer;
  const nodes: ClusterNode[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.close()));
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('clustered: one limit across processes (RateLimiterRedis), blocked everywhere once exceeded', async () => {
    const [a, b] = [await startClusterNode(redis.url, 'node-a'), await startClusterNode(redis.url, 'node-b')];
    nodes.push(a, b);
    expect(a.limiters.shared).toBe(true);
    const opts = { name: 'admin-auth-failures', points: 5, durationS: 60, blockDurationS: 60 };
    const [la, lb] = [a.limiters.create(opts), b.limiters.create(opts)];
    const results = [];
    for (let i = 0; i < 3; i++) results.push((await la.consume('10.0.0.1')).allowed);
    for (let i = 0; i < 2; i++) results.push((await lb.consume('10.0.0.1')).allowed);
    expect(results).toEqual([true, true, true, true, true]);
    const sixth = await la.consume('10.0.0.1');
    expect(sixth.allowed).toBe(false);
    expect(sixth.msBeforeNext).toBeGreaterThan(50_000);
    expect((await lb.consume('10.0.0.1')).allowed).toBe(false);
    expect(await lb.peek('10.0.0.1')).toMatchObject({ consumedPoints: expect.any(Number) });
    // Other keys and other limiter names are counted apart.
    expect((await lb.consume('10.0.0.2')).allowed).toBe(true);
    expect((await b.limiters.create({ ...opts, name: 'other' }).consume('10.0.0.1')).allowed).toBe(true);
    await la.reset('10.0.0.1');
    expect((await lb.consume('10.0.0.1')).allowed).toBe(true);
  });

  it('clustered with Redis away: each process still limits, in memory, and nothing throws', async () => {
    const a = await startClusterNode(redis.url, 'node-a');
    nodes.push(a);
    const limiter = a.limiters.create({ name: 'messages', points: 2, durationS: 60 });
    await redis.down();
    try {
      const seen = [];
      for (let i = 0; i < 3; i++) seen.push((await limiter.consume('sender')).allowed);
      expect(seen).toEqual([true, true, false]);
    } finally {
      await redis.up();
    }
  });

  it('single process: the same interface in memory, each instance counting on its own', async () => {
    const factory = new MemoryLimiterFactory();
    expect(factory.shared).toBe(false);
    const [x, y] = [
      factory.create({ name: 'n', points: 1, durationS: 60 }),
      factory.create({ name: 'n', points: 1, durationS: 60 }),
    ];
    expect((await x.consume('k')).allowed).toBe(true);
    expect((await x.consume('k')).allowed).toBe(false);
    expect((await y.consume('k')).allowed).toBe(true);
    expect(await x.peek('other')).toBeNull();
  });
});
