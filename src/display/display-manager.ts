import { Inject, Injectable, Scope } from '@nestjs/common';
import { AppConnections } from '../app-connections/app-connections.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { SessionContext, type SessionEvents } from '../session-core/session-context.js';
import { DISPLAY_TIMINGS, type DisplayDecision, type DisplayOutcome, type DisplayRequest } from './display.types.js';
import { LazyMap } from '../common/lazy-collections.js';

interface Shown {
  request: DisplayRequest;
  startedAt: number;
  expiresAt?: number;
}

interface Lock {
  packageName: string;
  expiresAt: number;
  lastActiveTime: number;
  /** The holder's latest frame, so it can come back after something else covered it. */
  display: Shown | null;
}

const HISTORY = 50;

/**
 * Who owns the glasses' main view: the boot screen, the main (standard) app versus
 * background apps holding a 10 s lock, the 300 ms throttle and duration expiry. Departures from
 * upstream: a deferred (throttled) send re-checks ownership, a main app's persistent display comes back
 * after a background popup ends (with its own expiry, not a fresh one), both views are re-sent on
 * reconnect, and every decision is recorded.
 */
@Injectable({ scope: Scope.REQUEST })
export class DisplayManager {
  private main: Shown | null = null;
  private dashboard: DisplayRequest | null = null;
  private mainApp: string | null = null;
  private coreAppDisplay: Shown | null = null;
  private lock: Lock | null = null;
  private readonly booting = new LazyMap<string, NodeJS.Timeout>();
  private readonly bootNames = new LazyMap<string, string>();
  private readonly bootQueue = new LazyMap<string, DisplayRequest>();
  private savedBeforeBoot: Shown | null = null;
  /** Deferred requests, one per app (newest wins), in order of arrival. */
  private readonly throttled = new LazyMap<string, DisplayRequest>();
  private throttleTimer: NodeJS.Timeout | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private lastDisplayTime = 0;
  private readonly history: DisplayDecision[] = [];

  constructor(
    private readonly ctx: SessionContext,
    private readonly connections: AppConnections,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    ctx.on('appStarting', this.onAppStarting, this);
    ctx.on('appStopped', this.onAppStopped, this);
    ctx.on('glassesConnected', this.onGlassesConnected, this);
    ctx.defer(this.clearTimers, this);
  }

  private onAppStarting({ packageName, app }: SessionEvents['appStarting']): void {
    this.handleAppStart(packageName, app.appType, app.name);
  }

  private onAppStopped({ packageName }: SessionEvents['appStopped']): void {
    this.handleAppStop(packageName);
  }

  private onGlassesConnected({ reconnect }: SessionEvents['glassesConnected']): void {
    if (reconnect) this.resendCurrent();
  }

  private get dashboardPackage(): string {
    return this.config.systemDashboardPackage;
  }

  /** Entry point for app display requests; the packageName in `request` is the socket's app. */
  handleDisplayRequest(request: DisplayRequest, now = Date.now()): DisplayOutcome {
    const pkg = request.packageName;
    if (request.view === 'dashboard') {
      if (pkg !== this.dashboardPackage && !this.connections.isRunning(pkg))
        return this.record(request, 'rejected', 'app is not running');
      this.dashboard = request;
      this.ctx.sendToGlasses(request);
      return this.record(request, 'shown', 'dashboard view');
    }
    if (pkg === this.dashboardPackage) {
      this.send(request, now, false);
      return this.record(request, 'shown', 'system dashboard');
    }
    if (!this.connections.isRunning(pkg)) return this.record(request, 'rejected', 'app is not running');
    // The newest request of an app wins: an older deferred one must never show after this one.
    this.throttled.delete(pkg);
    if (this.booting.size > 0) {
      this.bootQueue.set(pkg, request);
      return this.record(request, 'queued_boot', 'apps are booting');
    }
    if (pkg === this.mainApp) this.coreAppDisplay = { request, startedAt: now, expiresAt: expiry(request, now) };
    const verdict = this.mayShow(pkg, now);
    if (verdict !== null) return this.record(request, verdict.outcome, verdict.reason);
    if (!request.forceDisplay && now - this.lastDisplayTime < DISPLAY_TIMINGS.throttleMs) {
      this.throttled.set(pkg, request);
      this.scheduleThrottleFlush(now);
      return this.record(request, 'throttled', `within ${DISPLAY_TIMINGS.throttleMs} ms of the last frame`);
    }
    this.showApp(request, now);
    return this.record(request, 'shown', pkg === this.mainApp ? 'main app' : 'background app holds the lock');
  }

