import { Logger } from '@nestjs/common';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { AppConnections } from '../app-connections/app-connections.js';
import type { AppConfig } from '../config/config.types.js';
import type { AppPermission, AppRecord } from '../persistence/persistence.types.js';
import { EventRelay } from '../relay/event-relay.js';
import { SessionContext } from '../session-core/session-context.js';
import { SubscriptionManager } from '../subscriptions/subscription-manager.js';
import { CALENDAR_CACHE_MAX, CalendarManager } from './calendar-manager.js';
import { appRecord as fixtureApp } from '../../test/support/app-record.js';
import { viaGlassesBoundary } from '../../test/support/boundary.js';
import { useFakeClock } from '../../test/support/fake-clock.js';
import { FakeSocket } from '../../test/support/fake-socket.js';

const USER = 'user@example.com';
const T0 = Date.parse('2025-06-01T12:00:00.000Z');
const HOUR = 3_600_000;
const CALENDAR: AppPermission[] = [{ type: 'CALENDAR' }];

type Sent = Record<string, any>;

const appRecord = (packageName: string, permissions: AppPermission[]): AppRecord =>
  fixtureApp(packageName, { permissions });

function harness() {
  const ctx = new SessionContext({ userId: USER });
  ctx.attachGlasses(new FakeSocket().ws, false);
  const config = {
    systemDashboardPackage: 'system.dash',
    emptySubscriptionGraceMs: 0,
    maxLanguageStreamsPerSession: 4,
  } as AppConfig;
  const connections = new AppConnections(ctx);
  const subscriptions = new SubscriptionManager(ctx, config);
  const relay = new EventRelay(ctx, subscriptions, connections);
  const calendar = new CalendarManager(ctx, relay);
  return {
    ctx,
    calendar,
    subscriptions,
    app(pkg: string, permissions: AppPermission[] = CALENDAR): Sent[] {
      const rt = connections.create(appRecord(pkg, permissions));
      rt.state = 'running';
      const socket = new FakeSocket();
      rt.ws = socket.ws;
      const sent = socket.json;
      subscriptions.registerApp(pkg, permissions);
      return sent;
    },
    /** A calendar_event from the phone; times are ms offsets from now (T0). */
    event(eventId: string, startOffset: number, endOffset = startOffset + HOUR, extra: Record<string, unknown> = {}) {
      viaGlassesBoundary(
        {
          type: 'calendar_event',
          eventId,
          title: `title ${eventId}`,
          dtStart: new Date(T0 + startOffset).toISOString(),
          dtEnd: new Date(T0 + endOffset).toISOString(),
          timezone: 'UTC',
          ...extra,
        },
        (m) => calendar.handleEvent(m),
      );
    },
    /** Subscribes the app to calendar_event and returns the events replayed to it, in order. */
    replayTo(pkg: string, sent: Sent[]): Sent[] {
      subscriptions.update(pkg, ['calendar_event']);
      return sent.filter((m) => m.type === 'data_stream' && m.streamType === 'calendar_event').map((m) => m.data);
    },
  };
}

