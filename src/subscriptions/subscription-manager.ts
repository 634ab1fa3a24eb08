import { Inject, Injectable, Scope } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import type { AppPermission, PermissionType } from '../persistence/persistence.types.js';
import type { SubscriptionEntry } from '../protocol/app.types.js';
import { SessionContext, type SessionEvents } from '../session-core/session-context.js';
import {
  hasPermission,
  normalizeSubscription,
  parseLanguageStream,
  permissionSet,
  relayKeyOf,
  requiredPermission,
} from './stream-types.js';
import { LazySet } from '../common/lazy-collections.js';

/** One app's interest in one relay key; `streamTypeJson` is pre-serialized for the hot path. */
export interface Subscriber {
  packageName: string;
  subscription: string;
  streamTypeJson: string;
}

export interface RejectedStream {
  stream: string;
  requiredPermission: PermissionType;
  message: string;
}

export interface UpdateResult {
  applied: boolean;
  subscriptions: string[];
  /** Streams dropped for a missing permission that were not already reported to the app. */
  newlyRejected: RejectedStream[];
  /** Language streams dropped by MAX_LANGUAGE_STREAMS_PER_SESSION that were not already reported to the app. */
  newlyOverLimit: string[];
}

interface AppEntry {
  subscriptions: Set<string>;
  granted: Set<PermissionType>;
  /** Rejections already reported, so the SDK's full re-sends do not repeat the same permission_error. */
  reported: LazySet<string>;
  /** Language streams refused by the session's language cap in the last update (reported once each). */
  overLimit: ReadonlySet<string>;
  connectedAt: number;
  locationRate?: string;
}

const MAX_SUBSCRIPTIONS = 200;
const MAX_SUBSCRIPTION_LENGTH = 256;
const EMPTY: readonly Subscriber[] = Object.freeze([]);
/** The usual `overLimit`, shared: an empty Set still allocates its table. */
const NONE: ReadonlySet<string> = new Set();

/**
 * Each app's subscription set (replace semantics) and an index from relay key to subscribers,
 * rebuilt on every change so the relay path is a single Map lookup.
 */
@Injectable({ scope: Scope.REQUEST })
export class SubscriptionManager {
  private readonly apps = new Map<string, AppEntry>();
  private index = new Map<string, Subscriber[]>();
  private wildcard: Subscriber[] = [];

  constructor(
    private readonly ctx: SessionContext,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    ctx.on('appStopped', this.onAppStopped, this);
    ctx.defer(this.dispose, this);
  }

  private onAppStopped({ packageName }: SessionEvents['appStopped']): void {
    this.removeApp(packageName);
  }

  private dispose(): void {
    this.apps.clear();
    this.index.clear();
    this.wildcard = [];
  }

  /** Called when an app's socket is (re)acked: starts the empty-update grace window. */
  registerApp(packageName: string, permissions: AppPermission[], now = Date.now()): void {
    const existing = this.apps.get(packageName);
    if (existing) {
      existing.granted = permissionSet(permissions);
      existing.connectedAt = now;
      return;
    }
    this.apps.set(packageName, {
      subscriptions: new Set(),
      granted: permissionSet(permissions),
      reported: new LazySet(),
      overLimit: NONE,
      connectedAt: now,
    });
  }

  update(packageName: string, raw: readonly SubscriptionEntry[], now = Date.now()): UpdateResult {
    const entry = this.apps.get(packageName);
    if (!entry) return { applied: false, subscriptions: [], newlyRejected: [], newlyOverLimit: [] };
    const wanted = new Set<string>();
    let locationRate: string | undefined;
    for (const item of raw.slice(0, MAX_SUBSCRIPTIONS)) {
      const s = typeof item === 'string' ? item : item.stream;
      if (typeof item !== 'string' && s === 'location_stream' && item.rate !== undefined) locationRate = item.rate;
      if (s.length === 0 || s.length > MAX_SUBSCRIPTION_LENGTH) continue;
      wanted.add(normalizeSubscription(s));
    }
    // The SDK sends [] on ack before onSession registers handlers; honouring it would tear down the mic.
    if (
      wanted.size === 0 &&
      entry.subscriptions.size > 0 &&
      now - entry.connectedAt < this.config.emptySubscriptionGraceMs
    ) {
      return { applied: false, subscriptions: [...entry.subscriptions], newlyRejected: [], newlyOverLimit: [] };
    }
    const allowed = new Set<string>();
    const newlyRejected: RejectedStream[] = [];
    for (const s of wanted) {
      const needed = requiredPermission(s);
      if (hasPermission(entry.granted, needed)) {
        allowed.add(s);
        continue;
      }
      if (!entry.reported.has(s)) {
        entry.reported.add(s);
        newlyRejected.push({
          stream: s,
          requiredPermission: needed!,
          message: `To subscribe to ${s}, add the ${needed} permission to the app`,
        });
      }
    }
    const overLimit = this.capLanguages(packageName, entry, allowed);
    const newlyOverLimit = overLimit.filter((s) => !entry.overLimit.has(s));
    entry.overLimit = overLimit.length > 0 ? new Set(overLimit) : NONE;
    const added = [...allowed].filter((s) => !entry.subscriptions.has(s));
    entry.subscriptions = allowed;
    entry.locationRate = allowed.has('location_stream') ? locationRate : undefined;
    this.rebuild();
    this.ctx.emit('subscriptionsChanged', { packageName, added });
    return { applied: true, subscriptions: [...allowed], newlyRejected, newlyOverLimit };
  }

