import { Inject, Injectable, Optional, Scope } from '@nestjs/common';
import type { WebSocket } from 'ws';
import { userAppWsUrl } from '../cluster/user-route-key.js';
import { errorMessage } from '../common/cloud-error.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { DeviceManager } from '../device/device-manager.js';
import { MetricsService } from '../observability/metrics.service.js';
import { currentContext, newId } from '../observability/request-context.js';
import { batchWrites } from '../common/write-batching.js';
import { checkCompatibility } from '../device/hardware-compatibility.js';
import {
  APP_REPOSITORY,
  USER_REPOSITORY,
  type AppRecord,
  type AppRepository,
  type UserRepository,
} from '../persistence/persistence.types.js';
import { SessionContext, type SessionEvents, type StopReason } from '../session-core/session-context.js';
import { SubscriptionManager } from '../subscriptions/subscription-manager.js';
import {
  AppConnections,
  type AppRuntime,
  type PendingStart,
  type StartResult,
} from '../app-connections/app-connections.js';
import { buildMentraosSettings } from '../user-settings/user-settings.schema.js';
import { mergeSettings } from './app-settings.js';
import { PendingInits } from './pending-inits.js';
import { StartSlots } from './start-slots.js';
import { WebhookClient, WebhookError } from './webhook.client.js';
import type { Result } from '../common/result.js';

const MAX_REMEMBERED_STARTS = 50;
/** How long a refused init waits for a valid one before it fails the start (see runStart). */
const INIT_REFUSAL_GRACE_MS = 300;

export type InitOutcome = Result<{ rt: AppRuntime }, 'APP_NOT_STARTED'>;

const OPEN = 1;

/** Backoff between restore attempts: 1 s doubling, at most 16 s, each drawn from its upper half. */
const RESTORE_RETRY_BASE_MS = 1_000;
const RESTORE_RETRY_MAX_MS = 16_000;

/**
 * Start outcomes that may succeed when tried again (the init deadline passed, the webhook kept failing with 5xx,
 * timeouts or refused connections), as opposed to a missing or uninstalled app or a 4xx. Process-wide weak sets
 * rather than fields, so an idle session carries nothing for them.
 */
const transientFailures = new WeakSet<StartResult>();
/** Webhook failures that are the app's answer (4xx), not the network's or the server's load. */
const permanentWebhookFailures = new WeakSet<PendingStart>();
/** Restore attempts with retries left: a transient failure keeps the app in the user's running apps. */
const keepRecordOnTransient = new WeakSet<PendingStart>();

/** How long a burst of app list changes is gathered into one more app_state_change (see notifyGlassesAppState). */
export const APP_STATE_WINDOW_MS = 100;

export interface StartOptions {
  /** A restore of a persisted running app (not a user's start): a transient failure leaves the record in place. */
  keepRecordOnTransientFailure?: boolean;
  /** The HTTP request this start is made for (else the message being handled, if any, names it). */
  reqId?: string;
}

/**
 * App lifecycle for one user: start (webhook + init), stop, the app-socket grace and resurrection,
 * and the persisted list of running apps. Single-flight: concurrent starts of one app share one attempt.
 */
@Injectable({ scope: Scope.REQUEST })
export class AppManager {
  private readonly lastStarts = new Map<string, NonNullable<AppRuntime['lastStart']>>();
  /** Every app that connected in this session, for the session-ended event. */
  private readonly used = new Set<string>();
  /** Restores waiting out their backoff, by package; made on the first retry (most sessions never need it). */
  private restoreWaits?: Map<string, () => void>;
  /** The app_state_change window (see notifyGlassesAppState) and whether a change came during it. */
  private appStateTimer: NodeJS.Timeout | undefined = undefined;
  private appStateDirty = false;

  constructor(
    private readonly ctx: SessionContext,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly connections: AppConnections,
    private readonly subscriptions: SubscriptionManager,
    private readonly device: DeviceManager,
    private readonly webhooks: WebhookClient,
    @Inject(APP_REPOSITORY) private readonly apps: AppRepository,
    @Inject(USER_REPOSITORY) private readonly users: UserRepository,
    private readonly pendingInits: PendingInits,
    private readonly startSlots: StartSlots,
    @Optional() private readonly metrics?: MetricsService,
  ) {
    ctx.on('glassesConnected', this.onGlassesConnected, this);
    ctx.on('modelChanged', this.onModelChanged, this);
    ctx.defer(this.disposeApps, this);
  }

