import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.factory.js';
import { ClusterBus } from '../../src/cluster/cluster-bus.js';
import { LimiterFactory } from '../../src/cluster/limiter.js';
import { NodeRegistry } from '../../src/cluster/node-registry.js';
import { RedisLink } from '../../src/cluster/redis-link.js';
import { UserLeases } from '../../src/cluster/user-leases.js';
import { loadConfig } from '../../src/config/load-config.js';
import { freePort, startCloud, type TestCloud } from '../support/cloud.js';
import { startClusterNode } from '../support/cluster-node.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

describe('cluster module in the whole service', () => {
  let cloud: TestCloud;
  let redis: RedisServer;
  beforeAll(async () => {
    cloud = await startCloud();
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await cloud?.close();
    await redis?.stop();
  });

  it('without a Redis URL none of the cluster parts exist (no leases, presence, bus or connection); limits stay in memory', () => {
    for (const token of [UserLeases, NodeRegistry, ClusterBus, RedisLink])
      expect(() => cloud.app.get(token as never, { strict: false }), token.name).toThrow();
    expect(cloud.app.get(LimiterFactory, { strict: false }).shared).toBe(false);
  });

  it('with one, the service registers as a node at boot, shares its limiters, and leaves the node list and its leases on close', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'cluster-app-'));
    const port = await freePort();
    const config = {
      ...loadConfig({
        PORT: String(port),
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        LOG_LEVEL: 'error',
        AUGMENTOS_AUTH_JWT_SECRET: randomBytes(24).toString('hex'),
        ADMIN_API_KEY: randomBytes(24).toString('hex'),
        CLUSTER_NODE_ID: 'whole-service',
        REDIS_URL: redis.url,
        STORE: 'redis',
      }),
    };
    const observer = await startClusterNode(redis.url, 'observer');
    const app = await createApp(config);
    try {
      await app.listen(port, '127.0.0.1');
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
      expect(app.get(LimiterFactory, { strict: false }).shared).toBe(true);
      const leases = app.get(UserLeases, { strict: false });
      expect((await leases.acquire('owned@example.com')).ok).toBe(true);
      await app.get(NodeRegistry, { strict: false }).heartbeat(); // rather than wait NODE_HEARTBEAT_MS
      const listed = await observer.nodes.list();
      expect(listed.map((n) => n.nodeId)).toEqual(['observer', 'whole-service']);
      expect(listed[1]).toMatchObject({ pid: process.pid, health: 'ok', leaseCount: 1 });
      expect((await observer.bus.request('whole-service', 'ping', { sentAt: 5 })).nodeId).toBe('whole-service');
      await app.close();
      expect((await observer.nodes.list()).map((n) => n.nodeId)).toEqual(['observer']);
      expect(await observer.leases.owner('owned@example.com')).toBeNull();
    } finally {
      await app.close().catch(() => undefined);
      await observer.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