  /**
   * Each distinct transcription language or translation pair in a session may open a provider stream (paid, for
   * a cloud provider): the session holds at most MAX_LANGUAGE_STREAMS_PER_SESSION of them. Streams the other apps
   * hold and this app already held keep their place; a new one past the cap is removed from `wanted` and returned.
   */
  private capLanguages(packageName: string, entry: AppEntry, wanted: Set<string>): string[] {
    const max = this.config.maxLanguageStreamsPerSession;
    const bases = new Set<string>();
    for (const [pkg, e] of this.apps) {
      if (pkg === packageName) continue;
      for (const s of e.subscriptions) {
        const base = parseLanguageStream(s)?.base;
        if (base) bases.add(base);
      }
    }
    const refused: string[] = [];
    const ordered = [...wanted].sort(
      (a, b) => Number(!entry.subscriptions.has(a)) - Number(!entry.subscriptions.has(b)),
    );
    for (const s of ordered) {
      const base = parseLanguageStream(s)?.base;
      if (!base || bases.has(base)) continue;
      if (bases.size < max) {
        bases.add(base);
        continue;
      }
      wanted.delete(s);
      refused.push(s);
    }
    return refused;
  }

  removeApp(packageName: string): void {
    if (!this.apps.delete(packageName)) return;
    this.rebuild();
    this.ctx.emit('subscriptionsChanged', { packageName, added: [] });
  }

  /** Subscribers whose relay key equals `key` (a glasses message type or a language base). */
  lookup(key: string): readonly Subscriber[] {
    return this.index.get(key) ?? EMPTY;
  }

  get wildcardSubscribers(): readonly Subscriber[] {
    return this.wildcard;
  }

  /** Whether an app holds a permission (used to keep wildcard subscribers out of gated streams). */
  appMay(packageName: string, stream: string): boolean {
    const entry = this.apps.get(packageName);
    return entry !== undefined && hasPermission(entry.granted, requiredPermission(stream));
  }

  subscriptionsOf(packageName: string): string[] {
    return [...(this.apps.get(packageName)?.subscriptions ?? [])];
  }

  all(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [pkg, e] of this.apps) out[pkg] = [...e.subscriptions];
    return out;
  }

  /** Every subscription string across apps (for the microphone and transcription managers). */
  *allSubscriptions(): Iterable<{ packageName: string; subscription: string }> {
    for (const [packageName, e] of this.apps)
      for (const subscription of e.subscriptions) yield { packageName, subscription };
  }

  locationRates(): string[] {
    const rates: string[] = [];
    for (const e of this.apps.values()) if (e.locationRate) rates.push(e.locationRate);
    return rates;
  }

  private rebuild(): void {
    const index = new Map<string, Subscriber[]>();
    const wildcard: Subscriber[] = [];
    for (const [packageName, e] of this.apps) {
      for (const subscription of e.subscriptions) {
        const sub: Subscriber = { packageName, subscription, streamTypeJson: JSON.stringify(subscription) };
        if (subscription === '*' || subscription === 'all') {
          wildcard.push(sub);
          continue;
        }
        const key = relayKeyOf(subscription);
        const list = index.get(key);
        if (list) list.push(sub);
        else index.set(key, [sub]);
      }
    }
    this.index = index;
    this.wildcard = wildcard;
  }
}
