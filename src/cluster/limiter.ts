import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { CloudError, errorMessage } from '../common/cloud-error.js';
import { KEYS } from './keys.js';

export interface LimitDecision {
  allowed: boolean;
  consumedPoints: number;
  remainingPoints: number;
  /** Until the window (or the block) ends. */
  msBeforeNext: number;
}

/** A per-key counter over a window: the one interface every per-client limit uses, clustered or not. */
export interface Limiter {
  /** Counts `points` against `key`; `allowed: false` (never a throw) past the limit or while blocked. */
  consume(key: string, points?: number): Promise<LimitDecision>;
  /** The key's count without consuming; null when it has none in the current window. */
  peek(key: string): Promise<{ consumedPoints: number; msBeforeNext: number } | null>;
  reset(key: string): Promise<void>;
}

export interface LimiterOptions {
  /** Limiters with the same name share their counters across the cluster. */
  name: string;
  points: number;
  durationS: number;
  /** Once over the limit, the key stays refused this long. */
  blockDurationS?: number;
}

/**
 * Makes limiters: in memory for one process, in Redis (rate-limiter-flexible's RateLimiterRedis) when
 * clustered, so a client cannot multiply a limit by the number of processes. Abstract so it doubles as the
 * injection token.
 */
export abstract class LimiterFactory {
  /** True when the counters are shared by every process. */
  abstract readonly shared: boolean;
  abstract create(options: LimiterOptions): Limiter;
}

export class MemoryLimiterFactory extends LimiterFactory {
  readonly shared = false;

  create(o: LimiterOptions): Limiter {
    return new FlexibleLimiter(
      new RateLimiterMemory({ points: o.points, duration: o.durationS, blockDuration: o.blockDurationS ?? 0 }),
    );
  }
}

export class RedisLimiterFactory extends LimiterFactory {
  readonly shared = true;

  constructor(private readonly redis: Redis) {
    super();
  }

  /** While Redis is away each process counts in memory (the insurance limiter) instead of letting all through. */
  create(o: LimiterOptions): Limiter {
    const common = { points: o.points, duration: o.durationS, blockDuration: o.blockDurationS ?? 0 };
    return new FlexibleLimiter(
      new RateLimiterRedis({
        ...common,
        storeClient: this.redis,
        keyPrefix: KEYS.limiterPrefix(o.name),
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory(common),
      }),
    );
  }
}

class FlexibleLimiter implements Limiter {
  constructor(private readonly inner: RateLimiterAbstract) {}

  async consume(key: string, points = 1): Promise<LimitDecision> {
    try {
      return decision(true, await this.inner.consume(key, points));
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return decision(false, rejection);
      throw new CloudError('CLUSTER_UNAVAILABLE', `the rate limiter's store failed: ${errorMessage(rejection)}`);
    }
  }

  async peek(key: string): Promise<{ consumedPoints: number; msBeforeNext: number } | null> {
    const res = await this.inner.get(key);
    return res ? { consumedPoints: res.consumedPoints, msBeforeNext: res.msBeforeNext } : null;
  }

  async reset(key: string): Promise<void> {
    await this.inner.delete(key);
  }
}

function decision(allowed: boolean, res: RateLimiterRes): LimitDecision {
  return {
    allowed,
    consumedPoints: res.consumedPoints,
    remainingPoints: res.remainingPoints,
    msBeforeNext: res.msBeforeNext,
  };
}
