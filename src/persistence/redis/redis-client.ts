import { Logger } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';

/** How long a boot waits for Redis to answer (a compose start may bring both up together). */
export const REDIS_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Options of every store connection. A command waits through a few reconnection attempts (a Redis restart
 * with AOF takes well under a second) and then fails with an error instead of hanging, so a request that
 * needs the store fails clearly while the rest of the cloud keeps serving.
 */
export function redisClientOptions(connectionName: string): RedisOptions {
  return {
    connectionName,
    lazyConnect: true,
    enableReadyCheck: true,
    maxRetriesPerRequest: 3,
    connectTimeout: 5_000,
    commandTimeout: 10_000,
    retryStrategy: (times: number) => Math.min(100 * times, 2_000),
  };
}

/** The URL as it may be logged: no user or password. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return 'redis://(unparsable URL)';
  }
}

/**
 * Opens a connection and waits until Redis answers (loading its AOF included), up to `timeoutMs`; otherwise
 * throws an error naming the address (the boot stops with it), leaving no reconnect loop behind.
 */
export async function openRedis(
  url: string,
  connectionName: string,
  timeoutMs = REDIS_CONNECT_TIMEOUT_MS,
): Promise<Redis> {
  const client = new Redis(url, redisClientOptions(connectionName));
  let lastError: Error | undefined;
  const onError = (err: Error): void => {
    lastError = err;
  };
  client.on('error', onError);
  const ready = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    client.once('ready', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  client.connect().catch(() => undefined); // the first failure is not final: retryStrategy keeps trying
  if (!(await ready)) {
    client.disconnect();
    throw new Error(
      `cannot reach Redis at ${redactRedisUrl(url)} within ${timeoutMs} ms${lastError ? `: ${lastError.message}` : ''}`,
    );
  }
  return client;
}

/**
 * Warns when the Redis server could lose the store's data: no append-only file (a restart loses everything
 * since the last snapshot) or an eviction policy (Redis would drop records to make room). Only a warning:
 * managed services may hide INFO fields, and the operator may know better.
 */
export async function warnAboutDurability(client: Redis, where: string, logger: Pick<Logger, 'warn'>): Promise<void> {
  let info: string;
  try {
    info = `${await client.info('persistence')}\n${await client.info('memory')}`;
  } catch {
    return;
  }
  const field = (name: string): string | undefined => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  if (field('aof_enabled') === '0')
    logger.warn(
      `Redis at ${where} runs without AOF persistence (appendonly no): a Redis restart loses the store's recent writes. Run it with --appendonly yes`,
    );
  const policy = field('maxmemory_policy');
  if (policy !== undefined && policy !== 'noeviction')
    logger.warn(
      `Redis at ${where} evicts keys when full (maxmemory-policy ${policy}): stored apps and users could vanish. Use noeviction`,
    );
}
