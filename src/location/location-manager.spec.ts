import { Logger } from '@nestjs/common';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { AppConnections } from '../app-connections/app-connections.js';
import type { AppConfig } from '../config/config.types.js';
import type { AppPermission, AppRecord } from '../persistence/persistence.types.js';
import { EventRelay } from '../relay/event-relay.js';
import { SessionContext } from '../session-core/session-context.js';
import { SubscriptionManager } from '../subscriptions/subscription-manager.js';
import {
  LOCATION_TIERS,
  LocationManager,
  POLL_TIMEOUT_MS,
  TIER_MAX_AGE_MS,
  type LocationTier,
} from './location-manager.js';
import { appRecord as fixtureApp } from '../../test/support/app-record.js';
import { T0, useFakeClock } from '../../test/support/fake-clock.js';
import { FakeSocket } from '../../test/support/fake-socket.js';
import { viaBoundary, viaGlassesBoundary } from '../../test/support/boundary.js';
import type { SubscriptionEntry } from '../protocol/app.types.js';

const USER = 'user@example.com';
const LOCATION: AppPermission[] = [{ type: 'LOCATION' }];

type Sent = Record<string, any>;

const appRecord = (packageName: string, permissions: AppPermission[]): AppRecord =>
  fixtureApp(packageName, { permissions });

function harness() {
  const ctx = new SessionContext({ userId: USER });
  const glasses = new FakeSocket();
  ctx.attachGlasses(glasses.ws, false);
  const config = {
    systemDashboardPackage: 'system.dash',
    emptySubscriptionGraceMs: 0,
    maxLanguageStreamsPerSession: 4,
  } as AppConfig;
  const connections = new AppConnections(ctx);
  const subscriptions = new SubscriptionManager(ctx, config);
  const relay = new EventRelay(ctx, subscriptions, connections);
  const location = new LocationManager(ctx, subscriptions, relay);
  const h = {
    ctx,
    subscriptions,
    location,
    /** A running app with an open socket and the given permissions; returns what it receives. */
    app(pkg: string, permissions: AppPermission[] = LOCATION): Sent[] {
      const rt = connections.create(appRecord(pkg, permissions));
      rt.state = 'running';
      const socket = new FakeSocket();
      rt.ws = socket.ws;
      const sent = socket.json;
      subscriptions.registerApp(pkg, permissions);
      return sent;
    },
    subscribe(pkg: string, ...items: SubscriptionEntry[]) {
      return subscriptions.update(pkg, items);
    },
    take(): Sent[] {
      return glasses.take();
    },
    tiers(): string[] {
      return h
        .take()
        .filter((m) => m.type === 'set_location_tier')
        .map((m) => m.tier);
    },
    glassesAway() {
      glasses.readyState = 3;
    },
    glassesBack(reconnect = true) {
      glasses.readyState = 1;
      ctx.emit('glassesConnected', { reconnect });
    },
    /** A location_update frame from the glasses; returns whether the caller should relay it. */
    fix(lat: number, lng: number, extra: Record<string, unknown> = {}): boolean {
      // A frame that fails its check is not handled, and still relayed.
      return (
        viaGlassesBoundary({ type: 'location_update', lat, lng, ...extra }, (m) => location.handleUpdate(m)) ?? true
      );
    },
  };
  return h;
}

const dataStreams = (sent: Sent[]) => sent.filter((m) => m.type === 'data_stream');

