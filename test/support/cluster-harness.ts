import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { KEYS } from '../../src/cluster/keys.js';
import { ensureBuilt, spawnService, type Service } from '../faults/support.js';
import { freePort } from './cloud.js';
import { startNginxCluster, type NginxCluster } from './nginx-cluster.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

/** Lease, presence and bus timings short enough for a test, long enough for a loaded 2-core machine. */
export const CLUSTER_TEST_ENV = {
  LEASE_TTL_MS: '3000',
  LEASE_RENEW_MS: '1000',
  NODE_HEARTBEAT_MS: '500',
  CLUSTER_REQUEST_TIMEOUT_MS: '3000',
  // Every socket reaches the processes through nginx, from 127.0.0.1.
  APP_WS_PENDING_PER_ADDRESS: '4096',
  GLASSES_GRACE_MS: '30000',
};

export interface ClusterNodeProcess {
  index: number;
  nodeId: string;
  port: number;
  service: Service;
}

export interface ClusterHarness {
  redis: RedisServer;
  nginx: NginxCluster;
  /** Every process started, killed ones included (check `service.alive`). */
  nodes: ClusterNodeProcess[];
  /** A plain Redis client for the test's own reads (leases). */
  redisClient: Redis;
  adminKey: string;
  jwtSecret: string;
  alive(): ClusterNodeProcess[];
  token(userId: string): string;
  /** An admin call to the first live process (the store is shared, so any process answers). */
  admin<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T; text: string }>;
  /**
   * Starts one more process (node-<n>, same Redis, secrets and env) and puts it behind nginx: the config is
   * regenerated for the live processes and nginx reloaded (`nginx -s reload`), as an operator scaling out does.
   */
  addNode(): Promise<ClusterNodeProcess>;
  /** `cluster:lease:<user>` → the holder's node id (null when none). */
  leaseHolders(userIds: string[]): Promise<Array<string | null>>;
  close(): Promise<void>;
}

/**
 * A cluster as it runs for real, on loopback: redis-server (AOF, the store and the cluster's Redis), N built-dist
 * cloud processes on STORE=redis sharing one JWT secret and admin key, and nginx from the deploy template in front
 * (PUBLIC_URL is nginx's address, so webhooks hand apps the nginx URL). Needs redis-server, nginx and njs.
 */
export async function startClusterHarness(
  opts: { nodes: number; env?: Record<string, string> } = { nodes: 3 },
): Promise<ClusterHarness> {
  await ensureBuilt();
  const redis = await startRedisServer();
  const ports = await Promise.all(Array.from({ length: opts.nodes }, () => freePort()));
  const nginx = await startNginxCluster(
    ports.map((p) => `127.0.0.1:${p}`),
    2,
  );
  const adminKey = randomBytes(24).toString('hex');
  const jwtSecret = randomBytes(24).toString('hex');
  const nodes: ClusterNodeProcess[] = [];
  const redisClient = new Redis(redis.url, { maxRetriesPerRequest: 1, lazyConnect: false });
  // The Redis-restart case takes the server away on purpose; reads then fail and are retried by the test.
  redisClient.on('error', () => undefined);
  const spawnNode = (port: number, index: number) =>
    spawnService({
      port,
      adminKey,
      jwtSecret,
      env: {
        STORE: 'redis',
        REDIS_URL: redis.url,
        PUBLIC_URL: nginx.url,
        CLUSTER_NODE_ID: `node-${index}`,
        LOG_LEVEL: 'warn',
        ...CLUSTER_TEST_ENV,
        ...opts.env,
      },
    });
  try {
    const started = await Promise.all(ports.map((port, index) => spawnNode(port, index)));
    started.forEach((service, index) => nodes.push({ index, nodeId: `node-${index}`, port: ports[index]!, service }));
  } catch (err) {
    redisClient.disconnect();
    await nginx.close();
    await redis.stop();
    throw err;
  }
  const alive = () => nodes.filter((n) => n.service.alive);
  return {
    redis,
    nginx,
    nodes,
    redisClient,
    adminKey,
    jwtSecret,
    alive,
    token: (userId) => nodes[0]!.service.token(userId),
    async admin(method, path, body) {
      const node = alive()[0];
      if (!node) throw new Error('no cluster process is alive');
      const r = await node.service.admin(method, path, body);
      return { status: r.status, body: r.body, text: r.text };
    },
    async addNode() {
      const port = await freePort();
      const index = nodes.length;
      const node = { index, nodeId: `node-${index}`, port, service: await spawnNode(port, index) };
      nodes.push(node);
      await nginx.reload(alive().map((n) => `127.0.0.1:${n.port}`));
      return node;
    },
    async leaseHolders(userIds) {
      if (userIds.length === 0) return [];
      const values = await redisClient.mget(userIds.map((u) => KEYS.lease(u)));
      return values.map((v) => (v === null ? null : v.slice(v.indexOf('|') + 1)));
    },
    async close() {
      redisClient.disconnect();
      await nginx.close();
      await Promise.all(nodes.map((n) => n.service.close()));
      await redis.stop();
    },
  };
}
