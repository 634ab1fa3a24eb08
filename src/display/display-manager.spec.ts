import { Logger } from '@nestjs/common';
import type { WebSocket } from 'ws';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { AppConnections } from '../app-connections/app-connections.js';
import type { AppConfig } from '../config/config.types.js';
import type { AppRecord, AppType } from '../persistence/persistence.types.js';
import { SessionContext } from '../session-core/session-context.js';
import { SubscriptionManager } from '../subscriptions/subscription-manager.js';
import { DisplayManager } from './display-manager.js';
import type { DisplayOutcome, DisplayRequest, ViewName } from './display.types.js';
import { appRecord as fixtureApp } from '../../test/support/app-record.js';
import { T0, useFakeClock } from '../../test/support/fake-clock.js';
import { FakeSocket } from '../../test/support/fake-socket.js';

const DASH = 'system.augmentos.dashboard';
const CLEAR = { packageName: DASH, view: 'main', layout: { layoutType: 'text_wall', text: '' }, durationMs: 0 };

type Sent = Record<string, any>;

interface DisplayOpts {
  view?: ViewName;
  durationMs?: number;
  forceDisplay?: boolean;
}

const appRecord = (packageName: string, appType: AppType, name: string): AppRecord =>
  fixtureApp(packageName, { appType, name });

function harness() {
  const ctx = new SessionContext({ userId: 'user@example.com' });
  const glasses = new FakeSocket();
  ctx.attachGlasses(glasses.ws, false);
  const config = {
    systemDashboardPackage: DASH,
    emptySubscriptionGraceMs: 0,
    maxLanguageStreamsPerSession: 4,
  } as AppConfig;
  const connections = new AppConnections(ctx);
  const subscriptions = new SubscriptionManager(ctx, config);
  const dm = new DisplayManager(ctx, connections, config);

  const h = {
    ctx,
    connections,
    subscriptions,
    dm,
    get sent() {
      return glasses.json;
    },
    /** Messages sent so far, then forgets them. */
    take(): Sent[] {
      return glasses.take();
    },
    /** AppManager's part: the runtime exists (loading) and `appStarting` fires (boot screen). */
    start(pkg: string, appType: AppType = 'background', name = pkg) {
      const app = appRecord(pkg, appType, name);
      const rt = connections.create(app);
      ctx.emit('appStarting', { packageName: pkg, app });
      return rt;
    },
    /** The app's socket is acked. */
    running(pkg: string) {
      connections.get(pkg)!.state = 'running';
    },
    /** Starts an app, marks it running and lets its boot screen end; forgets the frames. */
    launch(pkg: string, appType: AppType = 'background', name = pkg) {
      h.start(pkg, appType, name);
      h.running(pkg);
      vi.advanceTimersByTime(1_500);
      h.take();
    },
    stop(pkg: string) {
      connections.delete(pkg);
      ctx.emit('appStopped', { packageName: pkg, reason: 'user_disabled' });
    },
    display(pkg: string, text: string, opts: DisplayOpts = {}): DisplayOutcome {
      const request: DisplayRequest = {
        type: 'display_event',
        packageName: pkg,
        view: opts.view ?? 'main',
        layout: { layoutType: 'text_wall', text },
        ...(opts.durationMs !== undefined ? { durationMs: opts.durationMs } : {}),
        ...(opts.forceDisplay ? { forceDisplay: true } : {}),
        timestamp: new Date().toISOString(),
      };
      return dm.handleDisplayRequest(request);
    },
    /** Texts of the main-view frames sent so far (forgets them). */
    mainTexts(): string[] {
      return h
        .take()
        .filter((m) => m.view === 'main')
        .map((m) =>
          m.layout.layoutType === 'reference_card'
            ? `[boot] ${m.layout.title}: ${m.layout.text}`
            : String(m.layout.text),
        );
    },
    /** Advances the clock to `ms` after T0. */
    at(ms: number) {
      const now = Date.now() - T0;
      if (ms < now) throw new Error(`clock is already at ${now}`);
      vi.advanceTimersByTime(ms - now);
    },
    onScreen(): string | null {
      const m = dm.currentMain;
      return m ? String(m.layout.text) : null;
    },
    lastDecision() {
      return dm.describe().recent.at(-1)!;
    },
  };
  return h;
}