describe('LocationManager', () => {
  beforeAll(() => Logger.overrideLogger(false));
  useFakeClock(T0);

  describe('tier', () => {
    it('is the highest rate among location_stream subscribers, sent only when it changes', () => {
      const h = harness();
      h.app('com.weather');
      h.app('com.nav');
      expect(h.location.effectiveTier).toBe('reduced');
      h.subscribe('com.weather', { stream: 'location_stream', rate: 'kilometer' });
      expect(h.tiers()).toEqual(['kilometer']);
      h.subscribe('com.nav', { stream: 'location_stream', rate: 'high' });
      expect(h.tiers()).toEqual(['high']);
      // A lower rate while a higher one stands, and a re-sent identical list: no change, nothing sent.
      h.subscribe('com.weather', { stream: 'location_stream', rate: 'hundredMeters' });
      h.subscribe('com.nav', { stream: 'location_stream', rate: 'high' });
      expect(h.tiers()).toEqual([]);
      expect(h.location.effectiveTier).toBe('high');
      h.subscribe('com.nav', 'button_press');
      expect(h.tiers()).toEqual(['hundredMeters']);
      h.subscribe('com.weather');
      expect(h.tiers()).toEqual(['reduced']);
      expect(h.location.effectiveTier).toBe('reduced');
    });

    it('follows the tier order reduced < threeKilometers < … < high < realtime', () => {
      const h = harness();
      const pkgs = LOCATION_TIERS.map((t) => `com.${t.toLowerCase()}`);
      pkgs.forEach((p) => h.app(p));
      // Subscribe from the highest down: the tier stays at realtime; then remove from the top.
      for (let i = LOCATION_TIERS.length - 1; i >= 0; i--)
        h.subscribe(pkgs[i]!, { stream: 'location_stream', rate: LOCATION_TIERS[i] });
      expect(h.tiers()).toEqual(['realtime']);
      const seen: string[] = [];
      for (let i = LOCATION_TIERS.length - 1; i >= 1; i--) {
        h.subscribe(pkgs[i]!);
        seen.push(...h.tiers());
      }
      expect(seen).toEqual([
        'high',
        'standard',
        'tenMeters',
        'hundredMeters',
        'kilometer',
        'threeKilometers',
        'reduced',
      ]);
    });

    it('counts only apps with the LOCATION permission, and ignores unknown rates', () => {
      const h = harness();
      h.app('com.noperm', []);
      h.app('com.odd');
      h.subscribe('com.noperm', { stream: 'location_stream', rate: 'realtime' });
      h.subscribe('com.odd', { stream: 'location_stream', rate: 'warp-speed' });
      expect(h.tiers()).toEqual([]);
      expect(h.location.effectiveTier).toBe('reduced');
    });

    it('a stopped subscriber no longer counts', () => {
      const h = harness();
      h.app('com.nav');
      h.subscribe('com.nav', { stream: 'location_stream', rate: 'realtime' });
      h.take();
      h.ctx.emit('appStopped', { packageName: 'com.nav', reason: 'user_disabled' });
      expect(h.tiers()).toEqual(['reduced']);
    });

    it('is sent on every glassesConnected, changed or not; a change while away is kept and sent then', () => {
      const h = harness();
      h.app('com.nav');
      h.subscribe('com.nav', { stream: 'location_stream', rate: 'standard' });
      expect(h.tiers()).toEqual(['standard']);
      h.glassesBack();
      expect(h.tiers()).toEqual(['standard']);
      h.glassesAway();
      h.subscribe('com.nav', { stream: 'location_stream', rate: 'realtime' });
      expect(h.location.effectiveTier).toBe('realtime');
      h.glassesBack();
      expect(h.tiers()).toEqual(['realtime']);
      h.ctx.emit('glassesConnected', { reconnect: false });
      expect(h.tiers()).toEqual(['realtime']);
    });
  });

  describe('polls', () => {
    it.each(LOCATION_TIERS)(
      'are answered from the cached fix while it is fresh enough for %s (boundary of its max age)',
      (tier) => {
        const h = harness();
        const app = h.app('com.poll');
        expect(h.fix(48.1, 11.5, { accuracy: 5 })).toBe(true);
        vi.advanceTimersByTime(TIER_MAX_AGE_MS[tier]);
        expect(h.location.poll('com.poll', tier, 'at-max-age')).toEqual({ ok: true, answered: 'cache' });
        expect(dataStreams(app)).toEqual([
          expect.objectContaining({
            streamType: 'location_update',
            sessionId: `${USER}-com.poll`,
            data: expect.objectContaining({
              type: 'location_update',
              lat: 48.1,
              lng: 11.5,
              accuracy: 5,
              correlationId: 'at-max-age',
              timestamp: new Date(T0).toISOString(),
            }),
          }),
        ]);
        expect(h.take()).toEqual([]);
        expect(h.location.pendingPolls).toBe(0);
        vi.advanceTimersByTime(1);
        expect(h.location.poll('com.poll', tier, 'past-max-age')).toEqual({ ok: true, answered: 'glasses' });
        expect(h.take()).toEqual([
          expect.objectContaining({ type: 'request_single_location', accuracy: tier, correlationId: 'past-max-age' }),
        ]);
        expect(dataStreams(app)).toHaveLength(1);
        expect(h.location.pendingPolls).toBe(1);
      },
    );

    it('the max ages per tier are the upstream ones', () => {
      expect(TIER_MAX_AGE_MS).toEqual({
        realtime: 1_000,
        high: 10_000,
        standard: 30_000,
        tenMeters: 30_000,
        hundredMeters: 60_000,
        kilometer: 300_000,
        threeKilometers: 900_000,
        reduced: 900_000,
      } satisfies Record<LocationTier, number>);
    });

    it('an unknown accuracy is treated as standard (30 s)', () => {
      const h = harness();
      h.app('com.poll');
      h.fix(1, 2);
      vi.advanceTimersByTime(30_000);
      expect(
        viaBoundary('location_poll_request', { accuracy: 'whatever', correlationId: 'c1' }, (m) =>
          h.location.poll('com.poll', m.accuracy, m.correlationId),
        ),
      ).toMatchObject({ answered: 'cache' });
      vi.advanceTimersByTime(1);
      expect(h.location.poll('com.poll', undefined, 'c2')).toMatchObject({ answered: 'glasses' });
      expect(h.take().at(-1)).toMatchObject({
        type: 'request_single_location',
        accuracy: 'standard',
        correlationId: 'c2',
      });
    });

    it('with no fix at all, ask the glasses', () => {
      const h = harness();
      h.app('com.poll');
      expect(h.location.poll('com.poll', 'kilometer', 'c1')).toEqual({ ok: true, answered: 'glasses' });
      expect(h.take()).toEqual([
        expect.objectContaining({
          type: 'request_single_location',
          accuracy: 'kilometer',
          correlationId: 'c1',
          timestamp: expect.any(String),
        }),
      ]);
      expect(h.location.pendingPolls).toBe(1);
    });

    it('the reply goes only to the asking app and does not replace the broadcast fix', () => {
      const h = harness();
      const asker = h.app('com.asker');
      const other = h.app('com.other');
      h.subscribe('com.other', { stream: 'location_stream', rate: 'standard' });
      h.subscribe('com.asker', { stream: 'location_stream', rate: 'standard' });
      h.fix(10, 20);
      const broadcastFix = h.location.fix;
      asker.length = 0;
      other.length = 0;
      vi.advanceTimersByTime(5_000);
      h.location.poll('com.asker', 'realtime', 'poll-1');
      // The reply: consumed (not relayed), to the asker only.
      expect(h.fix(30, 40, { accuracy: 3, correlationId: 'poll-1' })).toBe(false);
      expect(dataStreams(asker)).toEqual([
        expect.objectContaining({
          streamType: 'location_update',
          data: expect.objectContaining({
            type: 'location_update',
            lat: 30,
            lng: 40,
            accuracy: 3,
            correlationId: 'poll-1',
          }),
        }),
      ]);
      expect(other).toEqual([]);
      expect(h.location.fix).toEqual(broadcastFix);
      expect(h.location.pendingPolls).toBe(0);
      // A second reply with the same id is not a poll answer any more.
      expect(h.fix(31, 41, { correlationId: 'poll-1' })).toBe(true);
      expect(dataStreams(asker)).toHaveLength(1);
    });

    it('a location_update without a matching correlationId is the broadcast fix', () => {
      const h = harness();
      expect(h.fix(1, 2)).toBe(true);
      expect(h.location.fix).toEqual({ lat: 1, lng: 2, accuracy: undefined, at: T0 });
      expect(h.fix(3, 4, { correlationId: 'nobody-asked' })).toBe(true);
      expect(h.location.fix).toMatchObject({ lat: 3, lng: 4 });
    });

    it('a location_update without numeric coordinates changes nothing', () => {
      const h = harness();
      h.fix(1, 2);
      viaGlassesBoundary({ type: 'location_update', lat: 'north', lng: 2 }, (m) => h.location.handleUpdate(m));
      viaGlassesBoundary({ type: 'location_update', lat: Number.NaN, lng: 2 }, (m) => h.location.handleUpdate(m));
      expect(h.location.fix).toMatchObject({ lat: 1, lng: 2 });
    });

    it('expire after 15 s with an error to the asking app', () => {
      const h = harness();
      const app = h.app('com.poll');
      h.location.poll('com.poll', 'high', 'slow');
      vi.advanceTimersByTime(POLL_TIMEOUT_MS - 1);
      expect(app).toEqual([]);
      expect(h.location.pendingPolls).toBe(1);
      vi.advanceTimersByTime(1);
      expect(h.location.pendingPolls).toBe(0);
      expect(app).toEqual([
        expect.objectContaining({
          type: 'tpa_connection_error',
          details: { correlationId: 'slow' },
          message: expect.stringMatching(/15000 ms/),
        }),
      ]);
      expect(POLL_TIMEOUT_MS).toBe(15_000);
      expect(vi.getTimerCount()).toBe(0);
      // A late answer is not routed to the app as the poll's reply.
      expect(h.fix(1, 1, { correlationId: 'slow' })).toBe(true);
      expect(dataStreams(app)).toEqual([]);
    });

    it('an answered poll does not time out later', () => {
      const h = harness();
      const app = h.app('com.poll');
      h.location.poll('com.poll', 'high', 'quick');
      h.fix(1, 1, { correlationId: 'quick' });
      expect(vi.getTimerCount()).toBe(0);
      vi.advanceTimersByTime(POLL_TIMEOUT_MS * 2);
      expect(app.filter((m) => m.type === 'tpa_connection_error')).toEqual([]);
    });

    it('of a stopped app are dropped: no reply, no timeout error, no timer', () => {
      const h = harness();
      const app = h.app('com.poll');
      const other = h.app('com.other');
      h.location.poll('com.poll', 'high', 'p1');
      h.location.poll('com.other', 'high', 'p2');
      h.ctx.emit('appStopped', { packageName: 'com.poll', reason: 'user_disabled' });
      expect(h.location.pendingPolls).toBe(1);
      expect(h.fix(1, 1, { correlationId: 'p1' })).toBe(true);
      vi.advanceTimersByTime(POLL_TIMEOUT_MS);
      expect(app).toEqual([]);
      expect(other).toEqual([
        expect.objectContaining({ type: 'tpa_connection_error', details: { correlationId: 'p2' } }),
      ]);
    });

    it('with the glasses away and no fresh fix: GLASSES_NOT_CONNECTED at once, nothing pending', () => {
      const h = harness();
      const app = h.app('com.poll');
      h.glassesAway();
      expect(h.location.poll('com.poll', 'high', 'c1')).toMatchObject({ ok: false, code: 'GLASSES_NOT_CONNECTED' });
      h.fix(1, 2);
      vi.advanceTimersByTime(10_001);
      expect(h.location.poll('com.poll', 'high', 'c2')).toMatchObject({ ok: false, code: 'GLASSES_NOT_CONNECTED' });
      expect(h.location.pendingPolls).toBe(0);
      expect(vi.getTimerCount()).toBe(0);
      expect(h.take()).toEqual([]);
      expect(app).toEqual([]);
    });

    it('with the glasses away a fresh fix still answers', () => {
      const h = harness();
      const app = h.app('com.poll');
      h.fix(1, 2);
      h.glassesAway();
      expect(h.location.poll('com.poll', 'reduced', 'c1')).toEqual({ ok: true, answered: 'cache' });
      expect(dataStreams(app)).toHaveLength(1);
    });

    it('need a correlationId', () => {
      const h = harness();
      h.app('com.poll');
      for (const bad of [undefined, '', 42, 'x'.repeat(201)]) {
        expect(
          viaBoundary('location_poll_request', { accuracy: 'high', correlationId: bad }, (m) =>
            h.location.poll('com.poll', m.accuracy, m.correlationId),
          ),
        ).toMatchObject({ ok: false, code: 'MALFORMED_MESSAGE' });
      }
      expect(h.take()).toEqual([]);
    });

    it('need the LOCATION permission', () => {
      const h = harness();
      const app = h.app('com.spy', []);
      h.fix(1, 2);
      expect(h.location.poll('com.spy', 'reduced', 'c1')).toMatchObject({ ok: false, code: 'PERMISSION_DENIED' });
      expect(h.location.poll('com.spy', 'realtime', 'c2')).toMatchObject({ ok: false, code: 'PERMISSION_DENIED' });
      expect(app).toEqual([]);
      expect(h.take()).toEqual([]);
    });
  });

  describe('newly subscribed apps', () => {
    it('get the last fix, under the stream they subscribed to', () => {
      const h = harness();
      const a = h.app('com.a');
      const b = h.app('com.b');
      h.fix(5, 6, { accuracy: 7 });
      h.subscribe('com.a', { stream: 'location_stream', rate: 'standard' });
      h.subscribe('com.b', 'location_update');
      expect(dataStreams(a)).toEqual([
        expect.objectContaining({
          streamType: 'location_stream',
          data: expect.objectContaining({ type: 'location_update', lat: 5, lng: 6, accuracy: 7 }),
        }),
      ]);
      expect(dataStreams(b)).toEqual([
        expect.objectContaining({ streamType: 'location_update', data: expect.objectContaining({ lat: 5, lng: 6 }) }),
      ]);
    });

    it('apps already subscribed do not get it again; nothing is sent before a first fix', () => {
      const h = harness();
      const a = h.app('com.a');
      h.subscribe('com.a', { stream: 'location_stream', rate: 'standard' });
      expect(a).toEqual([]);
      h.fix(5, 6);
      h.subscribe('com.a', { stream: 'location_stream', rate: 'high' }, 'button_press');
      expect(a).toEqual([]);
    });

    it('without the LOCATION permission get nothing', () => {
      const h = harness();
      const a = h.app('com.a', []);
      h.fix(5, 6);
      h.subscribe('com.a', { stream: 'location_stream', rate: 'standard' }, 'location_update');
      expect(a).toEqual([]);
    });
  });

  it('dispose leaves no timers', async () => {
    const h = harness();
    h.app('com.poll');
    h.location.poll('com.poll', 'high', 'a');
    h.location.poll('com.poll', 'high', 'b');
    expect(vi.getTimerCount()).toBe(2);
    await h.ctx.dispose();
    expect(vi.getTimerCount()).toBe(0);
    expect(h.location.pendingPolls).toBe(0);
  });
});