describe('CalendarManager', () => {
  beforeAll(() => Logger.overrideLogger(false));
  useFakeClock(T0);

  it('keeps at most 100 events, the soonest upcoming ones', () => {
    const h = harness();
    expect(CALENDAR_CACHE_MAX).toBe(100);
    // Inserted latest first, so keeping the first 100 received would be wrong.
    for (let i = 149; i >= 0; i--) h.event(`e${i}`, (i + 1) * HOUR);
    expect(h.calendar.size).toBe(100);
    const replayed = h.replayTo('com.cal', h.app('com.cal'));
    expect(replayed.map((e) => e.eventId)).toEqual(Array.from({ length: 100 }, (_, i) => `e${i}`));
  });

  it('keeps present and future events before past ones; of the past, the most recent', () => {
    const h = harness();
    // 80 past events (ended 1..80 h ago), one under way, 39 future ones: 120 in all.
    for (let i = 1; i <= 80; i++) h.event(`past${i}`, -i * HOUR - HOUR, -i * HOUR);
    h.event('now', -30 * 60_000, 30 * 60_000);
    for (let i = 1; i <= 39; i++) h.event(`future${i}`, i * HOUR);
    expect(h.calendar.size).toBe(100);
    const ids = h.replayTo('com.cal', h.app('com.cal')).map((e) => e.eventId);
    expect(ids.slice(0, 40)).toEqual(['now', ...Array.from({ length: 39 }, (_, i) => `future${i + 1}`)]);
    expect(ids.slice(40)).toEqual(Array.from({ length: 60 }, (_, i) => `past${i + 1}`));
  });

  it('an event that started but has not ended counts as present, not past', () => {
    const h = harness();
    h.event('meeting', -2 * HOUR, 2 * HOUR);
    for (let i = 1; i <= 100; i++) h.event(`old${i}`, -i * HOUR, -i * HOUR + 60_000);
    expect(h.calendar.size).toBe(100);
    const ids = h.replayTo('com.cal', h.app('com.cal')).map((e) => e.eventId);
    expect(ids[0]).toBe('meeting');
    expect(ids).not.toContain('old100');
  });

  it('what is past is judged at each insertion (time moves on)', () => {
    const h = harness();
    h.event('soon', HOUR, 2 * HOUR);
    vi.advanceTimersByTime(3 * HOUR);
    // Now 'soon' is over: 100 future events push it out.
    for (let i = 1; i <= 100; i++) h.event(`f${i}`, 3 * HOUR + i * 60_000);
    const ids = h.replayTo('com.cal', h.app('com.cal')).map((e) => e.eventId);
    expect(ids).toHaveLength(100);
    expect(ids).not.toContain('soon');
  });

  it('dedupes on eventId + dtStart: the newest copy wins', () => {
    const h = harness();
    h.event('e1', HOUR, 2 * HOUR, { title: 'first' });
    h.event('e1', HOUR, 2 * HOUR, { title: 'renamed' });
    expect(h.calendar.size).toBe(1);
    // Another occurrence of a recurring event: kept apart.
    h.event('e1', 25 * HOUR, 26 * HOUR, { title: 'tomorrow' });
    expect(h.calendar.size).toBe(2);
    // The same instant written another way is the same occurrence.
    viaGlassesBoundary(
      {
        type: 'calendar_event',
        eventId: 'e1',
        title: 'epoch',
        dtStart: T0 + HOUR,
        dtEnd: T0 + 2 * HOUR,
      },
      (m) => h.calendar.handleEvent(m),
    );
    viaGlassesBoundary(
      {
        type: 'calendar_event',
        eventId: 'e1',
        title: 'short',
        dtStart: new Date(T0 + HOUR).toISOString().replace('.000Z', 'Z'),
        dtEnd: T0 + 2 * HOUR,
      },
      (m) => h.calendar.handleEvent(m),
    );
    expect(h.calendar.size).toBe(2);
    const replayed = h.replayTo('com.cal', h.app('com.cal'));
    expect(replayed.map((e) => e.title)).toEqual(['short', 'tomorrow']);
  });

  it('ignores events without an eventId', () => {
    const h = harness();
    viaGlassesBoundary(
      {
        type: 'calendar_event',
        title: 'anonymous',
        dtStart: new Date(T0).toISOString(),
      },
      (m) => h.calendar.handleEvent(m),
    );
    viaGlassesBoundary({ type: 'calendar_event', eventId: { id: 1 }, title: 'object id' }, (m) =>
      h.calendar.handleEvent(m),
    );
    expect(h.calendar.size).toBe(0);
  });

  it('events with unreadable dates are kept (keyed by the raw dtStart) and go first when the cache is full', () => {
    const h = harness();
    viaGlassesBoundary(
      {
        type: 'calendar_event',
        eventId: 'odd',
        title: 'odd',
        dtStart: 'x',
        dtEnd: 'y',
      },
      (m) => h.calendar.handleEvent(m),
    );
    viaGlassesBoundary(
      {
        type: 'calendar_event',
        eventId: 'odd',
        title: 'odd 2',
        dtStart: 'z',
        dtEnd: 'y',
      },
      (m) => h.calendar.handleEvent(m),
    );
    expect(h.calendar.size).toBe(2);
    for (let i = 1; i <= 99; i++) h.event(`f${i}`, i * HOUR);
    const ids = h.replayTo('com.cal', h.app('com.cal')).map((e) => e.title);
    expect(ids).toHaveLength(100);
    expect(ids.filter((t) => t.startsWith('odd'))).toHaveLength(1);
  });

  describe('replay', () => {
    it('goes to an app that newly subscribes to calendar_event, as data_stream calendar_event with the phone message as data', () => {
      const h = harness();
      h.event('e1', HOUR, 2 * HOUR, { title: 'Standup' });
      const sent = h.app('com.cal');
      h.subscriptions.update('com.cal', ['calendar_event']);
      expect(sent).toEqual([
        expect.objectContaining({
          type: 'data_stream',
          sessionId: `${USER}-com.cal`,
          streamType: 'calendar_event',
          data: expect.objectContaining({ type: 'calendar_event', eventId: 'e1', title: 'Standup', timezone: 'UTC' }),
        }),
      ]);
    });

    it('does not go again to an app that was already subscribed', () => {
      const h = harness();
      h.event('e1', HOUR);
      const sent = h.app('com.cal');
      h.subscriptions.update('com.cal', ['calendar_event']);
      expect(sent).toHaveLength(1);
      h.event('e2', 2 * HOUR);
      h.subscriptions.update('com.cal', ['calendar_event', 'button_press']);
      h.subscriptions.update('com.cal', ['calendar_event']);
      expect(sent).toHaveLength(1);
    });

    it('goes to each app that subscribes, and again after an app unsubscribed and subscribed anew', () => {
      const h = harness();
      h.event('e1', HOUR);
      const a = h.app('com.a');
      const b = h.app('com.b');
      h.subscriptions.update('com.a', ['calendar_event']);
      h.subscriptions.update('com.b', ['calendar_event']);
      expect(a).toHaveLength(1);
      expect(b).toHaveLength(1);
      h.subscriptions.update('com.a', ['button_press']);
      h.subscriptions.update('com.a', ['calendar_event']);
      expect(a).toHaveLength(2);
      expect(b).toHaveLength(1);
    });

    it('does not go to an app without the CALENDAR permission, nor to other subscriptions', () => {
      const h = harness();
      h.event('e1', HOUR);
      const noPerm = h.app('com.noperm', []);
      const other = h.app('com.other');
      h.subscriptions.update('com.noperm', ['calendar_event']);
      h.subscriptions.update('com.other', ['button_press']);
      expect(noPerm).toEqual([]);
      expect(other).toEqual([]);
    });

    it('sends nothing when the cache is empty', () => {
      const h = harness();
      const sent = h.app('com.cal');
      h.subscriptions.update('com.cal', ['calendar_event']);
      expect(sent).toEqual([]);
    });
  });

  it('dispose empties the cache and leaves no timers', async () => {
    const h = harness();
    h.event('e1', HOUR);
    await h.ctx.dispose();
    expect(h.calendar.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