  private onGlassesConnected({ reconnect }: SessionEvents['glassesConnected']): void {
    if (reconnect) this.resurrectDormant();
  }

  private onModelChanged(): void {
    void this.stopIncompatibleApps();
  }

  // ---------------------------------------------------------------- start

  startApp(packageName: string, opts: StartOptions = {}): Promise<StartResult> {
    // A start from the user or an admin decides for itself: a restore waiting to retry the same app gives way.
    if (!opts.keepRecordOnTransientFailure) this.restoreWaits?.get(packageName)?.();
    const existing = this.connections.get(packageName);
    if (existing) {
      if (existing.state === 'loading' && existing.start) return existing.start.promise;
      if (existing.state === 'running' || existing.state === 'grace' || existing.state === 'dormant') {
        return Promise.resolve({ ok: true, packageName, alreadyRunning: true });
      }
      if (existing.state === 'stopping') {
        return Promise.resolve({
          ok: false,
          packageName,
          stage: 'CANCELLED',
          message: 'The app is stopping; start it again afterwards',
        });
      }
    }
    if (this.ctx.isDisposed)
      return Promise.resolve({ ok: false, packageName, stage: 'SESSION_ENDED', message: 'Session ended' });
    // Reserve the slot synchronously so a second start in the same tick joins this one.
    const pending = this.newPendingStart(opts.reqId ?? currentContext()?.reqId);
    const placeholder: AppRecord = {
      packageName,
      name: packageName,
      publicUrl: '',
      appType: 'background',
      permissions: [],
      hardwareRequirements: [],
      settings: [],
      hashedApiKey: '',
      createdAt: new Date(0),
      updatedAt: new Date(0),
    };
    const rt = this.connections.create(placeholder);
    rt.start = pending;
    if (opts.keepRecordOnTransientFailure) keepRecordOnTransient.add(pending);
    this.notifyGlassesAppState(); // now loading
    this.ctx.logger.log({
      msg: `starting ${packageName}`,
      event: 'app.start',
      userId: this.ctx.userId,
      packageName,
      // Explicit ids: the start outlives the message that made it.
      reqId: pending.reqId,
      startId: pending.id,
    });
    void this.runStart(rt, pending).catch((err) => {
      pending.settle({ ok: false, packageName, stage: 'WEBHOOK', message: errorMessage(err) });
    });
    // Joiners get the finished outcome too, after the bookkeeping of a failure is done.
    pending.promise = pending.promise.then((result) => this.finishStart(rt, result));
    return pending.promise;
  }

  private newPendingStart(reqId: string | undefined): PendingStart {
    let settle!: (r: StartResult) => void;
    let settled = false;
    const promise = new Promise<StartResult>((resolve) => {
      settle = (r) => {
        if (settled) return;
        settled = true;
        resolve(r);
      };
    });
    return { promise, settle: (r) => settle(r), abort: new AbortController(), id: newId('start'), reqId };
  }

