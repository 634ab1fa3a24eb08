import { RateLimiterMemory, type RateLimiterAbstract, type RateLimiterRes } from 'rate-limiter-flexible';
import type { ConcurrencyLimiter, FailureLimiter } from './limiter.types.js';

/** A FailureLimiter over any rate-limiter-flexible limiter (memory here; its Redis limiter has the same API). */
export class RateLimiterFailures implements FailureLimiter {
  constructor(private readonly limiter: RateLimiterAbstract) {}

  static inMemory(failuresPerWindow: number, windowS: number): FailureLimiter {
    if (failuresPerWindow <= 0) return NO_FAILURE_LIMIT;
    return new RateLimiterFailures(new RateLimiterMemory({ points: failuresPerWindow, duration: windowS }));
  }

  async blockedForMs(key: string): Promise<number> {
    const seen = await this.limiter.get(key);
    return seen && seen.consumedPoints >= this.limiter.points ? Math.max(1, seen.msBeforeNext) : 0;
  }

  async recordFailure(key: string): Promise<void> {
    // Rejects (with the limiter's state) when the key is over its budget: that is the limit, not an error.
    await this.limiter.consume(key).catch((res: RateLimiterRes | Error) => {
      if (res instanceof Error) throw res;
    });
  }
}

const NO_FAILURE_LIMIT: FailureLimiter = {
  blockedForMs: () => Promise.resolve(0),
  recordFailure: () => Promise.resolve(),
};

/** Counts per key in one Map; a key is deleted when its count returns to 0, so idle addresses cost nothing. */
export class MemoryConcurrencyLimiter implements ConcurrencyLimiter {
  private readonly held = new Map<string, number>();

  tryAcquire(key: string, max: number): Promise<boolean> {
    const n = this.held.get(key) ?? 0;
    if (n >= max) return Promise.resolve(false);
    this.held.set(key, n + 1);
    return Promise.resolve(true);
  }

  release(key: string): Promise<void> {
    const n = this.held.get(key) ?? 0;
    if (n <= 1) this.held.delete(key);
    else this.held.set(key, n - 1);
    return Promise.resolve();
  }

  /** Keys holding at least one slot (for tests and diagnostics). */
  get keys(): number {
    return this.held.size;
  }
}
