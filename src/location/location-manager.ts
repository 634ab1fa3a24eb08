import { Injectable, Scope } from '@nestjs/common';
import { EventRelay } from '../relay/event-relay.js';
import { SessionContext, type SessionEvents } from '../session-core/session-context.js';
import { SubscriptionManager } from '../subscriptions/subscription-manager.js';
import type { GlassesInbound } from '../protocol/glasses-inbound.js';
import { LOCATION_TIERS, type LocationTierName } from '../protocol/vocabulary.js';
import type { Result } from '../common/result.js';
import { LazyMap } from '../common/lazy-collections.js';

export { LOCATION_TIERS };
export type LocationTier = LocationTierName;

/** How old a cached fix may be to answer a poll at each accuracy. */
export const TIER_MAX_AGE_MS: Record<LocationTier, number> = {
  realtime: 1_000,
  high: 10_000,
  standard: 30_000,
  tenMeters: 30_000,
  hundredMeters: 60_000,
  kilometer: 300_000,
  threeKilometers: 900_000,
  reduced: 900_000,
};

export const POLL_TIMEOUT_MS = 15_000;

export interface Fix {
  lat: number;
  lng: number;
  accuracy?: number;
  at: number;
}

export type PollResult = Result<
  { answered: 'cache' | 'glasses' },
  'MALFORMED_MESSAGE' | 'GLASSES_NOT_CONNECTED' | 'PERMISSION_DENIED'
>;

interface PendingPoll {
  packageName: string;
  timer: NodeJS.Timeout;
}

/**
 * The location tier the phone should sample at (highest rate among `location_stream` subscribers,
 * re-sent on every reconnect), the last fix, and polls answered only to the app that asked.
 * Pending polls expire, unlike upstream's.
 */
@Injectable({ scope: Scope.REQUEST })
export class LocationManager {
  private tier: LocationTier = 'reduced';
  private lastFix: Fix | null = null;
  private readonly pending = new LazyMap<string, PendingPoll>();

  constructor(
    private readonly ctx: SessionContext,
    private readonly subscriptions: SubscriptionManager,
    private readonly relay: EventRelay,
  ) {
    ctx.on('subscriptionsChanged', this.onSubscriptionsChanged, this);
    ctx.on('glassesConnected', this.onGlassesConnected, this);
    ctx.on('appStopped', this.onAppStopped, this);
    ctx.defer(this.dispose, this);
  }

  private onSubscriptionsChanged({ packageName, added }: SessionEvents['subscriptionsChanged']): void {
    this.updateTier(false);
    if (this.lastFix && added.some((s) => s === 'location_update' || s === 'location_stream')) {
      this.relay.sendDataTo(
        packageName,
        added.includes('location_stream') ? 'location_stream' : 'location_update',
        this.fixData(this.lastFix),
      );
    }
  }

  private onGlassesConnected(): void {
    this.updateTier(true);
  }

  private onAppStopped({ packageName }: SessionEvents['appStopped']): void {
    this.dropPollsOf(packageName);
  }

  private dispose(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }

  get effectiveTier(): LocationTier {
    return this.tier;
  }

  get fix(): Fix | null {
    return this.lastFix;
  }

  private desiredTier(): LocationTier {
    let best = 0;
    for (const rate of this.subscriptions.locationRates()) {
      const i = LOCATION_TIERS.indexOf(rate as LocationTier);
      if (i > best) best = i;
    }
    return LOCATION_TIERS[best]!;
  }

  private updateTier(force: boolean): void {
    const tier = this.desiredTier();
    if (tier === this.tier && !force) return;
    this.tier = tier;
    this.ctx.sendToGlasses({ type: 'set_location_tier', tier, timestamp: new Date().toISOString() });
  }

  /**
   * A `location_update` from the glasses. Returns false when it answered a poll: such a reply goes
   * only to the asking app and is not relayed or cached as the broadcast fix.
   */
  handleUpdate(msg: GlassesInbound<'location_update'>): boolean {
    const fix: Fix = { lat: msg.lat, lng: msg.lng, accuracy: msg.accuracy, at: Date.now() };
    const correlationId = msg.correlationId ?? null;
    const poll = correlationId ? this.pending.get(correlationId) : undefined;
    if (poll && correlationId) {
      clearTimeout(poll.timer);
      this.pending.delete(correlationId);
      this.relay.sendDataTo(poll.packageName, 'location_update', { ...this.fixData(fix), correlationId });
      return false;
    }
    this.lastFix = fix;
    return true;
  }

  /** The fields of `location_poll_request` after its check (`src/protocol/app-checks.ts`). */
  poll(packageName: string, accuracy: LocationTier | undefined, correlationId: string): PollResult {
    // The fix is as private as the location_update stream, which needs LOCATION.
    if (!this.subscriptions.appMay(packageName, 'location_update')) {
      return { ok: false, code: 'PERMISSION_DENIED', message: 'A location poll needs the LOCATION permission' };
    }
    const tier: LocationTier = accuracy ?? 'standard';
    if (this.lastFix && Date.now() - this.lastFix.at <= TIER_MAX_AGE_MS[tier]) {
      this.relay.sendDataTo(packageName, 'location_update', { ...this.fixData(this.lastFix), correlationId });
      return { ok: true, answered: 'cache' };
    }
    if (!this.ctx.glassesOpen)
      return {
        ok: false,
        code: 'GLASSES_NOT_CONNECTED',
        message: 'The glasses are not connected (cloud → phone), and no fresh enough location is cached',
      };
    const previous = this.pending.get(correlationId);
    if (previous) clearTimeout(previous.timer);
    const timer = setTimeout(() => {
      this.pending.delete(correlationId);
      this.relay.sendTo(packageName, {
        type: 'tpa_connection_error',
        code: 'LOCATION_TIMEOUT',
        message: `No location from the glasses within ${POLL_TIMEOUT_MS} ms`,
        details: { correlationId },
        timestamp: new Date().toISOString(),
      });
    }, POLL_TIMEOUT_MS);
    this.pending.set(correlationId, { packageName, timer });
    this.ctx.sendToGlasses({
      type: 'request_single_location',
      accuracy: tier,
      correlationId,
      timestamp: new Date().toISOString(),
    });
    return { ok: true, answered: 'glasses' };
  }

  /** Polls of an app that stopped are dropped. */
  dropPollsOf(packageName: string): void {
    for (const [id, p] of this.pending) {
      if (p.packageName !== packageName) continue;
      clearTimeout(p.timer);
      this.pending.delete(id);
    }
  }

  get pendingPolls(): number {
    return this.pending.size;
  }

  private fixData(fix: Fix): Record<string, unknown> {
    return {
      type: 'location_update',
      lat: fix.lat,
      lng: fix.lng,
      ...(fix.accuracy !== undefined ? { accuracy: fix.accuracy } : {}),
      timestamp: new Date(fix.at).toISOString(),
    };
  }
}
