import { Inject, Injectable, Scope } from '@nestjs/common';
import { AppConnections } from '../app-connections/app-connections.js';
import { AppManager } from '../apps/app-manager.js';
import { AudioManager } from '../audio/audio-manager.js';
import { DashboardManager } from '../dashboard/dashboard-manager.js';
import { DeviceManager } from '../device/device-manager.js';
import { DisplayManager } from '../display/display-manager.js';
import { MicrophoneManager } from '../microphone/microphone-manager.js';
import { LocationManager } from '../location/location-manager.js';
import { EventRelay } from '../relay/event-relay.js';
import { SubscriptionManager } from '../subscriptions/subscription-manager.js';
import { TranscriptionManager } from '../transcription/transcription-manager.js';
import { UserSettingsManager } from '../user-settings/user-settings.manager.js';
import { SessionContext, type SessionEvents } from '../session-core/session-context.js';
import { parseLanguageStream } from '../subscriptions/stream-types.js';
import type { TranslationManager } from '../translation/translation-manager.js';
import { LAZY_BUILDER, type LazyBuilder, type LazyHost, type LazyManagers, type LazyName } from './lazy-managers.js';

export interface SessionSummary {
  userId: string;
  startTime: string;
  disconnectedAt: string | null;
  glassesConnected: boolean;
  runningApps: string[];
  loadingApps: string[];
  apps: ReturnType<AppManager['describe']>;
  subscriptions: Record<string, string[]>;
  modelName: string | null;
  capabilities: DeviceManager['capabilities'];
  microphone: MicrophoneManager['state'];
  isTranscribing: boolean;
  display: ReturnType<DisplayManager['describe']>;
  dashboard: ReturnType<DashboardManager['describe']>;
  location: { tier: string; lastFix: LocationManager['fix']; pendingPolls: number };
  device: ReturnType<DeviceManager['snapshot']>;
  audio: { pendingPlays: number; recentAudioBytes: number; lastAudioAt: string | null };
  transcription: ReturnType<TranscriptionManager['describe']>;
  translation: ReturnType<TranslationManager['describe']>;
  media: {
    pendingPhotos: number;
    stream: { streamId: string; packageName: string; status: string; managed: boolean } | null;
  };
  counters: { relayedEvents: number; deliveredFrames: number; audioFrames: number; audioBytes: number };
}

/** A lazy manager's slot: the manager once built, its build while pending. */
type Slot<K extends LazyName> = LazyManagers[K] | Promise<LazyManagers[K]> | undefined;
type LazySlots = { [K in LazyName]?: Slot<K> };

/** What the admin view shows of translation before the session ever used it. */
const noTranslation = (): ReturnType<TranslationManager['describe']> => ({
  streams: [],
  textTranslation: [],
  errors: 0,
  lastError: null,
});

/**
 * One user's session: the glasses socket (in the context), the apps and one manager per concern, all in one DI
 * context per user. Built only by SessionRegistry.
 *
 * The managers every session needs are built with it (constructor parameters); the rarely used ones
 * (LAZY_MANAGERS) on first use, in the same user's context: `use(name)` builds one once (concurrent first uses
 * share the build) and `built(name)` reads one without building it. A lazy manager registers its cleanup with
 * the SessionContext like the others, so `dispose()` disposes it, and one whose build ends after the session
 * did is disposed as soon as it registers (SessionContext.defer).
 */
@Injectable({ scope: Scope.REQUEST })
export class UserSession implements LazyHost {
  /** Not enumerable (a # field): the builder is shared by every session and outlives them all. */
  readonly #builder: LazyBuilder;
  /** Allocated on the first lazy build: most sessions never make one. */
  private lazy: LazySlots | null = null;

  constructor(
    readonly ctx: SessionContext,
    readonly apps: AppManager,
    readonly connections: AppConnections,
    readonly subscriptions: SubscriptionManager,
    readonly device: DeviceManager,
    readonly microphone: MicrophoneManager,
    readonly display: DisplayManager,
    readonly relay: EventRelay,
    readonly audio: AudioManager,
    readonly transcription: TranscriptionManager,
    readonly dashboard: DashboardManager,
    readonly location: LocationManager,
    readonly userSettings: UserSettingsManager,
    @Inject(LAZY_BUILDER) builder: LazyBuilder,
  ) {
    this.#builder = builder;
    ctx.on('subscriptionsChanged', this.onSubscriptionsChanged, this);
  }