  private async runStart(rt: AppRuntime, pending: PendingStart): Promise<void> {
    const { packageName } = rt;
    // The bare outcome, before startApp chains the bookkeeping onto `pending.promise`: the start slot is given back
    // the moment the start settles.
    const settled = pending.promise;
    const fail = (stage: Exclude<StartResult, { ok: true }>['stage'], message: string) =>
      pending.settle({ ok: false, packageName, stage, message });
    const [app, user] = await Promise.all([
      this.apps.findByPackageName(packageName),
      this.users.findById(this.ctx.userId),
    ]);
    if (pending.abort.signal.aborted) return;
    if (!app) return fail('LOOKUP', `App ${packageName} does not exist`);
    const isDashboard = packageName === this.config.systemDashboardPackage;
    if (!isDashboard && !user?.installedApps.some((a) => a.packageName === packageName)) {
      return fail('LOOKUP', `App ${packageName} is not installed for ${this.ctx.userId}`);
    }
    rt.app = app;
    const compat = checkCompatibility(app.hardwareRequirements, this.device.capabilities, this.device.isKnownModel);
    if (!compat.compatible) return fail('HARDWARE_CHECK', compat.message);
    const active = isDashboard ? 0 : this.appsCountedAgainstLimit(rt, app);
    if (active >= this.config.maxAppsPerUser)
      return fail(
        'LIMIT',
        `${this.ctx.userId} already has ${active} apps running or starting (MAX_APPS_PER_USER is ${this.config.maxAppsPerUser}); stop one first`,
      );
    if (app.appType === 'standard') {
      for (const other of this.connections.values()) {
        if (other !== rt && other.app.appType === 'standard' && other.state !== 'stopping') {
          await this.stopApp(other.packageName, 'system_stop');
        }
      }
      if (pending.abort.signal.aborted) return;
    }
    this.ctx.emit('appStarting', { packageName, app });
    // Wait for one of the app's start slots (see StartSlots); the init deadline is armed only after this. A start
    // that settles meanwhile (cancelled, the session ended, or an init for its session id came first) stops waiting.
    const release = await this.startSlots.acquire(packageName, settled);
    if (!release) return;
    void settled.then(release);
    if (pending.abort.signal.aborted || pending.connected) return;
    // Cluster: the user's route key in the path, so the SDK's socket (and its reconnects after a failover) and
    // its REST calls reach whichever process owns the user through nginx.
    const appWsUrl = this.config.cluster ? userAppWsUrl(this.config.publicUrl, this.ctx.userId) : this.config.appWsUrl;
    const body = {
      type: 'session_request',
      sessionId: rt.sessionId,
      userId: this.ctx.userId,
      timestamp: new Date().toISOString(),
      augmentOSWebsocketUrl: appWsUrl,
      mentraOSWebsocketUrl: appWsUrl,
    };
    const url = `${app.publicUrl.replace(/\/+$/, '')}/webhook`;
    // Anyone can send an init naming this session id, so a refusal fails the start only if no valid init
    // follows shortly: the real app, connecting at the same time, still wins over a forged refusal.
    pending.refuse = (code, message) => {
      if (rt.state !== 'loading' || pending.refusalTimer) return;
      pending.refusalTimer = setTimeout(() => {
        if (rt.state === 'loading')
          fail('INIT_REFUSED', `The app's tpa_connection_init was refused (${code}): ${message}`);
      }, INIT_REFUSAL_GRACE_MS);
    };
    this.pendingInits.wait(rt.sessionId, pending.refuse);
    // The init deadline runs while an attempt is open (the SDK connects before it answers) and
    // again after a 2xx; attempts that fail fast (refused, 5xx) do not use it up.
    try {
      await this.webhooks.postWithRetry(url, body, pending.abort.signal, {
        onAttempt: () => this.armInitTimer(rt, pending),
        onAttemptFailed: () => pending.initTimer && clearTimeout(pending.initTimer),
        shouldRetry: () => !pending.connected,
        requestId: pending.reqId ?? pending.id,
      });
    } catch (err) {
      if (pending.abort.signal.aborted || pending.connected) return; // the start was cancelled, or init arrived
      if (err instanceof WebhookError && err.status !== undefined && !err.retryable)
        permanentWebhookFailures.add(pending);
      const message = err instanceof WebhookError ? err.message : `POST ${url} failed: ${errorMessage(err)}`;
      return fail('WEBHOOK', message);
    }
    // 2xx without an init: the app has its configured time to connect.
    if (!pending.abort.signal.aborted && rt.state === 'loading') this.armInitTimer(rt, pending);
  }

  private armInitTimer(rt: AppRuntime, pending: PendingStart): void {
    if (pending.initTimer) clearTimeout(pending.initTimer);
    pending.initTimer = setTimeout(() => {
      if (rt.state !== 'loading') return;
      pending.settle({
        ok: false,
        packageName: rt.packageName,
        stage: 'TIMEOUT',
        message: `The app did not connect within ${this.config.appInitTimeoutMs} ms`,
      });
    }, this.config.appInitTimeoutMs);
  }

