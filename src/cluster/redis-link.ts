import { Logger } from '@nestjs/common';
import type { Redis, RedisOptions } from 'ioredis';

type Listener = () => void;

/**
 * The two Redis connections of a cluster process (commands, and one in subscriber mode for the bus) and whether
 * Redis answers. Commands fail at once while Redis is away (no offline queue): callers keep serving from memory
 * and retry on their next period; the connections reconnect on their own, and `onUp` listeners re-take state.
 */
export class RedisLink {
  private readonly logger = new Logger('Cluster');
  private readonly upListeners = new Set<Listener>();
  private readonly downListeners = new Set<Listener>();
  private wasUp: boolean;
  private closing = false;

  constructor(
    readonly commands: Redis,
    readonly subscriber: Redis,
  ) {
    this.wasUp = commands.status === 'ready';
    commands.on('ready', () => this.transition(true));
    commands.on('close', () => this.transition(false));
    // Without a listener ioredis prints every failed reconnect attempt as an unhandled error.
    commands.on('error', () => undefined);
    subscriber.on('error', () => undefined);
  }

  get up(): boolean {
    return this.commands.status === 'ready';
  }

  onUp(listener: Listener): void {
    this.upListeners.add(listener);
  }

  onDown(listener: Listener): void {
    this.downListeners.add(listener);
  }

  private transition(up: boolean): void {
    if (up === this.wasUp || this.closing) return;
    this.wasUp = up;
    if (up) this.logger.log('Redis is reachable again');
    else this.logger.warn('Redis is unreachable: serving the sessions this process holds, cluster state degraded');
    for (const l of up ? this.upListeners : this.downListeners) {
      try {
        l();
      } catch (err) {
        this.logger.error(`a Redis ${up ? 'up' : 'down'} listener failed: ${(err as Error).message}`);
      }
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    const end = async (c: Redis) => {
      if (c.status !== 'ready') return c.disconnect();
      await c.quit().catch(() => c.disconnect());
    };
    await Promise.all([end(this.commands), end(this.subscriber)]);
  }
}

/** ioredis is loaded here only, on first use, so a process without REDIS_URL never loads it. */
export async function openRedisLink(url: string, nodeId: string, bootWaitMs = 3_000): Promise<RedisLink> {
  const { Redis } = await import('ioredis');
  const options: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    // Reconnect for ever, quickly at first and then every second.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), 1_000),
    lazyConnect: true,
  };
  const commands = new Redis(url, { ...options, connectionName: `cluster:${nodeId}`, commandTimeout: 2_000 });
  const subscriber = new Redis(url, { ...options, connectionName: `cluster-bus:${nodeId}` });
  const link = new RedisLink(commands, subscriber);
  // Boot does not wait for Redis for ever: a process that starts while Redis is away comes up degraded.
  const connect = (c: Redis) =>
    Promise.race([c.connect().catch(() => undefined), new Promise((r) => setTimeout(r, bootWaitMs).unref())]);
  await Promise.all([connect(commands), connect(subscriber)]);
  return link;
}
