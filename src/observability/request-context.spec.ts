import { describe, expect, it } from 'vitest';
import {
  currentContext,
  newId,
  requestIdFrom,
  requestIdHeaders,
  runExtended,
  runWithContext,
} from './request-context.js';

describe('request context', () => {
  it('keeps a plain incoming x-request-id and replaces anything odd with a fresh id', () => {
    expect(requestIdFrom('abc-123_X.y:z')).toBe('abc-123_X.y:z');
    expect(requestIdFrom(['first', 'second'])).toBe('first');
    for (const bad of [undefined, '', 'has space', 'line\nbreak', '{"json":1}', 'x'.repeat(129)]) {
      expect(requestIdFrom(bad)).toMatch(/^req-[0-9a-f]{12}$/);
    }
    expect(newId('g')).not.toBe(newId('g'));
  });

  it('carries the context across awaits and timers, and only inside run', async () => {
    expect(currentContext()).toBeUndefined();
    expect(requestIdHeaders()).toEqual({});
    const seen = await runWithContext({ reqId: 'r1' }, async () => {
      await new Promise((r) => setTimeout(r, 2));
      return { ctx: currentContext(), headers: requestIdHeaders() };
    });
    expect(seen.ctx).toEqual({ reqId: 'r1' });
    expect(seen.headers).toEqual({ 'x-request-id': 'r1' });
    expect(currentContext()).toBeUndefined();
  });

  it('runExtended adds to the current context (or starts one) without changing the outer one', () => {
    runWithContext({ reqId: 'outer' }, () => {
      runExtended({ startId: 's1' }, () => expect(currentContext()).toEqual({ reqId: 'outer', startId: 's1' }));
      expect(currentContext()).toEqual({ reqId: 'outer' });
    });
    runExtended({ startId: 's2' }, () =>
      expect(currentContext()).toMatchObject({ reqId: expect.stringMatching(/^req-/), startId: 's2' }),
    );
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