  /**
   * The translation manager follows subscriptions once built; the first translation subscription builds it, and
   * it then reconciles with what the subscriptions are by then (it missed the change that built it).
   */
  private onSubscriptionsChanged({ added }: SessionEvents['subscriptionsChanged']): void {
    if (this.lazy?.translation !== undefined) return;
    if (!added.some((s) => parseLanguageStream(s)?.kind === 'translation')) return;
    this.use('translation')
      .then((translation) => translation.reconcile())
      .catch((err: unknown) =>
        this.ctx.logger.error(`building the translation manager failed: ${(err as Error)?.stack ?? String(err)}`),
      );
  }

  /** The lazy manager if it is built; undefined (and nothing built) otherwise, also while its build is pending. */
  built<K extends LazyName>(name: K): LazyManagers[K] | undefined {
    const slot = this.lazy?.[name] as Slot<K>;
    return slot instanceof Promise ? undefined : slot;
  }

  /** True while the lazy manager's build is pending (asked for, not built yet). */
  building(name: LazyName): boolean {
    return this.lazy?.[name] instanceof Promise;
  }

  /**
   * The lazy manager, built on the first call in this user's DI context and the same one after. Callers waiting
   * for one build are answered in the order they asked; a failed build is tried again by the next call.
   */
  use<K extends LazyName>(name: K): Promise<LazyManagers[K]> {
    const slot = this.lazy?.[name] as Slot<K>;
    if (slot !== undefined) return slot instanceof Promise ? slot : Promise.resolve(slot);
    const slots = (this.lazy ??= {});
    const pending = this.#builder.build(this, name).then(
      (manager) => {
        (slots as Record<K, Slot<K>>)[name] = manager;
        return manager;
      },
      (err: unknown) => {
        delete slots[name];
        throw err;
      },
    );
    (slots as Record<K, Slot<K>>)[name] = pending;
    return pending;
  }

  /** The managers built so far: what a lazy build registers in its context as this user's instances. */
  *builtInstances(): Iterable<object> {
    for (const value of Object.values(this))
      if (value !== null && value !== this.lazy && typeof value === 'object') yield value;
    if (this.lazy) for (const slot of Object.values(this.lazy)) if (!(slot instanceof Promise)) yield slot;
  }

  get userId(): string {
    return this.ctx.userId;
  }

  /** Lazy managers not built yet are reported in their empty state, not built for it. */
  summary(): SessionSummary {
    const stream = this.built('video')?.current;
    return {
      userId: this.ctx.userId,
      startTime: this.ctx.startTime.toISOString(),
      disconnectedAt: this.ctx.disconnectedAt?.toISOString() ?? null,
      glassesConnected: this.ctx.glassesOpen,
      runningApps: this.apps.runningApps(),
      loadingApps: this.apps.loadingApps(),
      apps: this.apps.describe(),
      subscriptions: this.subscriptions.all(),
      modelName: this.device.modelName,
      capabilities: this.device.capabilities,
      microphone: this.microphone.state,
      isTranscribing: this.transcription.isTranscribing,
      display: this.display.describe(),
      dashboard: this.dashboard.describe(),
      location: {
        tier: this.location.effectiveTier,
        lastFix: this.location.fix,
        pendingPolls: this.location.pendingPolls,
      },
      device: this.device.snapshot(),
      transcription: this.transcription.describe(),
      translation: this.built('translation')?.describe() ?? noTranslation(),
      media: {
        pendingPhotos: this.built('photo')?.pendingCount ?? 0,
        stream: stream
          ? {
              streamId: stream.streamId,
              packageName: stream.packageName,
              status: stream.status,
              managed: !!stream.onStatus,
            }
          : null,
      },
      audio: {
        pendingPlays: this.audio.pendingPlays,
        recentAudioBytes: this.audio.recentAudio().length,
        lastAudioAt: this.audio.lastAudioAt ? new Date(this.audio.lastAudioAt).toISOString() : null,
      },
      counters: {
        relayedEvents: this.relay.relayed,
        deliveredFrames: this.relay.delivered,
        audioFrames: this.audio.framesReceived,
        audioBytes: this.audio.bytesReceived,
      },
    };
  }

  dispose(): Promise<unknown[]> {
    return this.ctx.dispose();
  }
}
