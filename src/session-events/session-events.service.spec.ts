import { Logger } from '@nestjs/common';
import { beforeAll, describe, expect, it } from 'vitest';
import { SessionEvents } from './session-events.service.js';
import type { SessionEndedEvent, SessionEventSink } from './session-events.types.js';

const EVENT: SessionEndedEvent = {
  userId: 'u@example.com',
  startedAt: '2025-01-01T00:00:00.000Z',
  endedAt: '2025-01-01T00:01:00.000Z',
  durationMs: 60_000,
  appsUsed: ['com.a'],
  reason: 'admin',
};

function sink(name: string, behaviour: { throws?: boolean; flushFails?: boolean } = {}) {
  const got: SessionEndedEvent[] = [];
  let flushed = 0;
  const s: SessionEventSink = {
    name,
    sessionEnded: (e) => {
      if (behaviour.throws) throw new Error(`${name} is broken`);
      got.push(e);
    },
    flush: async () => {
      flushed++;
      if (behaviour.flushFails) throw new Error('unreachable');
    },
  };
  return { s, got, flushed: () => flushed };
}

describe('SessionEvents', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('gives every event to every sink; a failing sink neither throws nor keeps the others from it', () => {
    const a = sink('a');
    const broken = sink('broken', { throws: true });
    const b = sink('b');
    const events = new SessionEvents([a.s, broken.s, b.s]);
    expect(() => events.sessionEnded(EVENT)).not.toThrow();
    expect(a.got).toEqual([EVENT]);
    expect(b.got).toEqual([EVENT]);
  });

  it('flushes every sink at shutdown, even when one cannot', async () => {
    const a = sink('a', { flushFails: true });
    const b = sink('b');
    await new SessionEvents([a.s, b.s, { name: 'no-flush', sessionEnded: () => undefined }]).onApplicationShutdown();
    expect([a.flushed(), b.flushed()]).toEqual([1, 1]);
  });
});
