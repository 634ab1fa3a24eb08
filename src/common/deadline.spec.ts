import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { deadline } from './deadline.js';

describe('deadline', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('aborts with a TimeoutError after the limit and says it timed out', () => {
    const d = deadline(1000);
    vi.advanceTimersByTime(999);
    expect(d.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(d.signal.aborted).toBe(true);
    expect(d.timedOut).toBe(true);
    expect((d.signal.reason as DOMException).name).toBe('TimeoutError');
  });

  it('follows any parent, with the parent reason, and is not a timeout then', () => {
    const a = new AbortController();
    const b = new AbortController();
    const d = deadline(1000, a.signal, undefined, b.signal);
    b.abort('caller cancelled');
    expect(d.signal.aborted).toBe(true);
    expect(d.signal.reason).toBe('caller cancelled');
    expect(d.timedOut).toBe(false);
    // Once aborted it lets go of its timer and of the other parent.
    expect(vi.getTimerCount()).toBe(0);
    expect(getEventListeners(a.signal, 'abort')).toHaveLength(0);
  });

  it('an already aborted parent aborts it at once', () => {
    const a = new AbortController();
    a.abort('gone');
    const d = deadline(1000, a.signal);
    expect(d.signal.aborted).toBe(true);
    expect(d.signal.reason).toBe('gone');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('dispose leaves no timer and no listener on a long-lived parent (what AbortSignal.timeout/any kept)', () => {
    const session = new AbortController();
    for (let i = 0; i < 100; i++) deadline(40_000, session.signal).dispose();
    expect(vi.getTimerCount()).toBe(0);
    expect(getEventListeners(session.signal, 'abort')).toHaveLength(0);
    session.abort();
  });

  it('a disposed deadline never fires', () => {
    const d = deadline(10);
    d.dispose();
    vi.advanceTimersByTime(100);
    expect(d.signal.aborted).toBe(false);
    expect(d.timedOut).toBe(false);
  });
});
