import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { openRedis, redactRedisUrl, warnAboutDurability } from './redis-client.js';

/** The store's one Redis connection: opened (and checked) before the app starts, closed at shutdown. */
export class RedisStoreConnection implements OnApplicationShutdown {
  private static readonly logger = new Logger('RedisStore');

  private constructor(
    readonly client: Redis,
    /** Address for messages, without credentials. */
    readonly where: string,
  ) {}

  static async open(url: string): Promise<RedisStoreConnection> {
    const where = redactRedisUrl(url);
    const client = await openRedis(url, 'mentra-store');
    // ioredis reports every failed reconnection as an 'error' event; one line per outage is enough.
    let down = false;
    client.on('error', (err: Error) => {
      if (!down) RedisStoreConnection.logger.warn(`Redis store at ${where} unreachable: ${err.message}`);
      down = true;
    });
    client.on('ready', () => {
      if (down) RedisStoreConnection.logger.log(`Redis store at ${where} reachable again`);
      down = false;
    });
    await warnAboutDurability(client, where, RedisStoreConnection.logger);
    return new RedisStoreConnection(client, where);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.client.status === 'end') return;
    // QUIT lets pending replies arrive; a Redis that is down gets no say in how long shutdown takes.
    await Promise.race([
      this.client.quit().catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, 1_000).unref()),
    ]);
    this.client.disconnect();
  }
}
