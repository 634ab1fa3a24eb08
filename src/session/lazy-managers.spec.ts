import { Scope } from '@nestjs/common';
import { PARAMTYPES_METADATA } from '@nestjs/common/constants.js';
import type { ModuleRef, ModulesContainer } from '@nestjs/core';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CalendarManager } from '../calendar/calendar-manager.js';
import { PhotoManager } from '../photo/photo-manager.js';
import { SessionContext } from '../session-core/session-context.js';
import { ManagedStreamingManager } from '../streaming/managed-streaming-manager.js';
import { VideoManager } from '../streaming/video-manager.js';
import { SubscriptionManager } from '../subscriptions/subscription-manager.js';
import { TranslationManager } from '../translation/translation-manager.js';
import { LazyManagerBuilder } from './lazy-manager.builder.js';
import { LAZY_MANAGERS, type LazyName } from './lazy-managers.js';
import type { UserSession } from './user-session.js';
import { startCloud, type TestCloud } from '../../test/support/cloud.js';

const LAZY = Object.values(LAZY_MANAGERS) as unknown[];
const NAMES = Object.keys(LAZY_MANAGERS) as LazyName[];

/**
 * Every manager registers its cleanup with its SessionContext when it is constructed: the `defer` calls made on
 * one session's context list the managers built in that context, and whether the session had ended by then.
 */
function constructions() {
  const made: Array<{ ctx: SessionContext; type: unknown; instance: unknown; afterEnd: boolean }> = [];
  const defer = SessionContext.prototype.defer;
  vi.spyOn(SessionContext.prototype, 'defer').mockImplementation(function (this: SessionContext, fn, self) {
    made.push({ ctx: this, type: (self as object)?.constructor, instance: self, afterEnd: this.isDisposed });
    return defer.call(this, fn, self);
  });
  return {
    of: (session: UserSession, type?: unknown) =>
      made.filter((m) => m.ctx === session.ctx && (type === undefined || m.type === type)),
  };
}

