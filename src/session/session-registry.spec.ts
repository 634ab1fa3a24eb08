import { Logger } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { AppConfig } from '../config/config.types.js';
import type { SessionEvents } from '../session-events/session-events.service.js';
import type { SessionEndedEvent } from '../session-events/session-events.types.js';
import { SessionContext, type SessionPayload } from '../session-core/session-context.js';
import { SessionRegistry } from './session-registry.js';
import type { UserSession } from './user-session.js';
import { T0, useFakeClock } from '../../test/support/fake-clock.js';
import { FakeSocket } from '../../test/support/fake-socket.js';

const GRACE_MS = 60_000;
const USER = 'user@example.com';

/**
 * The registry with a stand-in for the DI container: each resolve builds a real SessionContext (the part the
 * registry reads and disposes) under a session that only reports the apps it used.
 */
function harness() {
  const built: SessionContext[] = [];
  let payload: SessionPayload | null = null;
  const moduleRef = {
    registerRequestByContextId: (p: SessionPayload) => void (payload = p),
    resolve: async () => {
      const ctx = new SessionContext(payload!);
      built.push(ctx);
      return {
        ctx,
        apps: { appsUsed: () => ['com.example.a'] },
        dispose: () => ctx.dispose(),
      } as unknown as UserSession;
    },
  } as unknown as ModuleRef;
  const ended: SessionEndedEvent[] = [];
  const events = { sessionEnded: (e: SessionEndedEvent) => ended.push(e) } as unknown as SessionEvents;
  const registry = new SessionRegistry(moduleRef, { glassesGraceMs: GRACE_MS } as AppConfig, events);
  return { registry, built, ended };
}

describe('SessionRegistry', () => {
  const clock = useFakeClock();
  beforeEach(() => {
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });

  it('builds one session per user, shared by concurrent opens', async () => {
    const h = harness();
    const [a, b] = await Promise.all([h.registry.open(USER), h.registry.open(USER)]);
    expect(a.session).toBe(b.session);
    expect(h.built).toHaveLength(1);
    expect((await h.registry.open(USER)).created).toBe(false);
    expect(h.registry.size).toBe(1);
  });

  it('ends the session when the grace period after the glasses left runs out, and not before', async () => {
    const h = harness();
    const { session } = await h.registry.open(USER);
    h.registry.scheduleEnd(USER);
    await clock.advanceAsync(GRACE_MS - 1);
    expect(h.registry.get(USER)).toBe(session);
    await clock.advanceAsync(1);
    expect(h.registry.get(USER)).toBeUndefined();
    expect(session.ctx.isDisposed).toBe(true);
    expect(h.ended).toEqual([
      expect.objectContaining({ userId: USER, reason: 'glasses_disconnected', appsUsed: ['com.example.a'] }),
    ]);
  });

  it('keeps the session when the glasses came back in time (cancelEnd)', async () => {
    const h = harness();
    await h.registry.open(USER);
    h.registry.scheduleEnd(USER);
    clock.advance(GRACE_MS / 2);
    h.registry.cancelEnd(USER);
    await clock.advanceAsync(GRACE_MS * 2);
    expect(h.registry.get(USER)).toBeDefined();
    expect(h.ended).toEqual([]);
  });

  it('does not end a session whose glasses socket is open again when the grace runs out', async () => {
    const h = harness();
    const { session } = await h.registry.open(USER);
    h.registry.scheduleEnd(USER);
    session.ctx.attachGlasses(new FakeSocket().ws, false);
    await clock.advanceAsync(GRACE_MS);
    expect(h.registry.get(USER)).toBe(session);
  });

  it('restarts the grace period when the glasses leave again', async () => {
    const h = harness();
    await h.registry.open(USER);
    h.registry.scheduleEnd(USER);
    clock.advance(GRACE_MS - 10);
    h.registry.scheduleEnd(USER);
    await clock.advanceAsync(GRACE_MS - 1);
    expect(h.registry.get(USER)).toBeDefined();
    await clock.advanceAsync(1);
    expect(h.registry.get(USER)).toBeUndefined();
  });

  it('end() is idempotent, disposes the session, reports it once with its duration and clears the grace timer', async () => {
    const h = harness();
    const { session } = await h.registry.open(USER);
    h.registry.scheduleEnd(USER);
    clock.advance(5_000);
    expect(await h.registry.end(USER, 'admin')).toBe(true);
    expect(await h.registry.end(USER, 'admin')).toBe(false);
    expect(session.ctx.isDisposed).toBe(true);
    expect(h.ended).toEqual([
      expect.objectContaining({ reason: 'admin', startedAt: new Date(T0).toISOString(), durationMs: 5_000 }),
    ]);
    expect(clock.pending()).toBe(0);
  });

  it('after an end, the next open builds a fresh session', async () => {
    const h = harness();
    const first = (await h.registry.open(USER)).session;
    await h.registry.end(USER, 'admin');
    const second = await h.registry.open(USER);
    expect(second.created).toBe(true);
    expect(second.session).not.toBe(first);
  });

  it('at shutdown runs the drains first, then ends every session with reason shutdown, ignoring pending graces', async () => {
    const h = harness();
    await h.registry.open(USER);
    await h.registry.open('other@example.com');
    h.registry.scheduleEnd(USER);
    const order: string[] = [];
    h.registry.onShutdown(async () => void order.push(`drain with ${h.registry.size} sessions`));
    await h.registry.beforeApplicationShutdown();
    expect(order).toEqual(['drain with 2 sessions']);
    expect(h.registry.size).toBe(0);
    expect(h.ended.map((e) => e.reason)).toEqual(['shutdown', 'shutdown']);
    expect(clock.pending()).toBe(0);
  });
});
