import { Inject, Injectable, Scope } from '@nestjs/common';
import { AppConnections } from '../apps/app-connections.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { SessionContext } from '../session/session-context.js';
import { DISPLAY_TIMINGS, type DisplayDecision, type DisplayOutcome, type DisplayRequest } from './display.types.js';

interface Shown {
  request: DisplayRequest;
  startedAt: number;
  expiresAt?: number;
}

interface Lock {
  packageName: string;
  expiresAt: number;
  lastActiveTime: number;
}

const HISTORY = 50;

/**
 * Who owns the glasses' main view (glasses.md §8): the boot screen, the main (standard) app versus
 * background apps holding a 10 s lock, the 300 ms throttle and duration expiry. Departures from
 * upstream: a deferred (throttled) send re-checks ownership, a main app's persistent display comes back
 * after a background popup ends, both views are re-sent on reconnect, and every decision is recorded.
 */
@Injectable({ scope: Scope.REQUEST })
export class DisplayManager {
  private main: Shown | null = null;
  private dashboard: DisplayRequest | null = null;
  private mainApp: string | null = null;
  private coreAppDisplay: Shown | null = null;
  private lock: Lock | null = null;
  private readonly booting = new Map<string, NodeJS.Timeout>();
  private readonly bootQueue = new Map<string, DisplayRequest>();
  private savedBeforeBoot: Shown | null = null;
  private readonly throttled = new Map<string, DisplayRequest>();
  private throttleTimer: NodeJS.Timeout | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private lastDisplayTime = 0;
  private readonly history: DisplayDecision[] = [];

  constructor(
    private readonly ctx: SessionContext,
    private readonly connections: AppConnections,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    ctx.on('appStarting', ({ packageName, app }) => this.handleAppStart(packageName, app.appType, app.name));
    ctx.on('appStopped', ({ packageName }) => this.handleAppStop(packageName));
    ctx.on('glassesConnected', ({ reconnect }) => {
      if (reconnect) this.resendCurrent();
    });
    ctx.defer(() => this.clearTimers());
  }

  private get dashboardPackage(): string {
    return this.config.systemDashboardPackage;
  }

  /** Entry point for app display requests; the packageName in `request` is the socket's app. */
  handleDisplayRequest(request: DisplayRequest, now = Date.now()): DisplayOutcome {
    const pkg = request.packageName;
    if (request.view === 'dashboard') {
      if (pkg !== this.dashboardPackage && !this.connections.isRunning(pkg)) return this.record(request, 'rejected', 'app is not running');
      this.dashboard = request;
      this.ctx.sendToGlasses(request);
      return this.record(request, 'shown', 'dashboard view');
    }
    if (pkg === this.dashboardPackage) {
      this.send(request, now, false);
      return this.record(request, 'shown', 'system dashboard');
    }
    if (!this.connections.isRunning(pkg)) return this.record(request, 'rejected', 'app is not running');
    if (this.booting.size > 0) {
      this.bootQueue.set(pkg, request);
      return this.record(request, 'queued_boot', 'apps are booting');
    }
    if (pkg === this.mainApp) this.coreAppDisplay = { request, startedAt: now, expiresAt: expiry(request, now) };
    const verdict = this.mayShow(pkg, now);
    if (verdict !== null) return this.record(request, verdict.outcome, verdict.reason);
    if (!request.forceDisplay && now - this.lastDisplayTime < DISPLAY_TIMINGS.throttleMs) {
      this.throttled.delete(pkg); // re-insert so the map stays ordered by arrival
      this.throttled.set(pkg, request);
      this.scheduleThrottleFlush(now);
      return this.record(request, 'throttled', `within ${DISPLAY_TIMINGS.throttleMs} ms of the last frame`);
    }
    this.takeLockIfBackground(pkg, now);
    this.send(request, now, true);
    return this.record(request, 'shown', pkg === this.mainApp ? 'main app' : 'background app holds the lock');
  }

  /** null = may show now; otherwise why not. Background apps take the lock here when they may. */
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

  private takeLockIfBackground(pkg: string, now: number): void {
    if (pkg === this.mainApp || pkg === this.dashboardPackage) return;
    if (this.lock?.packageName === pkg) this.lock.lastActiveTime = now;
    else this.lock = { packageName: pkg, expiresAt: now + DISPLAY_TIMINGS.lockMs, lastActiveTime: now };
  }