  /** null = may show now; otherwise why not. */
  private mayShow(pkg: string, now: number): { outcome: DisplayOutcome; reason: string } | null {
    const lock = this.liveLock(now);
    if (pkg === this.mainApp) {
      if (lock && lock.packageName !== pkg && this.main?.request.packageName === lock.packageName) {
        return { outcome: 'blocked', reason: `${lock.packageName} holds the display lock (kept as the main view)` };
      }
      return null;
    }
    if (!lock || lock.packageName === pkg || lock.packageName === this.mainApp) return null;
    return { outcome: 'rejected', reason: `${lock.packageName} holds the display lock` };
  }

  /** Sends an app's frame that passed arbitration: background apps take (or refresh) the lock. */
  private showApp(request: DisplayRequest, now: number): void {
    const pkg = request.packageName;
    const shown = this.send(request, now, true);
    if (pkg === this.mainApp) this.coreAppDisplay = shown;
    else if (pkg !== this.dashboardPackage) {
      if (this.lock?.packageName === pkg) this.lock.lastActiveTime = now;
      else
        this.lock = { packageName: pkg, expiresAt: now + DISPLAY_TIMINGS.lockMs, lastActiveTime: now, display: null };
      this.lock.display = shown;
    }
  }

  /** The lock, or null once it expired, went idle for 2 s, or its holder stopped. */
  private liveLock(now: number): Lock | null {
    const lock = this.lock;
    if (!lock) return null;
    if (
      now >= lock.expiresAt ||
      now - lock.lastActiveTime > DISPLAY_TIMINGS.lockInactiveMs ||
      !this.connections.isRunning(lock.packageName)
    ) {
      this.lock = null;
      return null;
    }
    return lock;
  }

  private scheduleThrottleFlush(now: number): void {
    if (this.throttleTimer) return;
    const wait = Math.max(0, this.lastDisplayTime + DISPLAY_TIMINGS.throttleMs - now);
    this.throttleTimer = setTimeout(() => {
      this.throttleTimer = null;
      const t = Date.now();
      // A frame went out meanwhile (showNext sends a deferred request at once): keep the 300 ms gap.
      if (t - this.lastDisplayTime < DISPLAY_TIMINGS.throttleMs) this.scheduleThrottleFlush(t);
      else this.flushThrottled(t);
    }, wait);
  }

  /** Sends the oldest deferred request that may still show (ownership re-checked), then waits again. True when one was sent. */
  private flushThrottled(now: number): boolean {
    let sent = false;
    for (const [pkg, request] of this.throttled) {
      this.throttled.delete(pkg);
      if (!this.connections.isRunning(pkg)) continue;
      if (this.booting.size > 0) {
        if (!this.bootQueue.has(pkg)) this.bootQueue.set(pkg, request);
        this.record(request, 'queued_boot', 'deferred send: apps are booting');
        continue;
      }
      const verdict = this.mayShow(pkg, now);
      if (verdict) {
        this.record(request, verdict.outcome, `deferred send: ${verdict.reason}`);
        continue;
      }
      this.showApp(request, now);
      this.record(request, 'shown', 'deferred send after throttle');
      sent = true;
      break;
    }
    if (this.throttled.size > 0) this.scheduleThrottleFlush(now);
    return sent;
  }

  private send(request: DisplayRequest, now: number, countsForThrottle: boolean): Shown {
    const shown: Shown = { request, startedAt: now, expiresAt: expiry(request, now) };
    this.show(shown, now, countsForThrottle);
    return shown;
  }

