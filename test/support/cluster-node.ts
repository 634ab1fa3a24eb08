import { Test, type TestingModule } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterBus } from '../../src/cluster/cluster-bus.js';
import { ClusterModule } from '../../src/cluster/cluster.module.js';
import { LimiterFactory } from '../../src/cluster/limiter.js';
import { NodeRegistry } from '../../src/cluster/node-registry.js';
import { RedisLink } from '../../src/cluster/redis-link.js';
import { UserLeases } from '../../src/cluster/user-leases.js';
import type { AppConfig } from '../../src/config/config.types.js';
import { loadConfig } from '../../src/config/load-config.js';

const noop = () => undefined;
/** Lost leases and Redis outages are what these tests cause: their warnings are expected, errors still show. */
const quiet = { log: noop, warn: noop, debug: noop, verbose: noop, error: (m: unknown) => console.error(m) };

/** One process's cluster parts (ClusterModule alone, through Nest's lifecycle) on a real Redis. */
export interface ClusterNode {
  nodeId: string;
  config: AppConfig;
  leases: UserLeases;
  nodes: NodeRegistry;
  bus: ClusterBus;
  limiters: LimiterFactory;
  link: RedisLink;
  module: TestingModule;
  /** Graceful: Nest's shutdown hooks (releases leases, leaves the node list). */
  close(): Promise<void>;
  /** Like a SIGKILL: timers stop and the connections drop, nothing is released. */
  kill(): Promise<void>;
}

export async function startClusterNode(
  redisUrl: string | undefined,
  nodeId: string,
  env: Record<string, string> = {},
): Promise<ClusterNode> {
  const dataDir = await mkdtemp(join(tmpdir(), 'cluster-node-'));
  const config = {
    ...loadConfig({
      DATA_DIR: dataDir,
      AUGMENTOS_AUTH_JWT_SECRET: randomBytes(24).toString('hex'),
      ADMIN_API_KEY: randomBytes(24).toString('hex'),
      LOG_LEVEL: 'error',
      LEASE_TTL_MS: '1500',
      LEASE_RENEW_MS: '300',
      NODE_HEARTBEAT_MS: '200',
      CLUSTER_REQUEST_TIMEOUT_MS: '1000',
      CLUSTER_NODE_ID: nodeId,
      ...env,
    }),
    // Cluster mode without the Redis store: these tests exercise the cluster parts alone.
    redisUrl,
    cluster: redisUrl !== undefined,
  };
  const module = await Test.createTestingModule({ imports: [ClusterModule.forRoot(config)] })
    .setLogger(quiet)
    .compile();
  await module.init();
  let closed = false;
  const node: ClusterNode = {
    nodeId,
    config,
    leases: module.get(UserLeases),
    nodes: module.get(NodeRegistry),
    bus: module.get(ClusterBus),
    limiters: module.get(LimiterFactory),
    link: module.get(RedisLink),
    module,
    async close() {
      if (closed) return;
      closed = true;
      await module.close();
      await rm(dataDir, { recursive: true, force: true });
    },
    async kill() {
      if (closed) return;
      closed = true;
      node.leases.stop();
      node.nodes.stop();
      node.bus.stop();
      node.link.commands.disconnect();
      node.link.subscriber.disconnect();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return node;
}
