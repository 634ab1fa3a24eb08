import { Injectable, Scope } from '@nestjs/common';
import { SessionContext } from '../session-core/session-context.js';
import { audioNeedOf } from '../subscriptions/stream-types.js';
import { SubscriptionManager } from '../subscriptions/subscription-manager.js';

export interface MicState {
  isMicrophoneEnabled: boolean;
  requiredData: Array<'pcm' | 'transcription' | 'pcm_or_transcription'>;
  bypassVad: boolean;
}

/** Timings from the newest upstream MicrophoneManager. */
export const MIC_TIMINGS = {
  subscriptionDebounceMs: 100,
  offHolddownMs: 3_000,
  keepAliveMs: 10_000,
  unauthorizedAudioDebounceMs: 5_000,
} as const;

/**
 * Level-triggered: the state sent to the glasses is always recomputed from the current subscriptions
 * and the glasses being connected, never derived from earlier messages. Sends are idempotent, so
 * re-sending on every reconnect and on the keep-alive can only repair drift.
 */
@Injectable({ scope: Scope.REQUEST })
export class MicrophoneManager {
  private lastSent: MicState | null = null;
  private debounceTimer: NodeJS.Timeout | null = null;
  private holddownTimer: NodeJS.Timeout | null = null;
  private keepAliveTimer: NodeJS.Timeout | null = null;
  private lastUnauthorizedOffAt = 0;
  /** Whether any app currently needs audio: cached because audio frames ask on every frame. */
  private hasMediaCache = false;

  constructor(
    private readonly ctx: SessionContext,
    private readonly subscriptions: SubscriptionManager,
  ) {
    ctx.on('subscriptionsChanged', this.onSubscriptionsChanged, this);
    ctx.on('glassesConnected', this.onGlassesConnected, this);
    ctx.on('glassesDisconnected', this.onGlassesDisconnected, this);
    ctx.defer(this.clearTimers, this);
  }

  private onGlassesConnected(): void {
    this.sync(true);
  }

  private onGlassesDisconnected(): void {
    // Nothing can be sent; the next connect re-sends the whole state.
    this.lastSent = null;
    this.clearTimers();
  }

  /** What the current subscriptions require (pure). */
  desired(): MicState {
    let pcm = false;
    let media = false;
    for (const { subscription } of this.subscriptions.allSubscriptions()) {
      const need = audioNeedOf(subscription);
      if (need === 'pcm') pcm = true;
      if (need) media = true;
    }
    this.hasMediaCache = media;
    const enabled = media && this.ctx.glassesOpen;
    // Online apps always need PCM from the glasses, transcription included (upstream rule).
    return { isMicrophoneEnabled: enabled, requiredData: enabled ? ['pcm'] : [], bypassVad: enabled && pcm };
  }

  get state(): MicState | null {
    return this.lastSent;
  }

  get hasMedia(): boolean {
    return this.hasMediaCache;
  }

  private onSubscriptionsChanged(): void {
    // Audio frames read the cache: refresh it now, not after the debounce, or audio arriving right
    // after a subscribe would be taken as unauthorized and turn the mic off.
    this.desired();
    // Disconnected: nothing can be sent and the next connect re-sends the whole state, so no timer.
    if (!this.ctx.glassesOpen || this.debounceTimer) return;
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = null;
      this.sync(false);
    }, MIC_TIMINGS.subscriptionDebounceMs);
  }

  /** Turning on is immediate; turning off waits out the holddown and re-checks, so flapping subscriptions do not flap the mic. */
  sync(force: boolean): void {
    const want = this.desired();
    if (!this.ctx.glassesOpen) return;
    if (want.isMicrophoneEnabled) {
      if (this.holddownTimer) {
        clearTimeout(this.holddownTimer);
        this.holddownTimer = null;
      }
      this.send(want, force);
      return;
    }
    if (force || this.lastSent === null || !this.lastSent.isMicrophoneEnabled) {
      this.send(want, force);
      return;
    }
    if (this.holddownTimer) return;
    this.holddownTimer = setTimeout(() => {
      this.holddownTimer = null;
      const again = this.desired();
      this.send(again, false);
    }, MIC_TIMINGS.offHolddownMs);
  }

  /** Audio arrived: if nobody needs it, tell the glasses to stop at once (at most every 5 s). */
  onAudioReceived(now = Date.now()): void {
    if (this.hasMediaCache) {
      if (this.lastSent && !this.lastSent.isMicrophoneEnabled && !this.holddownTimer) this.sync(true);
      return;
    }
    if (now - this.lastUnauthorizedOffAt < MIC_TIMINGS.unauthorizedAudioDebounceMs) return;
    this.lastUnauthorizedOffAt = now;
    this.send({ isMicrophoneEnabled: false, requiredData: [], bypassVad: false }, true);
  }

  private send(state: MicState, force: boolean): void {
    const same =
      this.lastSent !== null &&
      this.lastSent.isMicrophoneEnabled === state.isMicrophoneEnabled &&
      this.lastSent.bypassVad === state.bypassVad &&
      this.lastSent.requiredData.join() === state.requiredData.join();
    if (same && !force) return;
    if (
      !this.ctx.sendToGlasses({
        type: 'microphone_state_change',
        sessionId: this.ctx.userId,
        ...state,
        timestamp: new Date().toISOString(),
      })
    )
      return;
    this.lastSent = state;
    this.scheduleKeepAlive();
  }

  private scheduleKeepAlive(): void {
    if (this.keepAliveTimer) clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = null;
    if (!this.lastSent?.isMicrophoneEnabled) return;
    this.keepAliveTimer = setInterval(() => {
      const want = this.desired();
      if (want.isMicrophoneEnabled) this.send(want, true);
      else this.sync(false);
    }, MIC_TIMINGS.keepAliveMs);
  }

  private clearTimers(): void {
    for (const t of [this.debounceTimer, this.holddownTimer]) if (t) clearTimeout(t);
    if (this.keepAliveTimer) clearInterval(this.keepAliveTimer);
    this.debounceTimer = this.holddownTimer = this.keepAliveTimer = null;
  }
}