  /** Puts a display on the main view; a display shown again keeps its original expiry. */
  private show(shown: Shown, now: number, countsForThrottle: boolean): void {
    if (countsForThrottle) this.lastDisplayTime = now;
    this.main = shown;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    if (shown.expiresAt !== undefined) {
      this.expiryTimer = setTimeout(
        () => {
          this.expiryTimer = null;
          if (this.main === shown) this.showNext('duration_expired', Date.now());
        },
        Math.max(0, shown.expiresAt - now),
      );
    }
    this.ctx.sendToGlasses(shown.request);
  }

  /** What shows when the current display ends: boot screen, deferred requests, the lock holder, the main app, else a clear. */
  private showNext(reason: string, now: number): void {
    if (this.booting.size > 0) {
      this.sendBootScreen(now);
      return;
    }
    if (this.throttled.size > 0 && this.flushThrottled(now)) return;
    const lock = this.liveLock(now);
    if (lock?.display && stillValid(lock.display, now, true)) {
      if (this.main !== lock.display) {
        this.show(lock.display, now, true);
        this.record(lock.display.request, 'shown', `restored lock holder display (${reason})`);
      }
      return;
    }
    const core = this.coreAppDisplay;
    if (core && this.mainApp && this.connections.isRunning(this.mainApp) && stillValid(core, now, true)) {
      this.show(core, now, true);
      this.record(core.request, 'shown', `restored main app display (${reason})`);
      return;
    }
    this.clear(now);
  }

  private clear(now: number): void {
    const request: DisplayRequest = {
      type: 'display_event',
      packageName: this.dashboardPackage,
      view: 'main',
      layout: { layoutType: 'text_wall', text: '' },
      durationMs: 0,
      timestamp: new Date(now).toISOString(),
    };
    this.main = null;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    this.ctx.sendToGlasses(request);
  }

  // ---------------------------------------------------------------- app lifecycle hooks

  handleAppStart(packageName: string, appType: string, name: string, now = Date.now()): void {
    if (packageName === this.dashboardPackage) return;
    if (appType === 'standard' && this.mainApp !== packageName) {
      this.mainApp = packageName;
      this.coreAppDisplay = null;
    }
    // Saved afresh by every boot that starts from idle, so a display saved by an earlier boot never comes back.
    if (this.booting.size === 0)
      this.savedBeforeBoot = this.main && this.main.request.packageName !== this.dashboardPackage ? this.main : null;
    const previous = this.booting.get(packageName);
    if (previous) clearTimeout(previous);
    this.booting.set(
      packageName,
      setTimeout(() => this.finishBoot(packageName), DISPLAY_TIMINGS.bootMs),
    );
    this.bootNames.set(packageName, name || packageName);
    this.sendBootScreen(now);
  }

  /** The boot screen names the apps booting now. */
  private sendBootScreen(now: number): void {
    const names = [...this.booting.keys()].map((p) => this.bootNames.get(p) ?? p);
    this.send(
      {
        type: 'display_event',
        packageName: this.dashboardPackage,
        view: 'main',
        layout: {
          layoutType: 'reference_card',
          title: names.length > 1 ? '// MentraOS - Starting Apps' : '// MentraOS - Starting App',
          text: names.join(', '),
        },
        timestamp: new Date(now).toISOString(),
      },
      now,
      false,
    );
  }

  private finishBoot(packageName: string): void {
    this.booting.delete(packageName);
    this.bootNames.delete(packageName);
    const now = Date.now();
    if (this.booting.size > 0) this.sendBootScreen(now);
    else this.endBoot(now);
  }