  /** The lock, or null once it expired, went idle for 2 s, or its holder stopped. */
  private liveLock(now: number): Lock | null {
    const lock = this.lock;
    if (!lock) return null;
    if (now >= lock.expiresAt || now - lock.lastActiveTime > DISPLAY_TIMINGS.lockInactiveMs || !this.connections.isRunning(lock.packageName)) {
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
      this.flushThrottled(Date.now());
    }, wait);
  }

  /** Sends the oldest deferred request that may still show (ownership re-checked), then waits again. */
  private flushThrottled(now: number): void {
    for (const [pkg, request] of this.throttled) {
      this.throttled.delete(pkg);
      if (!this.connections.isRunning(pkg)) continue;
      if (this.booting.size > 0) {
        this.bootQueue.set(pkg, request);
        continue;
      }
      const verdict = this.mayShow(pkg, now);
      if (verdict) {
        this.record(request, verdict.outcome, `deferred send: ${verdict.reason}`);
        continue;
      }
      this.takeLockIfBackground(pkg, now);
      this.send(request, now, true);
      this.record(request, 'shown', 'deferred send after throttle');
      break;
    }
    if (this.throttled.size > 0) this.scheduleThrottleFlush(now);
  }

  private send(request: DisplayRequest, now: number, countsForThrottle: boolean): void {
    if (countsForThrottle) this.lastDisplayTime = now;
    this.main = { request, startedAt: now, expiresAt: expiry(request, now) };
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    const expiresAt = this.main.expiresAt;
    if (expiresAt !== undefined && request.durationMs! > 0) {
      const shown = this.main;
      this.expiryTimer = setTimeout(() => {
        this.expiryTimer = null;
        if (this.main === shown) this.showNext('duration_expired', Date.now());
      }, expiresAt - now);
    }
    this.ctx.sendToGlasses(request);
  }

  /** What shows when the current display ends: boot screen, deferred requests, the lock holder, the main app, else a clear. */
  private showNext(reason: string, now: number): void {
    if (this.booting.size > 0) return;
    if (this.throttled.size > 0) {
      this.flushThrottled(now);
      if (this.main && this.main.startedAt === now) return;
    }
    const lock = this.liveLock(now);
    if (lock && this.main?.request.packageName === lock.packageName && stillValid(this.main, now)) return;
    const core = this.coreAppDisplay;
    if (core && this.mainApp && this.connections.isRunning(this.mainApp) && stillValid(core, now, true)) {
      this.send(core.request, now, false);
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
    if (appType === 'standard') this.mainApp = packageName;
    if (this.booting.size === 0 && this.main && this.main.request.packageName !== this.dashboardPackage) this.savedBeforeBoot = this.main;
    const previous = this.booting.get(packageName);
    if (previous) clearTimeout(previous);
    this.booting.set(
      packageName,
      setTimeout(() => this.finishBoot(packageName), DISPLAY_TIMINGS.bootMs),
    );
    this.bootNames.set(packageName, name || packageName);
    const names = [...this.booting.keys()].map((p) => this.bootNames.get(p) ?? p);
    this.send(
      {
        type: 'display_event',
        packageName: this.dashboardPackage,
        view: 'main',
        layout: { layoutType: 'reference_card', title: names.length > 1 ? '// MentraOS - Starting Apps' : '// MentraOS - Starting App', text: names.join(', ') },
        timestamp: new Date(now).toISOString(),
      },
      now,
      false,
    );
  }

  private readonly bootNames = new Map<string, string>();

  private finishBoot(packageName: string): void {
    this.booting.delete(packageName);
    this.bootNames.delete(packageName);
    if (this.booting.size > 0) return;
    const now = Date.now();
    const queued = (this.mainApp && this.bootQueue.get(this.mainApp)) || this.bootQueue.values().next().value;
    this.bootQueue.clear();
    if (queued && this.connections.isRunning(queued.packageName)) {
      if (queued.packageName === this.mainApp) this.coreAppDisplay = { request: queued, startedAt: now, expiresAt: expiry(queued, now) };
      this.takeLockIfBackground(queued.packageName, now);
      this.send(queued, now, true);
      this.record(queued, 'shown', 'queued during boot');
      return;
    }
    const saved = this.savedBeforeBoot;
    this.savedBeforeBoot = null;
    if (saved && this.connections.isRunning(saved.request.packageName) && stillValid(saved, now, true)) {
      this.send(saved.request, now, false);
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
    if (bootTimer && this.booting.size === 0) {
      this.finishBoot(packageName);
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
    this.history.push({ at: new Date().toISOString(), packageName: request.packageName, view: request.view, outcome, reason });
    if (this.history.length > HISTORY) this.history.shift();
    if (outcome !== 'shown') this.ctx.logger.debug(`display from ${request.packageName}: ${outcome} (${reason})`);
    return outcome;
  }

  describe(): { main: DisplayRequest | null; dashboard: DisplayRequest | null; mainApp: string | null; lockHolder: string | null; recent: DisplayDecision[] } {
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
