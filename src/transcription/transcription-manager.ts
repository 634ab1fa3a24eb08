import { Inject, Injectable, Scope } from '@nestjs/common';
import { AudioManager } from '../audio/audio-manager.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { MicrophoneManager } from '../microphone/microphone-manager.js';
import { EventRelay } from '../relay/event-relay.js';
import { SessionContext } from '../session-core/session-context.js';
import { parseLanguageStream } from '../subscriptions/stream-types.js';
import { SubscriptionManager } from '../subscriptions/subscription-manager.js';
import type { ProviderResult, StreamSpec } from './providers/provider.types.js';
import { ProviderRegistry } from './providers/provider-registry.js';
import { StreamSlot, type SlotView } from './stream-slot.js';
import type { GlassesInbound } from '../protocol/glasses-inbound.js';
import { LazyMap, LazySet } from '../common/lazy-collections.js';

const KEEPALIVE_MS = 10_000;

export interface TranscriptionData {
  type: 'transcription';
  text: string;
  isFinal: boolean;
  utteranceId?: string;
  speakerId?: number;
  confidence?: number;
  startTime: number;
  endTime: number;
  transcribeLanguage: string;
  detectedLanguage?: string;
  provider: string;
}

export type TranscriptListener = (language: string, data: TranscriptionData) => void;

/**
 * Transcription for `transcription:<lang>` subscribers. The set of provider streams is a pure function
 * of the running apps' subscriptions, extra needs of other managers (translation) and the VAD state:
 * one stream per base language, shared by every subscriber whatever its options, reconciled on every
 * change, so reconnects can never leave duplicates. Each subscriber gets its own subscription string
 * back as streamType. Phone-side transcripts (`local_transcription`) reach the same subscribers.
 */
@Injectable({ scope: Scope.REQUEST })
export class TranscriptionManager {
  private readonly slots = new LazyMap<string, StreamSlot>();
  private readonly utterances = new LazyMap<string, { seq: number; open: boolean }>();
  private readonly extraNeeds = new LazyMap<string, Set<string>>();
  private readonly listeners = new LazySet<TranscriptListener>();
  private lastVad: boolean | null = null;
  private lastAudioAt = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private keepaliveTimer: NodeJS.Timeout | null = null;
  private removeSink: (() => void) | null = null;
  private localUtterance: string | null = null;
  /** Other managers that need VAD-less audio to count as speech (translation streams). */
  private audioWanted = 0;
  private localSeq = 0;
  /** Phone-side transcripts not delivered because a cloud stream covered their language. */
  private localDropped = 0;

  constructor(
    private readonly ctx: SessionContext,
    private readonly subscriptions: SubscriptionManager,
    private readonly relay: EventRelay,
    private readonly audio: AudioManager,
    private readonly microphone: MicrophoneManager,
    private readonly registry: ProviderRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    ctx.on('subscriptionsChanged', this.reconcile, this);
    ctx.on('glassesConnected', this.reconcile, this);
    ctx.defer(this.shutdown, this);
  }

  get isTranscribing(): boolean {
    for (const s of this.slots.values()) if (s.state === 'open' || s.state === 'opening') return true;
    return false;
  }

  /** Other managers (translation) ask for a language's transcripts even without a direct subscriber. */
  require(language: string, owner: string, needed: boolean): void {
    const owners = this.extraNeeds.get(language) ?? new Set<string>();
    if (needed) owners.add(owner);
    else owners.delete(owner);
    if (owners.size > 0) this.extraNeeds.set(language, owners);
    else this.extraNeeds.delete(language);
    this.reconcile();
  }

  /** Translation streams need the same speech gating: audio arrival must be noticed for them too. */
  wantAudio(wanted: boolean): void {
    this.audioWanted = Math.max(0, this.audioWanted + (wanted ? 1 : -1));
    this.reconcile();
  }

