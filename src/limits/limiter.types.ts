/**
 * Limiter state behind small interfaces: the memory implementations (memory-limiters.ts) serve one process; a
 * shared store (rate-limiter-flexible's Redis limiter, an INCR/DECR counter) can back the same interfaces when
 * several processes must count together.
 */

/** Failures per key (a client address) in a fixed window; a key over its budget is refused until the window ends. */
export interface FailureLimiter {
  /** Milliseconds until `key` may be tried again; 0 while it is within its budget. */
  blockedForMs(key: string): Promise<number>;
  /** Counts one failure of `key`. */
  recordFailure(key: string): Promise<void>;
}

/** How many of something a key holds at once (app sockets waiting for their init, per client address). */
export interface ConcurrencyLimiter {
  /** Takes one slot of `key`; false, and nothing taken, when it already holds `max`. */
  tryAcquire(key: string, max: number): Promise<boolean>;
  /** Gives back one slot taken by tryAcquire. */
  release(key: string): Promise<void>;
}

/** The one failed-admin-authentication limiter of the process (admin API, /metrics, admin-only routes elsewhere). */
export const ADMIN_AUTH_FAILURES = Symbol('ADMIN_AUTH_FAILURES');
/** App sockets not yet initialised, per client address. */
export const PENDING_APP_SOCKETS = Symbol('PENDING_APP_SOCKETS');
