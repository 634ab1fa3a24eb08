import type { Limiter, LimiterFactory } from '../cluster/limiter.js';
import type { FailureLimiter } from './limiter.types.js';

/**
 * A FailureLimiter over a LimiterFactory limiter: in memory on one process, in Redis when clustered, so a client
 * gets one budget whichever process nginx sends it to.
 */
export class FactoryFailureLimiter implements FailureLimiter {
  private constructor(
    private readonly limiter: Limiter,
    private readonly points: number,
  ) {}

  static create(factory: LimiterFactory, name: string, failuresPerWindow: number, windowS: number): FailureLimiter {
    if (failuresPerWindow <= 0) return NO_FAILURE_LIMIT;
    return new FactoryFailureLimiter(
      factory.create({ name, points: failuresPerWindow, durationS: windowS }),
      failuresPerWindow,
    );
  }

  async blockedForMs(key: string): Promise<number> {
    const seen = await this.limiter.peek(key);
    return seen && seen.consumedPoints >= this.points ? Math.max(1, seen.msBeforeNext) : 0;
  }

  async recordFailure(key: string): Promise<void> {
    await this.limiter.consume(key);
  }
}

const NO_FAILURE_LIMIT: FailureLimiter = {
  blockedForMs: () => Promise.resolve(0),
  recordFailure: () => Promise.resolve(),
};

/** What @nestjs/throttler asks its storage (ThrottlerStorage), over LimiterFactory limiters. */
export interface ThrottlerRecord {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
}

/**
 * @nestjs/throttler's storage on LimiterFactory: the per-address limits of public routes (text to speech) count
 * once for the whole cluster instead of once per process. Times are in seconds, as the throttler's own storage
 * gives them.
 */
export class LimiterThrottlerStorage {
  private readonly limiters = new Map<string, Limiter>();

  constructor(
    private readonly factory: LimiterFactory,
    private readonly name: string,
  ) {}

  async increment(
    key: string,
    ttlMs: number,
    limit: number,
    blockDurationMs: number,
    throttlerName: string,
  ): Promise<ThrottlerRecord> {
    const id = `${throttlerName}:${ttlMs}:${limit}:${blockDurationMs}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      limiter = this.factory.create({
        name: `${this.name}:${throttlerName}`,
        points: limit,
        durationS: Math.max(1, Math.ceil(ttlMs / 1000)),
        blockDurationS: Math.ceil(blockDurationMs / 1000),
      });
      this.limiters.set(id, limiter);
    }
    const d = await limiter.consume(key);
    const seconds = Math.max(1, Math.ceil(d.msBeforeNext / 1000));
    return {
      totalHits: d.consumedPoints,
      timeToExpire: seconds,
      isBlocked: !d.allowed,
      timeToBlockExpire: d.allowed ? 0 : seconds,
    };
  }
}
