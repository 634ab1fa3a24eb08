import { describe, expect, it } from 'vitest';
import { currentContext, newId, requestIdFrom, runWithContext } from './request-context.js';

describe('request context', () => {
  it('keeps a plain incoming x-request-id and replaces anything odd with a fresh id', () => {
    expect(requestIdFrom('abc-123_X.y:z')).toBe('abc-123_X.y:z');
    expect(requestIdFrom(['first', 'second'])).toBe('first');
    for (const bad of [undefined, '', 'has space', 'line\nbreak', '{"json":1}', 'x'.repeat(129)]) {
      expect(requestIdFrom(bad)).toMatch(/^req-[0-9a-f]{12}$/);
    }
  });

  it('makes distinct 48-bit ids, also past the first batch of random bytes', () => {
    const ids = Array.from({ length: 1000 }, () => newId('g'));
    for (const id of ids) expect(id).toMatch(/^g-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('is the current context while run is running, restores the outer one after, even when fn throws', () => {
    expect(currentContext()).toBeUndefined();
    runWithContext({ reqId: 'outer' }, () => {
      expect(currentContext()).toEqual({ reqId: 'outer' });
      runWithContext({ reqId: 'inner', startId: 's1' }, () =>
        expect(currentContext()).toEqual({ reqId: 'inner', startId: 's1' }),
      );
      expect(currentContext()).toEqual({ reqId: 'outer' });
      expect(() =>
        runWithContext({ reqId: 'thrown' }, () => {
          throw new Error('boom');
        }),
      ).toThrow('boom');
      expect(currentContext()).toEqual({ reqId: 'outer' });
    });
    expect(currentContext()).toBeUndefined();
  });

  it('covers the synchronous part only: after an await the work runs outside it (long work carries ids itself)', async () => {
    const seen = await runWithContext({ reqId: 'r1' }, async () => {
      const before = currentContext();
      await new Promise((r) => setTimeout(r, 2));
      return { before, after: currentContext() };
    });
    expect(seen.before).toEqual({ reqId: 'r1' });
    expect(seen.after).toBeUndefined();
  });

  it('passes arguments through without a closure', () => {
    expect(
      runWithContext(
        { reqId: 'r' },
        (a: number, b: number) => a + b + (currentContext()?.reqId === 'r' ? 100 : 0),
        1,
        2,
      ),
    ).toBe(103);
  });
});
