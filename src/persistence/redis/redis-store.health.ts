import { Inject, Injectable } from '@nestjs/common';
import { StoreHealth } from '../store-health.js';
import { RedisStoreConnection } from './redis-store.connection.js';

/** Longest a ping may take: a command otherwise waits through the reconnection attempts. */
const PING_TIMEOUT_MS = 2_000;

@Injectable()
export class RedisStoreHealth extends StoreHealth {
  readonly kind = 'redis' as const;

  constructor(@Inject(RedisStoreConnection) private readonly connection: RedisStoreConnection) {
    super();
  }

  async ping(): Promise<boolean> {
    const client = this.connection.client;
    // Not connected (reconnecting after a Redis restart, or closed): down without queueing a command.
    if (client.status !== 'ready') return false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS);
    });
    try {
      return await Promise.race([client.ping().then((reply) => reply === 'PONG'), timeout]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}