  onTranscript(listener: TranscriptListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** What should exist, ignoring VAD: language → merged spec. */
  desiredSpecs(): Map<string, StreamSpec> {
    const out = new Map<string, StreamSpec>();
    const noLid = new Map<string, boolean>();
    for (const { subscription } of this.subscriptions.allSubscriptions()) {
      const stream = parseLanguageStream(subscription);
      if (!stream || stream.kind !== 'transcription') continue;
      const lang = stream.transcribeLanguage;
      const spec = out.get(lang) ?? { language: lang, hints: [], identifyLanguage: true };
      const hints = stream.options.hints;
      if (typeof hints === 'string')
        for (const h of hints.split(',')) if (h && !spec.hints.includes(h)) spec.hints.push(h);
      // Identification stays on unless every subscriber of the language turned it off.
      noLid.set(lang, (noLid.get(lang) ?? true) && stream.options['no-language-identification'] === true);
      out.set(lang, spec);
    }
    for (const [lang, spec] of out) spec.identifyLanguage = !noLid.get(lang);
    for (const lang of this.extraNeeds.keys())
      if (!out.has(lang)) out.set(lang, { language: lang, hints: [], identifyLanguage: true });
    return out;
  }

  private lastActive = false;

  /** Speech (VAD), audio with no VAD reported yet, or a bypass-VAD subscriber keeps streams open. */
  isActive(now = Date.now()): boolean {
    return this.active(now);
  }

  private active(now = Date.now()): boolean {
    if (this.microphone.state?.bypassVad) return true;
    if (this.lastVad !== null) return this.lastVad;
    return now - this.lastAudioAt < this.config.media.idleCloseMs;
  }

  reconcile(): void {
    if (this.ctx.isDisposed) return;
    const specs = this.registry.hasCloudProvider ? this.desiredSpecs() : new Map<string, StreamSpec>();
    const active = this.active();
    const wanted = active ? specs : new Map<string, StreamSpec>();
    if (active !== this.lastActive) {
      this.lastActive = active;
      this.ctx.emit('speechChanged', { active });
    }
    for (const [lang, slot] of this.slots) {
      const spec = wanted.get(lang);
      if (spec && sameSpec(spec, slot.spec)) continue;
      slot.close();
      this.slots.delete(lang);
    }
    for (const [lang, spec] of wanted) {
      if (this.slots.has(lang)) continue;
      this.slots.set(
        lang,
        new StreamSlot(
          `transcription:${lang}`,
          spec,
          this.registry,
          this.config.media,
          (r, provider) => this.onResult(lang, r, provider),
          (m) => this.ctx.logger.warn(m),
        ),
      );
    }
    // Audio is only routed here while there is somewhere to put it (or a chance to need it).
    const wantsAudio = specs.size > 0 || this.audioWanted > 0;
    if (wantsAudio && !this.removeSink) this.removeSink = this.audio.addSink((pcm) => this.onAudio(pcm));
    if (!wantsAudio && this.removeSink) {
      this.removeSink();
      this.removeSink = null;
    }
    this.scheduleKeepalive();
  }

  private onAudio(pcm: Buffer): void {
    const now = Date.now();
    this.lastAudioAt = now;
    // Reconcile when activity differs from what the last reconcile saw: audio after silence, or a bypass-VAD
    // mic state that was sent (debounced) after the subscription change whose reconcile found no speech.
    if (this.active(now) !== this.lastActive) this.reconcile();
    for (const slot of this.slots.values()) slot.write(pcm);
  }

  /** `VAD` from the glasses: speech opens or resumes streams; silence finalizes, then closes idle streams. */
  handleVad(msg: GlassesInbound<'VAD'>): void {
    const speaking = msg.status === true || msg.status === 'true';
    this.lastVad = speaking;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (speaking) {
      this.reconcile();
      return;
    }
    for (const slot of this.slots.values()) slot.finalize();
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      this.reconcile();
    }, this.config.media.idleCloseMs);
  }

  private scheduleKeepalive(): void {
    if (this.slots.size === 0) {
      if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
      this.keepaliveTimer = null;
      return;
    }
    if (this.keepaliveTimer) return;
    this.keepaliveTimer = setInterval(() => {
      if (Date.now() - this.lastAudioAt < KEEPALIVE_MS) return;
      for (const slot of this.slots.values()) slot.keepalive();
    }, KEEPALIVE_MS);
    this.keepaliveTimer.unref();
  }

  private onResult(language: string, r: ProviderResult, provider: string): void {
    const u = this.utterances.get(language) ?? { seq: 1, open: false };
    this.utterances.set(language, u);
    u.open = true;
    const now = Date.now();
    const span = r.startMs !== undefined && r.endMs !== undefined ? Math.max(0, r.endMs - r.startMs) : 0;
    const data: TranscriptionData = {
      type: 'transcription',
      text: r.text,
      isFinal: r.isFinal,
      utteranceId: `${language}-${u.seq}`,
      ...(r.speakerId !== undefined ? { speakerId: r.speakerId } : {}),
      ...(r.confidence !== undefined ? { confidence: r.confidence } : {}),
      startTime: now - span,
      endTime: now,
      transcribeLanguage: language,
      ...(r.detectedLanguage ? { detectedLanguage: r.detectedLanguage } : {}),
      provider,
    };
    if (r.isFinal) {
      u.seq++;
      u.open = false;
    }
    this.deliver(language, data);
  }

  /**
   * Phone-side transcripts (`local_transcription`) delivered as proper transcription data, unless a cloud
   * provider stream transcribes the same language right now: the same speech would reach the apps twice
   * (two finals per utterance). While that stream is down (backoff, provider cooling off) the phone's are used.
   */
  handleLocalTranscription(msg: GlassesInbound<'local_transcription'>): void {
    const lang = msg.transcribeLanguage ?? 'en-US';
    const cloud = this.slots.get(lang);
    if (cloud && (cloud.state === 'open' || cloud.state === 'opening')) {
      this.localDropped++;
      return;
    }
    const now = Date.now();
    const isFinal = msg.isFinal !== false;
    this.localUtterance ??= `local-${++this.localSeq}`;
    const data: TranscriptionData = {
      type: 'transcription',
      text: msg.text,
      isFinal,
      utteranceId: this.localUtterance,
      speakerId: msg.speakerId ?? 0,
      startTime: msg.startTime ?? now,
      endTime: msg.endTime ?? now,
      transcribeLanguage: lang,
      provider: msg.provider ?? 'local',
    };
    if (isFinal) this.localUtterance = null;
    this.deliver(lang, data);
  }

  deliver(language: string, data: TranscriptionData): void {
    for (const sub of this.subscriptions.lookup(`transcription:${language}`)) this.relay.sendData(sub, data);
    for (const l of this.listeners) l(language, data);
  }

  describe(): {
    vad: boolean | null;
    streams: SlotView[];
    providers: ReturnType<ProviderRegistry['describe']>;
    localTranscriptsDropped: number;
  } {
    return {
      vad: this.lastVad,
      localTranscriptsDropped: this.localDropped,
      streams: [...this.slots.values()].map((s) => s.view()),
      providers: this.registry.describe(),
    };
  }

  get streamCount(): number {
    return this.slots.size;
  }

  private shutdown(): void {
    for (const s of this.slots.values()) s.close();
    this.slots.clear();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    this.idleTimer = this.keepaliveTimer = null;
    this.removeSink?.();
    this.removeSink = null;
    this.listeners.clear();
  }
}

function sameSpec(a: StreamSpec, b: StreamSpec): boolean {
  return (
    a.language === b.language &&
    a.identifyLanguage === b.identifyLanguage &&
    a.hints.join() === b.hints.join() &&
    a.translateTo === b.translateTo
  );
}