  private async finishStart(rt: AppRuntime, result: StartResult): Promise<StartResult> {
    const pending = rt.start;
    if (pending) {
      if (pending.initTimer) clearTimeout(pending.initTimer);
      if (pending.refusalTimer) clearTimeout(pending.refusalTimer);
      if (pending.refuse) this.pendingInits.done(rt.sessionId, pending.refuse);
      // An app that connected answers its webhook right after (the SDK does): aborting that request would
      // cost a TCP connection per start.
      if (result.ok) pending.connected = true;
      else pending.abort.abort();
      rt.start = undefined;
    }
    if (
      !result.ok &&
      (result.stage === 'TIMEOUT' ||
        (result.stage === 'WEBHOOK' && !(pending && permanentWebhookFailures.has(pending))))
    )
      transientFailures.add(result);
    rt.lastStart = {
      at: new Date().toISOString(),
      ok: result.ok,
      ...(result.ok ? {} : { stage: result.stage, message: result.message }),
    };
    // Kept past the runtime's removal, so operators see why a start failed.
    this.lastStarts.delete(rt.packageName);
    this.lastStarts.set(rt.packageName, rt.lastStart);
    if (this.lastStarts.size > MAX_REMEMBERED_STARTS) this.lastStarts.delete(this.lastStarts.keys().next().value!);
    const about = {
      userId: this.ctx.userId,
      packageName: rt.packageName,
      reqId: pending?.reqId,
      startId: pending?.id,
      durationMs: Date.now() - rt.startedAt,
    };
    this.metrics?.recordAppStart(result.ok ? 'ok' : result.stage, about.durationMs);
    if (result.ok) this.ctx.logger.log({ msg: `${rt.packageName} started`, event: 'app.started', ...about });
    if (!result.ok && this.connections.get(rt.packageName) === rt && rt.state === 'loading') {
      this.ctx.logger.warn({
        msg: `start of ${rt.packageName} failed at ${result.stage}: ${result.message}`,
        event: 'app.start_failed',
        stage: result.stage,
        ...about,
      });
      // The app accepted the session but never connected: tell it to drop whatever it set up.
      if (result.stage === 'TIMEOUT') this.sendStopWebhook(rt, 'error');
      this.connections.delete(rt.packageName);
      this.ctx.emit('appStopped', { packageName: rt.packageName, reason: 'error' });
      const retried = pending !== undefined && keepRecordOnTransient.has(pending) && transientFailures.has(result);
      if (result.stage !== 'SESSION_ENDED' && !retried) await this.forgetRunning(rt.packageName);
      this.notifyGlassesAppState();
    }
    return result;
  }

  /** Apps besides `rt` that count against MAX_APPS_PER_USER: not stopping, not the dashboard, not a standard app this standard start replaces. */
  private appsCountedAgainstLimit(rt: AppRuntime, app: AppRecord): number {
    let n = 0;
    for (const other of this.connections.values()) {
      if (other === rt || other.state === 'stopping' || other.packageName === this.config.systemDashboardPackage)
        continue;
      if (app.appType === 'standard' && other.app.appType === 'standard') continue;
      n++;
    }
    return n;
  }

  /** On a fresh session: every app the user had running (persisted) starts again. */
  async startPreviouslyRunning(): Promise<void> {
    const user = await this.users.findById(this.ctx.userId);
    if (this.ctx.isDisposed) return;
    const dashboard = this.config.systemDashboardPackage;
    const wanted = new Set(user?.runningApps ?? []);
    if (await this.apps.findByPackageName(dashboard)) wanted.add(dashboard);
    await Promise.allSettled([...wanted].map((pkg) => this.restore(pkg)));
  }

