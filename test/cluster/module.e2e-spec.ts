import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterBus } from '../../src/cluster/cluster-bus.js';
import { LimiterFactory } from '../../src/cluster/limiter.js';
import { NodeRegistry } from '../../src/cluster/node-registry.js';
import { RedisLink } from '../../src/cluster/redis-link.js';
import { UserLeases } from '../../src/cluster/user-leases.js';
import { startCloud, type TestCloud } from '../support/cloud.js';

describe('cluster module without a Redis URL', () => {
  let cloud: TestCloud;
  beforeAll(async () => {
    cloud = await startCloud();
  });
  afterAll(async () => {
    await cloud?.close();
  });

  it('the whole service boots with none of the cluster parts: no leases, presence, bus or Redis link; limits in memory', () => {
    for (const token of [UserLeases, NodeRegistry, ClusterBus, RedisLink])
      expect(() => cloud.app.get(token as never, { strict: false }), token.name).toThrow();
    const limiters = cloud.app.get(LimiterFactory, { strict: false });
    expect(limiters.shared).toBe(false);
  });
});
