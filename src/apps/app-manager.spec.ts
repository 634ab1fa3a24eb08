import { Logger } from '@nestjs/common';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { AppConfig } from '../config/config.types.js';
import { DeviceManager } from '../device/device-manager.js';
import type { AppRecord, AppRepository, UserRecord, UserRepository } from '../persistence/persistence.types.js';
import { SessionContext } from '../session-core/session-context.js';
import { SubscriptionManager } from '../subscriptions/subscription-manager.js';
import { AppConnections, type StartResult } from '../app-connections/app-connections.js';
import { APP_STATE_WINDOW_MS, AppManager } from './app-manager.js';
import { PendingInits } from './pending-inits.js';
import { StartSlots } from './start-slots.js';
import { WebhookError, type WebhookClient } from './webhook.client.js';
import { appRecord } from '../../test/support/app-record.js';
import { useFakeClock } from '../../test/support/fake-clock.js';
import { FakeSocket } from '../../test/support/fake-socket.js';

const USER = 'user@example.com';
const PKG = 'com.example.notes';
const INIT_TIMEOUT_MS = 5_000;
const GRACE_MS = 10_000;

interface Posted {
  url: string;
  body: Record<string, any>;
}

/**
 * AppManager over the real session parts (context, connections, subscriptions, device, pending inits); the app
 * server's webhook and the store are stand-ins that record what they were asked, so the spec decides when the app
 * answers and the fake clock decides when the deadlines pass.
 */
function harness(
  opts: {
    installed?: string[];
    maxAppsPerUser?: number;
    /** Shared by several harnesses to stand for several sessions of one process. */
    startSlots?: StartSlots;
    appStartsPerApp?: number;
    appRestoreRetries?: number;
    /** What the app's webhook answers (default 200); a thrown WebhookError stands for a failed retry window. */
    webhook?: () => void;
  } = {},
) {
  const ctx = new SessionContext({ userId: USER });
  const glasses = new FakeSocket();
  ctx.attachGlasses(glasses.ws, false);
  const config = {
    systemDashboardPackage: 'system.dash',
    appWsUrl: 'ws://cloud.invalid/app-ws',
    appInitTimeoutMs: INIT_TIMEOUT_MS,
    appGraceMs: GRACE_MS,
    maxAppsPerUser: opts.maxAppsPerUser ?? 8,
    emptySubscriptionGraceMs: 0,
    maxLanguageStreamsPerSession: 4,
    appStartsPerApp: opts.appStartsPerApp ?? 64,
    appRestoreRetries: opts.appRestoreRetries ?? 4,
  } as AppConfig;
  const records = new Map<string, AppRecord>();
  const installed = opts.installed ?? [PKG, 'com.example.other', 'com.example.third'];
  for (const pkg of installed) records.set(pkg, appRecord(pkg, { publicUrl: `http://${pkg}.invalid` }));
  const running = new Set<string>();
  const apps = { findByPackageName: async (pkg: string) => records.get(pkg) ?? null } as unknown as AppRepository;
  const users = {
    findById: async () =>
      ({
        userId: USER,
        installedApps: installed.map((packageName) => ({ packageName })),
        runningApps: [...running],
        appSettings: [],
        userSettings: {},
      }) as unknown as UserRecord,
    addRunningApp: async (_u: string, pkg: string) => void running.add(pkg),
    removeRunningApp: async (_u: string, pkg: string) => void running.delete(pkg),
  } as unknown as UserRepository;
  const sessionRequests: Posted[] = [];
  const stopRequests: Posted[] = [];
  /** What each session_request post was given: its cancel signal and the retry hook. */
  const webhookCalls: Array<{ signal: AbortSignal; shouldRetry?: () => boolean }> = [];
  const webhooks = {
    postWithRetry: async (
      url: string,
      body: object,
      signal: AbortSignal,
      hooks: { onAttempt?: () => void; shouldRetry?: () => boolean } = {},
    ) => {
      webhookCalls.push({ signal, shouldRetry: hooks.shouldRetry });
      hooks.onAttempt?.();
      sessionRequests.push({ url, body: body as Record<string, any> });
      opts.webhook?.();
      return { status: 200, attempts: 1 };
    },
    postOnce: async (url: string, body: object) => {
      stopRequests.push({ url, body: body as Record<string, any> });
      return 200;
    },
  } as unknown as WebhookClient;
  const connections = new AppConnections(ctx);
  const subscriptions = new SubscriptionManager(ctx, config);
  const device = new DeviceManager(ctx, connections);
  const pendingInits = new PendingInits();
  const startSlots = opts.startSlots ?? new StartSlots(config);
  const manager = new AppManager(
    ctx,
    config,
    connections,
    subscriptions,
    device,
    webhooks,
    apps,
    users,
    pendingInits,
    startSlots,
  );
  const stopped: Array<{ packageName: string; reason: string }> = [];
  ctx.on('appStopped', (e) => stopped.push(e));
  const h = {
    ctx,
    glasses,
    manager,
    connections,
    pendingInits,
    running,
    sessionRequests,
    stopRequests,
    webhookCalls,
    stopped,
    /** The app's socket connects and sends a valid init. */
    async connect(pkg = PKG): Promise<FakeSocket> {
      const socket = new FakeSocket();
      const outcome = await manager.handleInit(socket.ws, records.get(pkg)!, () => undefined);
      expect(outcome.ok).toBe(true);
      return socket;
    },
    /** Starts the app and lets it connect; returns its socket. */
    async launch(pkg = PKG): Promise<FakeSocket> {
      const started = manager.startApp(pkg);
      await vi.advanceTimersByTimeAsync(0);
      const socket = await h.connect(pkg);
      expect(await started).toEqual({ ok: true, packageName: pkg });
      return socket;
    },
    state: (pkg = PKG) => connections.get(pkg)?.state,
  };
  return h;
}