describe('DisplayManager', () => {
  beforeAll(() => Logger.overrideLogger(false));
  useFakeClock(T0);

  describe('who may display', () => {
    it('only running apps and the system dashboard package may display; others are rejected', () => {
      const h = harness();
      h.start('com.bg');
      vi.advanceTimersByTime(1_500);
      h.take();
      // loading (not yet acked): rejected
      expect(h.display('com.bg', 'too early')).toBe('rejected');
      expect(h.lastDecision()).toMatchObject({
        packageName: 'com.bg',
        outcome: 'rejected',
        reason: expect.stringMatching(/not running/),
      });
      // never started: rejected, in either view
      expect(h.display('com.unknown', 'hi')).toBe('rejected');
      expect(h.display('com.unknown', 'hi', { view: 'dashboard' })).toBe('rejected');
      expect(h.take()).toEqual([]);
      // the dashboard package is never in the app table and still displays
      expect(h.display(DASH, 'system')).toBe('shown');
      expect(h.take()).toMatchObject([{ packageName: DASH, view: 'main', layout: { text: 'system' } }]);
      // once running the same app displays
      h.running('com.bg');
      vi.advanceTimersByTime(300);
      expect(h.display('com.bg', 'now')).toBe('shown');
      expect(h.mainTexts()).toEqual(['now']);
    });
  });

  describe('views', () => {
    it('dashboard-view requests never replace the main view and are never throttled', () => {
      const h = harness();
      h.launch('com.main', 'standard');
      expect(h.display('com.main', 'main text')).toBe('shown');
      vi.advanceTimersByTime(300);
      for (let i = 0; i < 3; i++) {
        vi.advanceTimersByTime(10);
        expect(h.display('com.main', `dash ${i}`, { view: 'dashboard' })).toBe('shown');
      }
      expect(h.take().map((m) => [m.view, m.layout.text])).toEqual([
        ['main', 'main text'],
        ['dashboard', 'dash 0'],
        ['dashboard', 'dash 1'],
        ['dashboard', 'dash 2'],
      ]);
      expect(h.onScreen()).toBe('main text');
      expect(h.dm.describe().dashboard?.layout.text).toBe('dash 2');
      // the dashboard frames do not count for the main view's throttle
      expect(h.display('com.main', 'second main')).toBe('shown');
      vi.advanceTimersByTime(10);
      expect(h.display('com.main', 'third main')).toBe('throttled');
      expect(h.dm.describe().dashboard?.layout.text).toBe('dash 2');
    });
  });

  describe('boot screen', () => {
    it('shows a reference_card from the dashboard package naming the app, "Apps" with two', () => {
      const h = harness();
      h.start('com.a', 'standard', 'Captions');
      expect(h.take()).toEqual([
        {
          type: 'display_event',
          packageName: DASH,
          view: 'main',
          layout: { layoutType: 'reference_card', title: '// MentraOS - Starting App', text: 'Captions' },
          timestamp: expect.any(String),
        },
      ]);
      vi.advanceTimersByTime(100);
      h.start('com.b', 'background', 'Notes');
      expect(h.take()).toMatchObject([
        {
          packageName: DASH,
          layout: { layoutType: 'reference_card', title: '// MentraOS - Starting Apps', text: 'Captions, Notes' },
        },
      ]);
      expect(h.dm.describe().mainApp).toBe('com.a');
    });

    it('the dashboard app itself gets no boot screen', () => {
      const h = harness();
      h.start(DASH, 'system_dashboard');
      expect(h.take()).toEqual([]);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('queues displays during boot (newest per app) and shows the main app first when the last boot ends', () => {
      const h = harness();
      h.start('com.main', 'standard');
      h.at(100);
      h.start('com.bg');
      h.running('com.main');
      h.running('com.bg');
      h.take();
      expect(h.display('com.bg', 'bg 1')).toBe('queued_boot');
      expect(h.display('com.main', 'main 1')).toBe('queued_boot');
      expect(h.display('com.main', 'main 2')).toBe('queued_boot');
      expect(h.lastDecision()).toMatchObject({ outcome: 'queued_boot', reason: expect.any(String) });
      h.at(1_500); // com.main's boot ends, com.bg still boots
      expect(h.mainTexts().filter((t) => !t.startsWith('[boot]'))).toEqual([]);
      h.at(1_599);
      expect(h.mainTexts().filter((t) => !t.startsWith('[boot]'))).toEqual([]);
      h.at(1_600);
      expect(h.mainTexts()).toEqual(['main 2']);
      expect(h.onScreen()).toBe('main 2');
      // the rest of the queue is dropped, visibly
      vi.advanceTimersByTime(5_000);
      expect(h.mainTexts()).toEqual([]);
      expect(h.dm.describe().recent.some((d) => d.packageName === 'com.bg' && d.outcome === 'rejected')).toBe(true);
    });

    it('restores the previous display after boot when nothing was queued', () => {
      const h = harness();
      h.launch('com.main', 'standard');
      h.display('com.main', 'persistent');
      h.take();
      h.at(10_000);
      h.start('com.bg');
      h.running('com.bg');
      expect(h.mainTexts()).toEqual(['[boot] // MentraOS - Starting App: com.bg']);
      h.at(11_500);
      expect(h.mainTexts()).toEqual(['persistent']);
      expect(h.onScreen()).toBe('persistent');
    });

    it("restores a background app's persistent display after boot, even once its lock has lapsed", () => {
      const h = harness();
      h.launch('com.b');
      h.at(10_000);
      h.display('com.b', 'b');
      h.at(11_000);
      h.start('com.c');
      h.running('com.c');
      h.take();
      h.at(12_500); // b idle for 2.5 s: no lock, but its display was on screen when the boot began
      expect(h.mainTexts()).toEqual(['b']);
      expect(h.lastDecision()).toMatchObject({
        packageName: 'com.b',
        outcome: 'shown',
        reason: expect.stringMatching(/before boot/),
      });
    });

    it('clears the view after boot when there is nothing to restore', () => {
      const h = harness();
      h.start('com.bg');
      h.take();
      vi.advanceTimersByTime(1_500);
      expect(h.take()).toEqual([expect.objectContaining(CLEAR)]);
      expect(h.dm.currentMain).toBeNull();
    });

    it('a display saved by an earlier boot is not restored by a later one', () => {
      const h = harness();
      h.launch('com.main', 'standard');
      h.at(2_000);
      h.display('com.main', 'old');
      h.at(3_000);
      h.start('com.bg'); // saves "old"
      h.running('com.bg');
      h.display('com.bg', 'popup', { durationMs: 1_000 }); // queued, shown at boot end instead of "old"
      h.at(5_500); // popup over: the main app's display comes back
      h.at(6_000);
      h.display('com.main', 'newer');
      h.display(DASH, 'system notice'); // a system frame is on screen when the next boot starts
      h.at(7_000);
      h.start('com.other');
      h.running('com.other');
      h.take();
      h.at(8_500);
      expect(h.mainTexts()).toEqual(['newer']);
    });
  });

  describe('throttle', () => {
    it('defers a second frame within 300 ms; the newest per app is sent at 300 ms', () => {
      const h = harness();
      h.launch('com.main', 'standard');
      h.at(10_000);
      expect(h.display('com.main', 'one')).toBe('shown');
      h.at(10_100);
      expect(h.display('com.main', 'two')).toBe('throttled');
      h.at(10_200);
      expect(h.display('com.main', 'three')).toBe('throttled');
      expect(h.lastDecision()).toMatchObject({ outcome: 'throttled', reason: expect.stringMatching(/300 ms/) });
      h.at(10_299);
      expect(h.mainTexts()).toEqual(['one']);
      h.at(10_300);
      expect(h.mainTexts()).toEqual(['three']);
      vi.advanceTimersByTime(2_000);
      expect(h.mainTexts()).toEqual([]);
    });

    it('forceDisplay bypasses the throttle, and an older deferred frame of the same app never overwrites it', () => {
      const h = harness();
      h.launch('com.main', 'standard');
      h.at(10_000);
      h.display('com.main', 'one');
      h.at(10_050);
      expect(h.display('com.main', 'two')).toBe('throttled');
      h.at(10_100);
      expect(h.display('com.main', 'forced', { forceDisplay: true })).toBe('shown');
      expect(h.mainTexts()).toEqual(['one', 'forced']);
      vi.advanceTimersByTime(1_000);
      expect(h.mainTexts()).toEqual([]);
      expect(h.onScreen()).toBe('forced');
    });

    it('the deferred send re-checks ownership: a background app that lost the race for the lock is not shown', () => {
      const h = harness();
      h.launch('com.main', 'standard');
      h.launch('com.b');
      h.launch('com.c');
      h.at(10_000);
      h.display('com.main', 'main');
      h.at(10_100);
      expect(h.display('com.b', 'b')).toBe('throttled');
      h.at(10_150);
      expect(h.display('com.c', 'c')).toBe('throttled');
      h.at(10_300); // oldest first: b takes the lock
      expect(h.mainTexts()).toEqual(['main', 'b']);
      expect(h.dm.describe().lockHolder).toBe('com.b');
      h.at(11_000);
      expect(h.mainTexts()).toEqual([]);
      expect(
        h.dm
          .describe()
          .recent.filter((d) => d.packageName === 'com.c')
          .map((d) => d.outcome),
      ).toEqual(['throttled', 'rejected']);
    });

    it('the deferred send re-checks ownership when another app took the lock with forceDisplay meanwhile', () => {
      const h = harness();
      h.launch('com.main', 'standard');
      h.launch('com.b');
      h.launch('com.c');
      h.at(10_000);
      h.display('com.main', 'main');
      h.at(10_100);
      expect(h.display('com.b', 'b')).toBe('throttled');
      h.at(10_150);
      expect(h.display('com.c', 'c', { forceDisplay: true })).toBe('shown');
      h.at(10_500);
      expect(h.mainTexts()).toEqual(['main', 'c']);
      expect(h.dm.describe().recent.at(-1)).toMatchObject({
        packageName: 'com.b',
        outcome: 'rejected',
        reason: expect.stringMatching(/com\.c holds/),
      });
    });

    it('two deferred frames of different apps keep the 300 ms gap even after one was sent early', () => {
      const h = harness();
      h.launch('com.main', 'standard');
      h.launch('com.b');
      h.at(10_000);
      h.display('com.main', 'm1', { durationMs: 100 });
      h.at(10_050);
      expect(h.display('com.main', 'm2')).toBe('throttled');
      h.at(10_060);
      expect(h.display('com.b', 'b1')).toBe('throttled');
      h.at(10_100); // m1 expires: the oldest deferred frame goes out at once
      expect(h.mainTexts()).toEqual(['m1', 'm2']);
      h.at(10_399); // the original deferral deadline (10 300) passed, but m2 went out at 10 100
      expect(h.mainTexts()).toEqual([]);
      h.at(10_400);
      expect(h.mainTexts()).toEqual(['b1']);
    });
  });

  describe('background lock', () => {
    it('a background app takes a 10 s lock and another background app is rejected while it is alive', () => {
      const h = harness();
      h.launch('com.b');
      h.launch('com.c');
      h.at(10_000);
      expect(h.display('com.b', 'b')).toBe('shown');
      expect(h.dm.describe().lockHolder).toBe('com.b');
      h.at(10_500);
      expect(h.display('com.c', 'c')).toBe('rejected');
      expect(h.lastDecision()).toMatchObject({ outcome: 'rejected', reason: 'com.b holds the display lock' });
      expect(h.mainTexts()).toEqual(['b']);
    });

    it('the lock is released after 2 s without a display from the holder', () => {
      const h = harness();
      h.launch('com.b');
      h.launch('com.c');
      h.at(10_000);
      h.display('com.b', 'b');
      h.at(11_500);
      h.display('com.b', 'b again'); // keeps the lock active
      h.at(13_500);
      expect(h.display('com.c', 'c')).toBe('rejected'); // 2000 ms after b's last display: still alive
      h.at(13_501);
      expect(h.display('com.c', 'c')).toBe('shown');
      expect(h.dm.describe().lockHolder).toBe('com.c');
    });

    it('the lock is released after 10 s even while the holder keeps displaying', () => {
      const h = harness();
      h.launch('com.b');
      h.launch('com.c');
      h.at(10_000);
      for (let t = 10_000; t < 20_000; t += 1_000) {
        h.at(t);
        expect(h.display('com.b', `b ${t}`)).toBe('shown');
      }
      h.at(19_999);
      expect(h.display('com.c', 'c')).toBe('rejected');
      h.at(20_000);
      expect(h.display('com.c', 'c')).toBe('shown');
      expect(h.dm.describe().lockHolder).toBe('com.c');
    });

    it('the lock is released when the holder stops', () => {
      const h = harness();
      h.launch('com.b');
      h.launch('com.c');
      h.at(10_000);
      h.display('com.b', 'b');
      h.at(10_500);
      h.stop('com.b');
      expect(h.dm.describe().lockHolder).toBeNull();
      h.at(10_800);
      expect(h.display('com.c', 'c')).toBe('shown');
    });

    it('the main app is blocked while the lock holder is on screen, remembered, and shown when the holder goes', () => {
      const h = harness();
      h.launch('com.main', 'standard');
      h.launch('com.b');
      h.at(10_000);
      h.display('com.b', 'b');
      h.at(10_500);
      expect(h.display('com.main', 'main')).toBe('blocked');
      expect(h.lastDecision().reason).toMatch(/com\.b holds the display lock/);
      expect(h.mainTexts()).toEqual(['b']);
      h.stop('com.b');
      expect(h.mainTexts()).toEqual(['main']);
    });

    it('the main app reclaims the screen when the lock holder is not on screen', () => {
      const h = harness();
      h.launch('com.main', 'standard');
      h.launch('com.b');
      h.at(10_000);
      h.display('com.b', 'b popup', { durationMs: 500 });
      h.at(10_500); // popup over; lock still alive (b idle for 500 ms only)
      h.at(10_600);
      expect(h.dm.describe().lockHolder).toBe('com.b');
      expect(h.display('com.main', 'main')).toBe('shown');
      // and the lock holder may still display over it
      h.at(11_000);
      expect(h.display('com.b', 'b again')).toBe('shown');
      expect(h.mainTexts()).toEqual(['b popup', '', 'main', 'b again']);
    });
  });

  describe('duration', () => {
    it('clears the view when a display with durationMs expires and nothing else is waiting', () => {
      const h = harness();
      h.launch('com.main', 'standard');
      h.at(10_000);
      h.display('com.main', 'timed', { durationMs: 2_000 });
      h.at(11_999);
      expect(h.mainTexts()).toEqual(['timed']);
      h.at(12_000);
      expect(h.take()).toEqual([expect.objectContaining(CLEAR)]);
    });

    it("better than upstream: the main app's persistent display comes back after a background app's timed display", () => {
      const h = harness();
      h.launch('com.main', 'standard');
      h.launch('com.b');
      h.at(10_000);
      h.display('com.main', 'persistent');
      h.at(15_000);
      expect(h.display('com.b', 'popup', { durationMs: 3_000 })).toBe('shown');
      h.at(17_999);
      expect(h.mainTexts()).toEqual(['persistent', 'popup']);
      h.at(18_000);
      expect(h.mainTexts()).toEqual(['persistent']);
      expect(h.lastDecision()).toMatchObject({
        packageName: 'com.main',
        outcome: 'shown',
        reason: expect.stringMatching(/restored/),
      });
    });

    it('a restored display keeps its own expiry (it does not get a fresh duration)', () => {
      const h = harness();
      h.launch('com.main', 'standard');
      h.launch('com.b');
      h.at(10_000);
      h.display('com.main', 'main 5s', { durationMs: 5_000 });
      h.at(11_000);
      h.display('com.b', 'popup', { durationMs: 2_000 });
      h.at(13_000);
      expect(h.mainTexts()).toEqual(['main 5s', 'popup', 'main 5s']);
      h.at(14_999);
      expect(h.mainTexts()).toEqual([]);
      h.at(15_000);
      expect(h.take()).toEqual([expect.objectContaining(CLEAR)]);
    });

    it('an expired display is not restored', () => {
      const h = harness();
      h.launch('com.main', 'standard');
      h.launch('com.b');
      h.at(10_000);
      h.display('com.main', 'main 2s', { durationMs: 2_000 });
      h.at(11_000);
      h.display('com.b', 'popup', { durationMs: 3_000 });
      h.at(14_000);
      expect(h.mainTexts()).toEqual(['main 2s', 'popup', '']);
    });
  });

  describe('what shows next', () => {
    it('1. the boot screen while apps are booting', () => {
      const h = harness();
      h.start('com.bg', 'background', 'Notes');
      h.take();
      h.at(100);
      h.display(DASH, 'system notice', { durationMs: 300 });
      h.at(400); // the system frame ends during boot: the boot screen comes back, nothing else
      expect(h.mainTexts()).toEqual(['system notice', '[boot] // MentraOS - Starting App: Notes']);
    });

    it('2. a deferred request before the lock holder or the main app', () => {
      const h = harness();
      h.launch('com.main', 'standard');
      h.launch('com.b');
      h.at(10_000);
      h.display('com.main', 'main');
      h.at(10_400);
      h.display('com.b', 'popup', { durationMs: 150 });
      h.at(10_450);
      expect(h.display('com.b', 'b2')).toBe('throttled');
      h.at(10_550); // popup expires: b2 goes out at once, not at 10 700
      expect(h.mainTexts()).toEqual(['main', 'popup', 'b2']);
      h.at(11_000);
      expect(h.mainTexts()).toEqual([]);
    });

    it('3. the live lock holder before the main app', () => {
      const h = harness();
      h.launch('com.main', 'standard');
      h.launch('com.b');
      h.at(10_000);
      h.display('com.b', 'b');
      h.at(10_100);
      expect(h.display('com.main', 'main')).toBe('blocked');
      h.display(DASH, 'system notice', { durationMs: 500 });
      h.at(10_600); // the lock (idle 600 ms) is alive: its holder's display comes back, not the blocked main app
      expect(h.mainTexts()).toEqual(['b', 'system notice', 'b']);
    });

    it("4. the main app's display once the lock is gone", () => {
      const h = harness();
      h.launch('com.main', 'standard');
      h.launch('com.b');
      h.at(10_000);
      h.display('com.b', 'b');
      h.at(10_100);
      expect(h.display('com.main', 'main')).toBe('blocked');
      h.display(DASH, 'system notice', { durationMs: 3_000 });
      h.at(13_100); // b idle for 3.1 s: lock gone
      expect(h.mainTexts()).toEqual(['b', 'system notice', 'main']);
    });

    it('5. otherwise a clear text_wall from the dashboard package', () => {
      const h = harness();
      h.launch('com.b');
      h.at(10_000);
      h.display('com.b', 'b', { durationMs: 1_000 });
      h.take();
      h.at(11_000);
      expect(h.take()).toEqual([expect.objectContaining({ type: 'display_event', ...CLEAR })]);
    });
  });

  describe('app stop', () => {
    it('drops its deferred request', () => {
      const h = harness();
      h.launch('com.main', 'standard');
      h.launch('com.b');
      h.at(10_000);
      h.display('com.main', 'main');
      h.at(10_100);
      expect(h.display('com.b', 'b')).toBe('throttled');
      h.stop('com.b');
      h.at(11_000);
      expect(h.mainTexts()).toEqual(['main']);
    });

    it('drops its boot-queued request', () => {
      const h = harness();
      h.start('com.main', 'standard');
      h.start('com.b');
      h.running('com.main');
      h.running('com.b');
      h.take();
      expect(h.display('com.b', 'b')).toBe('queued_boot');
      h.at(1_000);
      h.stop('com.b');
      h.take();
      h.at(1_500);
      expect(h.take()).toEqual([expect.objectContaining(CLEAR)]);
    });

    it('a booting app that stops leaves the boot screen, which names the others', () => {
      const h = harness();
      h.start('com.a', 'background', 'A');
      h.start('com.b', 'background', 'B');
      h.take();
      h.at(500);
      h.stop('com.a');
      expect(h.mainTexts()).toEqual(['[boot] // MentraOS - Starting App: B']);
      h.stop('com.b'); // the last booting app: boot ends at once
      expect(h.take()).toEqual([expect.objectContaining(CLEAR)]);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('replaces its display with what comes next', () => {
      const h = harness();
      h.launch('com.b');
      h.at(10_000);
      h.display('com.b', 'b');
      expect(h.mainTexts()).toEqual(['b']);
      h.stop('com.b');
      expect(h.take()).toEqual([expect.objectContaining(CLEAR)]);
      expect(h.dm.currentMain).toBeNull();
    });

    it('an app that is not on screen stopping changes nothing on screen', () => {
      const h = harness();
      h.launch('com.main', 'standard');
      h.launch('com.b');
      h.at(10_000);
      h.display('com.main', 'main');
      h.take();
      h.stop('com.b');
      expect(h.take()).toEqual([]);
      expect(h.onScreen()).toBe('main');
    });

    it('the main app stopping clears its remembered display', () => {
      const h = harness();
      h.launch('com.main', 'standard');
      h.launch('com.b');
      h.at(10_000);
      h.display('com.main', 'main');
      h.at(10_500);
      h.display('com.b', 'popup', { durationMs: 2_000 });
      h.at(11_000);
      h.stop('com.main');
      expect(h.dm.describe().mainApp).toBeNull();
      h.at(12_500);
      expect(h.mainTexts()).toEqual(['main', 'popup', '']);
    });
  });

  describe('reconnect', () => {
    it('re-sends the current main and dashboard views when the glasses reconnect', () => {
      const h = harness();
      h.launch('com.main', 'standard');
      h.at(10_000);
      h.display('com.main', 'main');
      h.display('com.main', 'dash', { view: 'dashboard' });
      h.take();
      h.ctx.detachGlasses(h.ctx.glasses!, 1006);
      h.at(12_000);
      expect(h.display('com.main', 'while away')).toBe('shown'); // dropped on the wire, kept as state
      const received: Sent[] = [];
      h.ctx.attachGlasses(
        { readyState: 1, send: (s: string) => received.push(JSON.parse(s)) } as unknown as WebSocket,
        true,
      );
      expect(received.map((m) => [m.view, m.layout.text])).toEqual([
        ['main', 'while away'],
        ['dashboard', 'dash'],
      ]);
    });

    it('a first connection re-sends nothing', () => {
      const h = harness();
      h.launch('com.main', 'standard');
      h.at(10_000);
      h.display('com.main', 'main');
      h.take();
      h.ctx.emit('glassesConnected', { reconnect: false });
      expect(h.take()).toEqual([]);
    });
  });

  it('records every decision with its outcome and reason', () => {
    const h = harness();
    h.start('com.main', 'standard');
    h.running('com.main');
    h.display('com.main', 'boot queued'); // queued_boot
    h.launch('com.b');
    h.at(10_000);
    h.display('com.b', 'b'); // shown (lock)
    h.display('com.b', 'b2'); // throttled
    h.display('com.main', 'main'); // blocked
    h.display('com.ghost', 'x'); // rejected
    const recent = h.dm.describe().recent;
    expect(recent.map((d) => [d.packageName, d.outcome])).toEqual([
      ['com.main', 'queued_boot'],
      ['com.main', 'shown'],
      ['com.b', 'shown'],
      ['com.b', 'throttled'],
      ['com.main', 'blocked'],
      ['com.ghost', 'rejected'],
    ]);
    for (const d of recent) {
      expect(d.reason.length).toBeGreaterThan(0);
      expect(d.view).toBe('main');
      expect(Date.parse(d.at)).not.toBeNaN();
    }
  });

  it('dispose clears every timer', async () => {
    const h = harness();
    h.launch('com.main', 'standard');
    h.at(10_000);
    h.display('com.main', 'timed', { durationMs: 60_000 }); // expiry timer
    h.display('com.main', 'deferred'); // throttle timer
    expect(vi.getTimerCount()).toBe(2);
    h.start('com.b'); // boot timer (the boot screen replaces the timed display)
    expect(vi.getTimerCount()).toBe(2);
    await h.ctx.dispose();
    expect(vi.getTimerCount()).toBe(0);
  });
});