  /** The last boot ended: the main app's queued request first, else the first queued one; else restore or show next. */
  private endBoot(now: number): void {
    const saved = this.savedBeforeBoot;
    this.savedBeforeBoot = null;
    const queue = [...this.bootQueue.values()];
    this.bootQueue.clear();
    const mainIndex = queue.findIndex((r) => r.packageName === this.mainApp);
    if (mainIndex > 0) queue.unshift(...queue.splice(mainIndex, 1));
    let shown: DisplayRequest | null = null;
    for (const request of queue) {
      if (!this.connections.isRunning(request.packageName)) continue;
      if (shown) {
        this.record(request, 'rejected', `boot ended: ${shown.packageName}'s queued request was shown instead`);
        continue;
      }
      const verdict = this.mayShow(request.packageName, now);
      if (verdict) {
        this.record(request, verdict.outcome, `boot ended: ${verdict.reason}`);
        continue;
      }
      this.showApp(request, now);
      this.record(request, 'shown', 'queued during boot');
      shown = request;
    }
    if (shown) return;
    if (saved && this.connections.isRunning(saved.request.packageName) && stillValid(saved, now, true)) {
      this.show(saved, now, false);
      this.record(saved.request, 'shown', 'restored display from before boot');
      return;
    }
    this.showNext('boot_complete', now);
  }

  handleAppStop(packageName: string): void {
    const now = Date.now();
    const bootTimer = this.booting.get(packageName);
    if (bootTimer) {
      clearTimeout(bootTimer);
      this.booting.delete(packageName);
      this.bootNames.delete(packageName);
    }
    this.throttled.delete(packageName);
    this.bootQueue.delete(packageName);
    if (this.lock?.packageName === packageName) this.lock = null;
    if (this.savedBeforeBoot?.request.packageName === packageName) this.savedBeforeBoot = null;
    if (this.mainApp === packageName) {
      this.mainApp = null;
      this.coreAppDisplay = null;
    }
    if (this.dashboard?.packageName === packageName) this.dashboard = null;
    if (bootTimer) {
      // Its boot screen goes: the others' stays, or the boot ends now.
      if (this.booting.size > 0) this.sendBootScreen(now);
      else this.endBoot(now);
      return;
    }
    if (this.main?.request.packageName === packageName) {
      this.main = null;
      this.showNext('app_stop', now);
    }
  }

  /** On reconnect the phone may show nothing: re-send both views as they stand. */
  private resendCurrent(): void {
    const now = Date.now();
    if (this.main && stillValid(this.main, now, true)) this.ctx.sendToGlasses(this.main.request);
    if (this.dashboard) this.ctx.sendToGlasses(this.dashboard);
  }

  // ---------------------------------------------------------------- views

  private record(request: DisplayRequest, outcome: DisplayOutcome, reason: string): DisplayOutcome {
    this.history.push({
      at: new Date().toISOString(),
      packageName: request.packageName,
      view: request.view,
      outcome,
      reason,
    });
    if (this.history.length > HISTORY) this.history.shift();
    if (outcome !== 'shown') this.ctx.logger.debug(`display from ${request.packageName}: ${outcome} (${reason})`);
    return outcome;
  }

  describe(): {
    main: DisplayRequest | null;
    dashboard: DisplayRequest | null;
    mainApp: string | null;
    lockHolder: string | null;
    recent: DisplayDecision[];
  } {
    return {
      main: this.main?.request ?? null,
      dashboard: this.dashboard,
      mainApp: this.mainApp,
      lockHolder: this.liveLock(Date.now())?.packageName ?? null,
      recent: [...this.history],
    };
  }

  get currentMain(): DisplayRequest | null {
    return this.main?.request ?? null;
  }

  private clearTimers(): void {
    for (const t of this.booting.values()) clearTimeout(t);
    this.booting.clear();
    if (this.throttleTimer) clearTimeout(this.throttleTimer);
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.throttleTimer = this.expiryTimer = null;
  }
}

function expiry(request: DisplayRequest, now: number): number | undefined {
  return typeof request.durationMs === 'number' && request.durationMs > 0 ? now + request.durationMs : undefined;
}

/**
 * Whether a display should still be on screen. Upstream treated a display without a duration as valid
 * for its first second only, so a main app's persistent text was cleared after a popup; with
 * `persistent` a display without a duration stays valid until replaced.
 */
function stillValid(shown: Shown, now: number, persistent = false): boolean {
  if (shown.expiresAt !== undefined) return now < shown.expiresAt;
  if (shown.request.durationMs === 0) return false;
  return persistent || now - shown.startedAt < DISPLAY_TIMINGS.minDisplayLifetimeMs;
}