describe('AppManager', () => {
  const clock = useFakeClock();
  beforeEach(() => {
    for (const level of ['log', 'warn', 'error'] as const)
      vi.spyOn(Logger.prototype, level).mockImplementation(() => undefined);
  });

  describe('start', () => {
    it('an app that connects before answering its webhook: the request in flight is not aborted, no retry follows', async () => {
      const h = harness();
      await h.launch();
      const [call] = h.webhookCalls;
      // Aborting it would close the keep-alive connection the SDK answers on (a new TCP connection per start).
      expect(call!.signal.aborted).toBe(false);
      expect(call!.shouldRetry!()).toBe(false);
    });

    it('a start stopped while loading aborts its webhook request', async () => {
      const h = harness();
      const started = h.manager.startApp(PKG);
      await vi.advanceTimersByTimeAsync(0);
      await h.manager.stopApp(PKG, 'user_disabled');
      expect((await started).ok).toBe(false);
      expect(h.webhookCalls[0]!.signal.aborted).toBe(true);
    });

    it("posts a session_request to the app's webhook, then acks its init and records it as running", async () => {
      const h = harness();
      const socket = await h.launch();
      expect(h.sessionRequests).toEqual([
        {
          url: `http://${PKG}.invalid/webhook`,
          body: expect.objectContaining({ type: 'session_request', sessionId: `${USER}-${PKG}`, userId: USER }),
        },
      ]);
      expect(socket.ofType('tpa_connection_ack')).toHaveLength(1);
      expect(h.state()).toBe('running');
      expect(h.running.has(PKG)).toBe(true);
      expect(h.manager.runningApps()).toEqual([PKG]);
    });

    it("a start's burst of app list changes is one app_state_change at once and one at the end of the window", async () => {
      const h = harness();
      const states = () => h.glasses.ofType('app_state_change').length;
      const started = h.manager.startApp(PKG); // loading: sent at once
      expect(states()).toBe(1);
      await clock.advanceAsync(0);
      await h.connect(); // running: inside the window, held back
      await started;
      h.manager.notifyGlassesAppState(); // e.g. a subscription_update
      expect(states()).toBe(1);
      await clock.advanceAsync(APP_STATE_WINDOW_MS);
      expect(states()).toBe(2);
      // nothing changed during the second window: no third signal, and the next change is sent at once
      await clock.advanceAsync(APP_STATE_WINDOW_MS * 3);
      expect(states()).toBe(2);
      await h.manager.stopApp(PKG, 'user_disabled');
      expect(states()).toBe(3);
    });

    it('an app_state_change held back when the session ends is dropped with its timer', async () => {
      const h = harness();
      h.manager.notifyGlassesAppState();
      h.manager.notifyGlassesAppState();
      expect(h.glasses.ofType('app_state_change')).toHaveLength(1);
      await h.ctx.dispose();
      expect(vi.getTimerCount()).toBe(0);
      await clock.advanceAsync(APP_STATE_WINDOW_MS * 2);
      expect(h.glasses.ofType('app_state_change')).toHaveLength(1);
    });

    it('concurrent starts of one app share one attempt (one webhook)', async () => {
      const h = harness();
      const a = h.manager.startApp(PKG);
      const b = h.manager.startApp(PKG);
      await clock.advanceAsync(0);
      await h.connect();
      expect(await Promise.all([a, b])).toEqual([
        { ok: true, packageName: PKG },
        { ok: true, packageName: PKG },
      ]);
      expect(h.sessionRequests).toHaveLength(1);
    });

    it('fails at LOOKUP for an app the user has not installed, without calling it', async () => {
      const h = harness({ installed: [] });
      expect(await h.manager.startApp(PKG)).toMatchObject({ ok: false, stage: 'LOOKUP' });
      expect(h.sessionRequests).toEqual([]);
      expect(h.state()).toBeUndefined();
    });

    it('fails at LIMIT past MAX_APPS_PER_USER', async () => {
      const h = harness({ maxAppsPerUser: 1 });
      await h.launch();
      expect(await h.manager.startApp('com.example.other')).toMatchObject({ ok: false, stage: 'LIMIT' });
    });

    it('fails at TIMEOUT when the app does not connect within its init time, and tells the app to stop', async () => {
      const h = harness();
      let result: StartResult | undefined;
      void h.manager.startApp(PKG).then((r) => (result = r));
      await clock.advanceAsync(INIT_TIMEOUT_MS - 1);
      expect(result).toBeUndefined();
      expect(h.state()).toBe('loading');
      await clock.advanceAsync(1);
      expect(result).toMatchObject({ ok: false, stage: 'TIMEOUT' });
      expect(h.state()).toBeUndefined();
      expect(h.stopRequests.map((r) => r.body.type)).toEqual(['stop_request']);
      expect(h.stopped).toEqual([{ packageName: PKG, reason: 'error' }]);
    });

    it('fails at INIT_REFUSED when a refused init is not followed by a valid one, and not when it is', async () => {
      const h = harness();
      let refused: StartResult | undefined;
      void h.manager.startApp(PKG).then((r) => (refused = r));
      await clock.advanceAsync(0);
      h.pendingInits.refuse(`${USER}-${PKG}`, 'INVALID_API_KEY' as never, 'bad key');
      await clock.advanceAsync(300);
      expect(refused).toMatchObject({ ok: false, stage: 'INIT_REFUSED' });

      const started = h.manager.startApp('com.example.other');
      await clock.advanceAsync(0);
      h.pendingInits.refuse(`${USER}-com.example.other`, 'INVALID_API_KEY' as never, 'forged');
      await clock.advanceAsync(299);
      await h.connect('com.example.other');
      await clock.advanceAsync(300);
      expect(await started).toEqual({ ok: true, packageName: 'com.example.other' });
    });
  });

  describe('start slots: webhook starts of one app in flight, process-wide', () => {
    const slotsOf = (appStartsPerApp: number) => new StartSlots({ appStartsPerApp } as AppConfig);

    it('holds at most APP_STARTS_PER_APP starts of one app across sessions; the rest wait, and the wait does not count against the init deadline', async () => {
      const startSlots = slotsOf(2);
      const [a, b, c] = [harness({ startSlots }), harness({ startSlots }), harness({ startSlots })];
      const other = harness({ startSlots });
      const results: Array<StartResult | undefined> = [];
      [a, b, c].forEach((h, i) => void h.manager.startApp(PKG).then((r) => (results[i] = r)));
      const otherStarted = other.manager.startApp('com.example.other');
      await clock.advanceAsync(0);
      expect([a, b, c].map((h) => h.sessionRequests.length)).toEqual([1, 1, 0]);
      expect(startSlots.stats(PKG)).toEqual({ active: 2, queued: 1 });
      // Another app is not held back by this one's slots.
      expect(other.sessionRequests).toHaveLength(1);
      await other.connect('com.example.other');
      expect(await otherStarted).toMatchObject({ ok: true });

      await clock.advanceAsync(INIT_TIMEOUT_MS - 1);
      await a.connect();
      await clock.advanceAsync(0);
      expect(results[0]).toEqual({ ok: true, packageName: PKG });
      expect(c.sessionRequests).toHaveLength(1); // a's slot passed to c
      await clock.advanceAsync(1);
      expect(results[1]).toMatchObject({ ok: false, stage: 'TIMEOUT' });
      // c waited almost a whole init time in the queue; its own deadline runs from its webhook.
      await clock.advanceAsync(INIT_TIMEOUT_MS - 2);
      expect(c.state()).toBe('loading');
      await c.connect();
      await clock.advanceAsync(0);
      expect(results[2]).toEqual({ ok: true, packageName: PKG });
      expect(startSlots.stats(PKG)).toEqual({ active: 0, queued: 0 });
    });

    it('a start cancelled while it waits (its session ended) leaves the queue, and the slot goes to the next one', async () => {
      const startSlots = slotsOf(1);
      const [a, b, c] = [harness({ startSlots }), harness({ startSlots }), harness({ startSlots })];
      const started = [a, b, c].map((h) => h.manager.startApp(PKG));
      await clock.advanceAsync(0);
      expect(startSlots.stats(PKG)).toEqual({ active: 1, queued: 2 });
      await b.ctx.dispose();
      expect(await started[1]).toMatchObject({ ok: false, stage: 'SESSION_ENDED' });
      expect(startSlots.stats(PKG)).toEqual({ active: 1, queued: 1 });
      await a.connect();
      await clock.advanceAsync(0);
      expect(b.sessionRequests).toHaveLength(0);
      expect(c.sessionRequests).toHaveLength(1);
      await c.connect();
      expect(await started[2]).toEqual({ ok: true, packageName: PKG });
      expect(startSlots.stats(PKG)).toEqual({ active: 0, queued: 0 });
    });
    it("a waiting start whose app connects first (an SDK's reconnect for that session) leaves the queue and posts no webhook", async () => {
      const startSlots = slotsOf(1);
      const [a, b] = [harness({ startSlots }), harness({ startSlots })];
      const started = [a, b].map((h) => h.manager.startApp(PKG));
      await clock.advanceAsync(0);
      expect(startSlots.stats(PKG)).toEqual({ active: 1, queued: 1 });
      await b.connect();
      expect(await started[1]).toEqual({ ok: true, packageName: PKG });
      await clock.advanceAsync(0);
      expect(startSlots.stats(PKG)).toEqual({ active: 1, queued: 0 });
      await a.connect();
      await clock.advanceAsync(0);
      expect(b.sessionRequests).toHaveLength(0);
      expect(startSlots.stats(PKG)).toEqual({ active: 0, queued: 0 });
    });
  });

  describe('restore of the running apps on a fresh session', () => {
    // Each backoff at its ceiling (1 s, 2 s, 4 s… at most 16 s), so the schedule can be asserted.
    beforeEach(() => void vi.spyOn(Math, 'random').mockReturnValue(1));

    const restoring = (opts: Parameters<typeof harness>[0] = {}) => {
      const h = harness(opts);
      h.running.add(PKG);
      void h.manager.startPreviouslyRunning();
      return h;
    };

    it('retries a restore whose init timed out after 1 s, keeping it in the running apps, and the app runs again', async () => {
      const h = restoring();
      await clock.advanceAsync(INIT_TIMEOUT_MS);
      expect(h.sessionRequests).toHaveLength(1);
      expect(h.state()).toBeUndefined();
      expect(h.stopRequests.map((r) => r.body.type)).toEqual(['stop_request']);
      expect(h.running.has(PKG)).toBe(true);
      await clock.advanceAsync(999);
      expect(h.sessionRequests).toHaveLength(1);
      await clock.advanceAsync(1);
      expect(h.sessionRequests).toHaveLength(2);
      await h.connect();
      expect(h.state()).toBe('running');
      expect(h.running.has(PKG)).toBe(true);
      await clock.advanceAsync(APP_STATE_WINDOW_MS * 2); // the app list signal's window ends too
      expect(clock.pending()).toBe(0);
    });

    it('backs off 1, 2, 4… s between tries and after APP_RESTORE_RETRIES transient failures forgets the app', async () => {
      const h = restoring({ appRestoreRetries: 3 });
      const sentAt: number[] = [];
      for (let i = 0; i < 4; i++) {
        await clock.advanceAsync(0);
        while (h.sessionRequests.length === i) await clock.advanceAsync(100);
        sentAt.push(clock.elapsed());
        await clock.advanceAsync(INIT_TIMEOUT_MS);
        expect(h.running.has(PKG), `after try ${i + 1}`).toBe(i < 3);
      }
      const gaps = sentAt.slice(1).map((t, i) => t - sentAt[i] - INIT_TIMEOUT_MS);
      expect(gaps).toEqual([1000, 2000, 4000]);
      await clock.advanceAsync(60_000);
      expect(h.sessionRequests).toHaveLength(4);
      expect(clock.pending()).toBe(0);
    });

    it('retries a webhook that kept failing (5xx, timeouts: its retry window ran out)', async () => {
      let failing = true;
      const h = restoring({
        webhook: () => {
          if (failing) throw new WebhookError('gave up after 3 attempt(s) in 3000 ms; last error: HTTP 503', false);
        },
      });
      await clock.advanceAsync(0);
      expect(h.sessionRequests).toHaveLength(1);
      expect(h.running.has(PKG)).toBe(true);
      failing = false;
      await clock.advanceAsync(1000);
      expect(h.sessionRequests).toHaveLength(2);
      await h.connect();
      expect(h.state()).toBe('running');
    });

    it('does not retry a permanent failure (webhook 4xx, app not installed): the app leaves the running apps at once', async () => {
      const h = restoring({
        webhook: () => {
          throw new WebhookError('POST http://x/webhook answered HTTP 404', false, 404);
        },
      });
      await clock.advanceAsync(0);
      expect(h.running.has(PKG)).toBe(false);
      await clock.advanceAsync(60_000);
      expect(h.sessionRequests).toHaveLength(1);

      const gone = restoring({ installed: [] });
      await clock.advanceAsync(60_000);
      expect(gone.sessionRequests).toHaveLength(0);
      expect(gone.running.has(PKG)).toBe(false);
    });

    it('a start by the user that times out is not retried and leaves the running apps, as before', async () => {
      const h = harness();
      h.running.add(PKG);
      expect(
        await (async () => {
          const started = h.manager.startApp(PKG);
          await clock.advanceAsync(INIT_TIMEOUT_MS);
          return started;
        })(),
      ).toMatchObject({ ok: false, stage: 'TIMEOUT' });
      expect(h.running.has(PKG)).toBe(false);
      await clock.advanceAsync(60_000);
      expect(h.sessionRequests).toHaveLength(1);
    });

    it('a stop between two tries cancels the retry and forgets the app', async () => {
      const h = restoring();
      await clock.advanceAsync(INIT_TIMEOUT_MS);
      expect(await h.manager.stopApp(PKG, 'user_disabled')).toBe(true);
      expect(h.running.has(PKG)).toBe(false);
      await clock.advanceAsync(APP_STATE_WINDOW_MS * 2); // the app list signal's window ends too
      expect(clock.pending()).toBe(0);
      await clock.advanceAsync(60_000);
      expect(h.sessionRequests).toHaveLength(1);
    });

    it("the session's end cancels a retry, keeping the app in the running apps for the next session", async () => {
      const h = restoring();
      await clock.advanceAsync(INIT_TIMEOUT_MS);
      await h.ctx.dispose();
      expect(clock.pending()).toBe(0);
      expect(h.running.has(PKG)).toBe(true);
      expect(h.sessionRequests).toHaveLength(1);
    });
  });

  describe('socket grace and resurrection', () => {
    it('keeps a closed app in grace, and a reconnect within it resumes without a new webhook', async () => {
      const h = harness();
      const first = await h.launch();
      h.manager.handleAppSocketClose(PKG, first.ws, 1006);
      expect(h.state()).toBe('grace');
      expect(h.manager.runningApps()).toEqual([PKG]);
      clock.advance(GRACE_MS - 1);
      await h.connect();
      expect(h.state()).toBe('running');
      await clock.advanceAsync(GRACE_MS);
      expect(h.sessionRequests).toHaveLength(1);
    });

    it('resurrects the app (a new session_request) when the grace runs out with the glasses connected', async () => {
      const h = harness();
      const socket = await h.launch();
      h.manager.handleAppSocketClose(PKG, socket.ws, 1006);
      await clock.advanceAsync(GRACE_MS - 1);
      expect(h.sessionRequests).toHaveLength(1);
      await clock.advanceAsync(1);
      expect(h.sessionRequests).toHaveLength(2);
      expect(h.state()).toBe('loading');
      expect(h.running.has(PKG)).toBe(true);
    });

    it('leaves the app dormant when the glasses are away at the end of the grace, and resurrects it when they reconnect', async () => {
      const h = harness();
      const socket = await h.launch();
      h.glasses.drop();
      h.manager.handleAppSocketClose(PKG, socket.ws, 1006);
      await clock.advanceAsync(GRACE_MS);
      expect(h.state()).toBe('dormant');
      expect(h.sessionRequests).toHaveLength(1);
      h.ctx.attachGlasses(new FakeSocket().ws, true);
      await clock.advanceAsync(0);
      expect(h.sessionRequests).toHaveLength(2);
    });

    it('does not resurrect an app that released ownership: it stops', async () => {
      const h = harness();
      const socket = await h.launch();
      h.manager.handleOwnershipRelease(PKG, socket.ws);
      h.manager.handleAppSocketClose(PKG, socket.ws, 1000);
      await clock.advanceAsync(GRACE_MS * 2);
      expect(h.state()).toBeUndefined();
      expect(h.stopped).toEqual([{ packageName: PKG, reason: 'system_stop' }]);
      expect(h.sessionRequests).toHaveLength(1);
    });

    it('keeps an app that released ownership when its new socket comes within the grace (the SDK answering our session_request)', async () => {
      const h = harness();
      const socket = await h.launch();
      h.manager.handleOwnershipRelease(PKG, socket.ws);
      h.manager.handleAppSocketClose(PKG, socket.ws, 1000);
      expect(h.state()).toBe('grace');
      await h.connect();
      expect(h.state()).toBe('running');
      await clock.advanceAsync(GRACE_MS * 2);
      expect(h.state()).toBe('running');
      expect(h.stopped).toEqual([]);
      expect(h.sessionRequests).toHaveLength(1);
    });

    it('ignores the close of a socket that was already replaced', async () => {
      const h = harness();
      const first = await h.launch();
      await h.connect();
      expect(first.closed).toEqual({ code: 1000, reason: 'Replaced by a new connection' });
      h.manager.handleAppSocketClose(PKG, first.ws, 1000);
      expect(h.state()).toBe('running');
    });
  });

  describe('stop', () => {
    it('tells the app (app_stopped, close 1000), posts stop_request, and forgets it as running', async () => {
      const h = harness();
      const socket = await h.launch();
      expect(await h.manager.stopApp(PKG, 'user_disabled')).toBe(true);
      expect(socket.ofType('app_stopped')).toHaveLength(1);
      expect(socket.closed).toEqual({ code: 1000, reason: 'App stopped' });
      expect(h.stopRequests).toEqual([
        expect.objectContaining({ body: expect.objectContaining({ type: 'stop_request', reason: 'user_disabled' }) }),
      ]);
      expect(h.running.has(PKG)).toBe(false);
      expect(h.stopped).toEqual([{ packageName: PKG, reason: 'user_disabled' }]);
      expect(await h.manager.stopApp(PKG, 'user_disabled')).toBe(false);
    });

    it('cancels a start in progress (CANCELLED) and clears its init deadline', async () => {
      const h = harness();
      const started = h.manager.startApp(PKG);
      await clock.advanceAsync(0);
      await h.manager.stopApp(PKG, 'user_disabled');
      expect(await started).toMatchObject({ ok: false, stage: 'CANCELLED' });
      await clock.advanceAsync(APP_STATE_WINDOW_MS * 2); // the app list signal's window ends too
      expect(clock.pending()).toBe(0);
    });

    it('a stop during the grace clears the grace timer (no resurrection later)', async () => {
      const h = harness();
      const socket = await h.launch();
      h.manager.handleAppSocketClose(PKG, socket.ws, 1006);
      await h.manager.stopApp(PKG, 'user_disabled');
      await clock.advanceAsync(APP_STATE_WINDOW_MS * 2); // the app list signal's window ends too
      expect(clock.pending()).toBe(0);
      await clock.advanceAsync(GRACE_MS * 2);
      expect(h.sessionRequests).toHaveLength(1);
      expect(h.state()).toBeUndefined();
    });
  });

  it('at session end closes every app with "User session ended", settles starts as SESSION_ENDED and keeps the running list', async () => {
    const h = harness();
    const socket = await h.launch();
    const starting = h.manager.startApp('com.example.other');
    await clock.advanceAsync(0);
    await h.ctx.dispose();
    expect(socket.ofType('app_stopped')).toHaveLength(1);
    expect(socket.closed).toEqual({ code: 1000, reason: 'User session ended' });
    expect(await starting).toMatchObject({ ok: false, stage: 'SESSION_ENDED' });
    expect(h.running.has(PKG)).toBe(true);
    expect(clock.pending()).toBe(0);
  });
});
