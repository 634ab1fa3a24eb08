import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { TempTokenEntry, TempTokenStore } from '../webview-auth/temp-token.store.js';
import { SHARED_KEYS } from './shared-keys.js';

/**
 * Atomically: drop the user's expired tokens, refuse past the cap, keep the token until it expires.
 * KEYS: token, user's set. ARGV: token hash, entry JSON, expiresAt, now, maxPerUser.
 */
const ADD = `
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[4])
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return 0 end
local ttl = tonumber(ARGV[3]) - tonumber(ARGV[4])
if ttl < 1 then ttl = 1 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ttl)
return 1
`;

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * Webview temp tokens shared by every process (issued on one, exchanged on another). Only the token's hash is a
 * key; each entry expires in Redis with the token, and the user's set of tokens (for the per-user cap) with the
 * newest of them, so nothing needs sweeping.
 */
export class RedisTempTokenStore implements TempTokenStore {
  constructor(private readonly redis: Redis) {}

  async add(token: string, entry: TempTokenEntry, maxPerUser: number, now: number): Promise<boolean> {
    const h = hash(token);
    const kept = await this.redis.eval(
      ADD,
      2,
      SHARED_KEYS.tempToken(h),
      SHARED_KEYS.tempTokensOf(entry.userId),
      h,
      JSON.stringify(entry),
      String(entry.expiresAt),
      String(now),
      String(maxPerUser),
    );
    return kept === 1;
  }

  async take(token: string): Promise<TempTokenEntry | null> {
    const h = hash(token);
    const text = await this.redis.getdel(SHARED_KEYS.tempToken(h));
    if (text === null) return null;
    const entry = JSON.parse(text) as TempTokenEntry;
    await this.redis.zrem(SHARED_KEYS.tempTokensOf(entry.userId), h);
    return entry;
  }

  /** Redis expires the tokens itself. */
  sweep(): Promise<void> {
    return Promise.resolve();
  }
}