describe('managers built on first use (LAZY_MANAGERS)', () => {
  let cloud: TestCloud;
  let n = 0;
  const open = async () => (await cloud.registry.open(`lazy${n++}@example.com`)).session;

  beforeAll(async () => {
    cloud = await startCloud();
  });
  afterAll(async () => {
    await cloud.close();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('a new session builds the managers every session needs and none of the lazy ones', async () => {
    const made = constructions();
    const session = await open();
    const types = made.of(session).map((m) => m.type);
    expect(types).toContain(SubscriptionManager);
    expect(types.filter((t) => LAZY.includes(t))).toEqual([]);
    for (const name of NAMES) expect(session.built(name), name).toBeUndefined();
  });

  it("the first use builds the manager once, inside the user's context (its SessionContext, connections, device)", async () => {
    const made = constructions();
    const session = await open();
    const photo = await session.use('photo');
    expect(photo).toBeInstanceOf(PhotoManager);
    expect(made.of(session, PhotoManager)).toHaveLength(1);
    const injected = photo as unknown as Record<string, unknown>;
    expect(injected.ctx).toBe(session.ctx);
    expect(injected.connections).toBe(session.connections);
    expect(injected.device).toBe(session.device);
    expect(session.built('photo')).toBe(photo);
    expect(await session.use('photo')).toBe(photo);
    expect(made.of(session, PhotoManager)).toHaveLength(1);
    // Another user's session has its own.
    const other = await open();
    expect(await other.use('photo')).not.toBe(photo);
    expect(((await other.use('photo')) as unknown as Record<string, unknown>).ctx).toBe(other.ctx);
  });

  it('concurrent first uses share one build; a manager injecting another lazy one gets the one the session has', async () => {
    const made = constructions();
    const session = await open();
    const [a, managed, b] = await Promise.all([
      session.use('video'),
      session.use('managedStreaming'),
      session.use('video'),
    ]);
    expect(a).toBe(b);
    expect(made.of(session, VideoManager)).toHaveLength(1);
    expect(made.of(session, ManagedStreamingManager)).toHaveLength(1);
    expect((managed as unknown as { video: unknown }).video).toBe(a);
    expect(session.built('video')).toBe(a);
  });

  it('answers messages waiting for one build in the order they came', async () => {
    const session = await open();
    const order: number[] = [];
    expect(session.building('calendar')).toBe(false);
    const waits = [1, 2, 3].map((i) => session.use('calendar').then(() => order.push(i)));
    expect(session.building('calendar')).toBe(true);
    expect(session.built('calendar')).toBeUndefined();
    await Promise.all(waits);
    expect(order).toEqual([1, 2, 3]);
    expect(session.building('calendar')).toBe(false);
    expect(session.built('calendar')).toBeInstanceOf(CalendarManager);
  });

  it('disposes a lazy manager with its session, and one whose build was still pending when the session ended', async () => {
    const made = constructions();
    // Private methods: spied through a structural view of the prototype.
    const disposePhoto = vi.spyOn(PhotoManager.prototype as unknown as { dispose(): void }, 'dispose');
    const disposeCalendar = vi.spyOn(CalendarManager.prototype as unknown as { dispose(): void }, 'dispose');
    const userId = `lazy${n}@example.com`;
    const session = await open();
    const photo = await session.use('photo');
    const calendar = session.use('calendar'); // still pending when the session ends just below
    expect(await cloud.registry.end(userId, 'shutdown')).toBe(true);
    expect(disposePhoto.mock.contexts).toEqual([photo]);
    const late = await calendar;
    expect(made.of(session, CalendarManager)).toEqual([expect.objectContaining({ instance: late, afterEnd: true })]);
    await vi.waitFor(() => expect(disposeCalendar.mock.contexts).toEqual([late]));
  });

  it('the admin summary reports an unbuilt manager in its empty state without building it', async () => {
    const session = await open();
    const summary = session.summary();
    expect(summary.translation).toEqual({ streams: [], textTranslation: [], errors: 0, lastError: null });
    expect(summary.media).toEqual({ pendingPhotos: 0, stream: null });
    for (const name of NAMES) expect(session.built(name), name).toBeUndefined();
  });

  it('a translation subscription builds the translation manager, which then follows the subscriptions', async () => {
    const session = await open();
    const reconcile = vi.spyOn(TranslationManager.prototype, 'reconcile');
    session.ctx.emit('subscriptionsChanged', { packageName: 'com.example.a', added: ['transcription:en-US'] });
    expect(session.building('translation')).toBe(false);
    session.ctx.emit('subscriptionsChanged', { packageName: 'com.example.a', added: ['translation:es-ES-to-en-US'] });
    expect(session.building('translation')).toBe(true);
    await vi.waitFor(() => expect(session.built('translation')).toBeInstanceOf(TranslationManager));
    // It reconciled with the change that built it, and hears the next ones itself.
    await vi.waitFor(() => expect(reconcile).toHaveBeenCalledTimes(1));
    session.ctx.emit('subscriptionsChanged', { packageName: 'com.example.b', added: ['translation:all-to-fr-FR'] });
    expect(reconcile).toHaveBeenCalledTimes(2);
  });
});

describe('LazyManagerBuilder start-up check', () => {
  /** One request-scoped wrapper per class, as Nest's module container lists them. */
  const container = (types: unknown[]) =>
    new Map([
      [
        'm',
        {
          providers: new Map(
            types.map((token) => [token, { token, isDependencyTreeStatic: () => false, scope: Scope.REQUEST }]),
          ),
        },
      ],
    ]) as unknown as ModulesContainer;

  it('refuses a lazy manager that injects a request-scoped provider the session neither builds nor builds lazily', () => {
    class Stray {}
    const params = Reflect.getMetadata(PARAMTYPES_METADATA, CalendarManager) as unknown[];
    Reflect.defineMetadata(PARAMTYPES_METADATA, [SessionContext, Stray], CalendarManager);
    try {
      const builder = new LazyManagerBuilder({} as ModuleRef, container([SessionContext, Stray, CalendarManager]));
      expect(() => builder.onModuleInit()).toThrow(/CalendarManager .* injects Stray/);
    } finally {
      Reflect.defineMetadata(PARAMTYPES_METADATA, params, CalendarManager);
    }
  });
});
