import { afterEach, beforeEach, vi } from 'vitest';

/** The instant every fake clock starts at unless told otherwise, so logged times read the same in every spec. */
export const T0 = Date.parse('2025-01-01T00:00:00.000Z');

/** A handle on vitest's fake timers for one spec file: timers and `Date` move only when the test moves them. */
export interface FakeClock {
  /** Fires every timer due within `ms`, moving `Date.now()` with them. */
  advance(ms: number): void;
  /** As `advance`, also settling the promises those timers start (for async timer callbacks). */
  advanceAsync(ms: number): Promise<void>;
  /** Milliseconds since the clock started. */
  elapsed(): number;
  /** Timers still pending (a manager that forgets to clear one shows here). */
  pending(): number;
}

/**
 * Installs fake timers before each test of the calling file (or `describe`) and restores the real ones after, so no
 * test leaks a pending timer into the next. Spies are left to the spec (some install theirs once per file).
 */
export function useFakeClock(start = T0): FakeClock {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(start);
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  return {
    advance: (ms) => void vi.advanceTimersByTime(ms),
    advanceAsync: async (ms) => void (await vi.advanceTimersByTimeAsync(ms)),
    elapsed: () => Date.now() - start,
    pending: () => vi.getTimerCount(),
  };
}