  /**
   * Starts a persisted running app again; a transient failure is retried with backoff while the session lives, the
   * app staying in the running apps until the last try (a restore storm must not lose what the user had running).
   */
  private async restore(packageName: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const retriesLeft = attempt < this.config.appRestoreRetries;
      const result = await this.startApp(packageName, { keepRecordOnTransientFailure: retriesLeft });
      if (result.ok || !retriesLeft || !transientFailures.has(result) || this.ctx.isDisposed) return;
      const ceiling = Math.min(RESTORE_RETRY_MAX_MS, RESTORE_RETRY_BASE_MS * 2 ** attempt);
      const delayMs = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
      this.ctx.logger.warn({
        msg: `restoring ${packageName} failed at ${result.stage}; try ${attempt + 2} in ${delayMs} ms`,
        event: 'app.restore_retry',
        userId: this.ctx.userId,
        packageName,
        stage: result.stage,
        attempt: attempt + 1,
      });
      if (!(await this.waitToRestore(packageName, delayMs))) return;
    }
  }

  /** True when the wait ran out; false when a stop, a user's start or the session's end cancelled it. */
  private waitToRestore(packageName: string, delayMs: number): Promise<boolean> {
    const waits = (this.restoreWaits ??= new Map());
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        waits.delete(packageName);
        resolve(true);
      }, delayMs);
      waits.set(packageName, () => {
        clearTimeout(timer);
        waits.delete(packageName);
        resolve(false);
      });
    });
  }

  // ---------------------------------------------------------------- init from the app socket

  /**
   * Called by the app gateway after the API key was verified. `bind` runs just before the ack goes
   * out, because the SDK sends its first subscription_update the moment the ack arrives.
   */
  async handleInit(ws: WebSocket, app: AppRecord, bind: (rt: AppRuntime) => void): Promise<InitOutcome> {
    const rt = this.connections.get(app.packageName);
    if (!rt || rt.state === 'stopping') {
      return { ok: false, code: 'APP_NOT_STARTED', message: `App ${app.packageName} is not started for this user` };
    }
    const reconnect = rt.state !== 'loading';
    const previous = rt.ws;
    rt.app = app;
    rt.ws = ws;
    rt.state = 'running';
    rt.connectedAt = Date.now();
    rt.ownershipReleased = false;
    if (rt.graceTimer) {
      clearTimeout(rt.graceTimer);
      rt.graceTimer = undefined;
    }
    if (previous && previous !== ws && previous.readyState === OPEN)
      previous.close(1000, 'Replaced by a new connection');
    this.subscriptions.registerApp(app.packageName, app.permissions, rt.connectedAt);
    const user = await this.users.findById(this.ctx.userId);
    if (rt.ws !== ws) return { ok: true, rt }; // replaced again meanwhile
    const settings = mergeSettings(
      app.settings,
      user?.appSettings.find((s) => s.packageName === app.packageName)?.settings,
    );
    const mentraos = buildMentraosSettings(user?.userSettings);
    bind(rt);
    batchWrites(ws); // the ack, the device snapshot and the dashboard mode leave in one write
    ws.send(
      JSON.stringify({
        type: 'tpa_connection_ack',
        sessionId: rt.sessionId,
        settings,
        mentraosSettings: mentraos,
        augmentosSettings: mentraos,
        capabilities: this.device.capabilities,
        timestamp: new Date().toISOString(),
      }),
    );
    this.device.sendSnapshot(app.packageName);
    rt.start?.settle({ ok: true, packageName: app.packageName });
    this.used.add(app.packageName);
    this.ctx.emit('appRunning', { packageName: app.packageName, app, reconnect });
    this.notifyGlassesAppState();
    await this.users
      .addRunningApp(this.ctx.userId, app.packageName)
      .catch((err) => this.ctx.logger.error(`persisting running app failed: ${errorMessage(err)}`));
    return { ok: true, rt };
  }

  /** The SDK says it is handing the session to another cloud: its next close must not resurrect it. */
  handleOwnershipRelease(packageName: string, ws: WebSocket): void {
    const rt = this.connections.get(packageName);
    if (rt && rt.ws === ws) rt.ownershipReleased = true;
  }

  /** An app socket closed. Stale sockets (already replaced) are ignored. */
  handleAppSocketClose(packageName: string, ws: WebSocket, code: number): void {
    const rt = this.connections.get(packageName);
    if (!rt || rt.ws !== ws) return;
    rt.ws = null;
    if (rt.state !== 'running') return;
    // An app that released ownership also waits: the SDK releases a session when a session_request for the same
    // session id reaches it, and connects the new one right after. After a failover or a hand-over that request is
    // ours (startPreviouslyRunning) while the old session's reconnect may just have landed here. It is not
    // resurrected when no socket comes.
    const released = rt.ownershipReleased;
    this.ctx.logger.log(
      released
        ? `${packageName} released ownership; waiting ${this.config.appGraceMs} ms, not resurrecting`
        : `${packageName} socket closed (${code}); grace ${this.config.appGraceMs} ms`,
    );
    rt.state = 'grace';
    rt.graceTimer = setTimeout(() => {
      rt.graceTimer = undefined;
      if (rt.state !== 'grace' || this.connections.get(packageName) !== rt) return;
      if (released) {
        this.connections.delete(packageName);
        this.ctx.emit('appStopped', { packageName, reason: 'system_stop' });
        this.notifyGlassesAppState();
      } else if (this.ctx.glassesOpen) void this.resurrect(packageName);
      else rt.state = 'dormant';
    }, this.config.appGraceMs);
  }

  private resurrectDormant(): void {
    for (const rt of [...this.connections.values()]) if (rt.state === 'dormant') void this.resurrect(rt.packageName);
  }

  private async resurrect(packageName: string): Promise<void> {
    this.ctx.logger.log(`resurrecting ${packageName}`);
    await this.stopApp(packageName, 'system_stop', { keepRunningRecord: true });
    const result = await this.startApp(packageName);
    if (!result.ok) this.ctx.logger.warn(`resurrection of ${packageName} failed at ${result.stage}: ${result.message}`);
  }

  // ---------------------------------------------------------------- stop

  /** Returns false when the app was not started. */
  async stopApp(packageName: string, reason: StopReason, opts: { keepRunningRecord?: boolean } = {}): Promise<boolean> {
    const rt = this.connections.get(packageName);
    if (!rt && this.restoreWaits?.has(packageName)) {
      // Between two restore attempts: not running, but still in the user's running apps until now.
      this.restoreWaits.get(packageName)!();
      if (!opts.keepRunningRecord) await this.forgetRunning(packageName);
      return true;
    }
    if (!rt || rt.state === 'stopping') return false;
    const wasLoading = rt.state === 'loading';
    rt.state = 'stopping';
    if (rt.graceTimer) clearTimeout(rt.graceTimer);
    if (rt.start) {
      rt.start.abort.abort();
      rt.start.settle({ ok: false, packageName, stage: 'CANCELLED', message: 'The app was stopped while starting' });
    }
    if (!wasLoading) this.sendStopWebhook(rt, reason);
    const ws = rt.ws;
    rt.ws = null;
    if (ws && ws.readyState === OPEN) {
      ws.send(JSON.stringify({ type: 'app_stopped', timestamp: new Date().toISOString() }));
      ws.close(1000, 'App stopped');
    }
    this.connections.delete(packageName);
    this.ctx.emit('appStopped', { packageName, reason });
    this.notifyGlassesAppState();
    if (!opts.keepRunningRecord) await this.forgetRunning(packageName);
    return true;
  }

  /** Not awaited by callers: a dead app server must not hold up a stop. */
  private sendStopWebhook(rt: AppRuntime, reason: StopReason): void {
    if (!rt.app.publicUrl) return;
    const url = `${rt.app.publicUrl.replace(/\/+$/, '')}/webhook`;
    const body = {
      type: 'stop_request',
      sessionId: rt.sessionId,
      userId: this.ctx.userId,
      reason,
      timestamp: new Date().toISOString(),
    };
    void this.webhooks
      .postOnce(url, body, undefined, currentContext()?.reqId)
      .catch((err) => this.ctx.logger.warn(`stop webhook of ${rt.packageName}: ${errorMessage(err)}`));
  }

  private async stopIncompatibleApps(): Promise<void> {
    const caps = this.device.capabilities;
    if (!caps || !this.device.isKnownModel) return;
    const checks = [...this.connections.values()].filter((rt) => rt.state !== 'stopping' && rt.state !== 'loading');
    await Promise.allSettled(
      checks.map(async (rt) => {
        const fresh = (await this.apps.findByPackageName(rt.packageName)) ?? rt.app;
        const compat = checkCompatibility(fresh.hardwareRequirements, caps, true);
        if (compat.compatible) return;
        this.ctx.logger.warn(`stopping ${rt.packageName}: ${compat.message} (${caps.modelName})`);
        this.connections.sendJson(rt.packageName, {
          type: 'tpa_connection_error',
          code: 'HARDWARE_INCOMPATIBLE',
          message: compat.message,
          timestamp: new Date().toISOString(),
        });
        await this.stopApp(rt.packageName, 'system_stop');
      }),
    );
  }

  private async forgetRunning(packageName: string): Promise<void> {
    await this.users
      .removeRunningApp(this.ctx.userId, packageName)
      .catch((err) => this.ctx.logger.error(`persisting stop failed: ${errorMessage(err)}`));
  }

  /**
   * Tells the glasses the app list changed (the phone then fetches it over REST). A burst is one signal at once
   * and one more at the end of the window: a start's "loading", its init and its subscription updates used to be
   * four messages and four REST fetches within a few tens of milliseconds.
   */
  notifyGlassesAppState(): void {
    if (this.appStateTimer !== undefined) {
      this.appStateDirty = true;
      return;
    }
    this.sendAppState();
    this.appStateTimer = setTimeout(() => this.endAppStateWindow(), APP_STATE_WINDOW_MS);
  }

  /** The end of a notifyGlassesAppState window: one more signal when something changed during it. */
  private endAppStateWindow(): void {
    if (!this.appStateDirty || this.ctx.isDisposed) {
      this.appStateTimer = undefined;
      return;
    }
    this.appStateDirty = false;
    this.sendAppState();
    this.appStateTimer = setTimeout(() => this.endAppStateWindow(), APP_STATE_WINDOW_MS);
  }

  private sendAppState(): void {
    this.ctx.sendToGlasses({
      type: 'app_state_change',
      sessionId: this.ctx.userId,
      timestamp: new Date().toISOString(),
    });
  }

  // ---------------------------------------------------------------- views and disposal

  runningApps(): string[] {
    return this.connections.packagesIn('running', 'grace', 'dormant');
  }

  loadingApps(): string[] {
    return this.connections.packagesIn('loading');
  }

  /** The apps that connected at some point of this session, in the order they first did. */
  appsUsed(): string[] {
    return [...this.used];
  }

  describe(): Array<{ packageName: string; state: string; connected: boolean; lastStart?: AppRuntime['lastStart'] }> {
    const live = [...this.connections.values()].map((rt) => ({
      packageName: rt.packageName,
      state: rt.state,
      connected: rt.ws?.readyState === OPEN,
      lastStart: rt.lastStart ?? this.lastStarts.get(rt.packageName),
    }));
    const stopped = [...this.lastStarts]
      .filter(([pkg]) => !this.connections.get(pkg))
      .map(([packageName, lastStart]) => ({ packageName, state: 'stopped', connected: false, lastStart }));
    return [...live, ...stopped];
  }

  /** Session end: every app is told and closed; the persisted running list is kept for the next session. */
  private disposeApps(): void {
    if (this.appStateTimer !== undefined) clearTimeout(this.appStateTimer);
    this.appStateTimer = undefined;
    const stamp = new Date().toISOString();
    if (this.restoreWaits) for (const cancel of [...this.restoreWaits.values()]) cancel();
    for (const rt of [...this.connections.values()]) {
      if (rt.graceTimer) clearTimeout(rt.graceTimer);
      if (rt.start) {
        if (rt.start.initTimer) clearTimeout(rt.start.initTimer);
        if (rt.start.refusalTimer) clearTimeout(rt.start.refusalTimer);
        rt.start.abort.abort();
        rt.start.settle({ ok: false, packageName: rt.packageName, stage: 'SESSION_ENDED', message: 'Session ended' });
      }
      const ws = rt.ws;
      rt.ws = null;
      rt.state = 'stopping';
      if (ws && ws.readyState === OPEN) {
        ws.send(JSON.stringify({ type: 'app_stopped', timestamp: stamp }));
        ws.close(1000, 'User session ended');
      }
    }
  }
}
