import { Inject, Injectable, Scope } from '@nestjs/common';
import { AudioManager } from '../audio/audio-manager.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { EventRelay } from '../relay/event-relay.js';
import { SessionContext } from '../session-core/session-context.js';
import { parseLanguageStream } from '../subscriptions/stream-types.js';
import { SubscriptionManager } from '../subscriptions/subscription-manager.js';
import type { ProviderResult } from '../transcription/providers/provider.types.js';
import { ProviderRegistry } from '../transcription/providers/provider-registry.js';
import { StreamSlot, type SlotView } from '../transcription/stream-slot.js';
import { TranscriptionManager, type TranscriptionData } from '../transcription/transcription-manager.js';
import { LibreTranslateClient } from './libretranslate.client.js';
import { toLibreCode } from './locale-codes.js';
import { LazyMap } from '../common/lazy-collections.js';

export interface TranslationData {
  type: 'translation';
  text: string;
  originalText: string;
  isFinal: boolean;
  startTime: number;
  endTime: number;
  speakerId?: number;
  transcribeLanguage: string;
  translateLanguage: string;
  didTranslate: boolean;
  provider: string;
  utteranceId?: string;
}

interface Pair {
  base: string;
  source: string; // locale or 'all'
  target: string;
}

interface LibrePair extends Pair {
  /** The language whose transcripts this pair asked the transcription manager for (null: rides on others). */
  required: string | null;
  lastInterimAt: number;
  interimTimer: NodeJS.Timeout | null;
  pendingInterim: { language: string; data: TranscriptionData } | null;
  finalizedUtterances: Set<string>;
}

/** Interim text is translated at most this often per stream; finals always. */
export const INTERIM_TRANSLATION_INTERVAL_MS = 1_000;
const DEFAULT_ALL_SOURCE = 'en-US';

/**
 * `translation:<src>-to-<tgt>` and `translation:all-to-<tgt>`: one stream per pair. With a provider that
 * translates speech (Soniox) each pair is a supervised provider stream, gated by VAD like transcription
 * (closed on silence, resumed on speech, subscriptions kept). Otherwise, with LibreTranslate, the
 * transcripts of the source language are translated as text (interims throttled); an `all-to-<tgt>` pair
 * translates the transcripts of every language the session transcribes (cloud or phone-side), and when the
 * session transcribes nothing else it asks for its default language: en-US when a provider serves it,
 * otherwise the first language a provider serves (a Vosk server is one language).
 */
@Injectable({ scope: Scope.REQUEST })
export class TranslationManager {
  private readonly slots = new LazyMap<string, StreamSlot>();
  private readonly libre = new LazyMap<string, LibrePair>();
  private readonly libreClient: LibreTranslateClient | null;
  private removeSink: (() => void) | null = null;
  private wantingAudio = false;
  private errors = 0;
  private lastError: string | null = null;
  /** Set while there is a text-translated pair: only those need the session's transcripts. */
  private offTranscript: (() => void) | null = null;

  constructor(
    private readonly ctx: SessionContext,
    private readonly subscriptions: SubscriptionManager,
    private readonly relay: EventRelay,
    private readonly transcription: TranscriptionManager,
    private readonly audio: AudioManager,
    private readonly registry: ProviderRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    const lt = config.media.libreTranslate;
    this.libreClient = lt ? new LibreTranslateClient({ url: lt.url, apiKey: lt.apiKey }) : null;
    ctx.on('subscriptionsChanged', this.reconcile, this);
    ctx.on('speechChanged', this.reconcile, this);
    ctx.defer(this.dispose, this);
  }

  private dispose(): void {
    this.shutdown();
  }

  private pairs(): Map<string, Pair> {
    const out = new Map<string, Pair>();
    for (const { subscription } of this.subscriptions.allSubscriptions()) {
      const s = parseLanguageStream(subscription);
      if (!s || s.kind !== 'translation' || !s.translateLanguage) continue;
      out.set(s.base, { base: s.base, source: s.transcribeLanguage, target: s.translateLanguage });
    }
    return out;
  }

  private get speechProvider(): boolean {
    return this.registry.providers.some((p) =>
      p.supports({ language: 'en-US', hints: [], identifyLanguage: true, translateTo: 'es-ES' }),
    );
  }

  reconcile(): void {
    if (this.ctx.isDisposed) return;
    const pairs = this.pairs();
    const speech = this.speechProvider;
    const libre = !speech && this.libreClient !== null;
    // Speech-translation streams, gated like transcription.
    const active = this.transcription.isActive();
    for (const [base, slot] of this.slots) {
      if (speech && active && pairs.has(base)) continue;
      slot.close();
      this.slots.delete(base);
    }
    if (speech && active) {
      for (const [base, pair] of pairs) {
        if (this.slots.has(base)) continue;
        const spec = {
          language: pair.source === 'all' ? DEFAULT_ALL_SOURCE : pair.source,
          hints: [],
          identifyLanguage: pair.source === 'all',
          translateTo: pair.target,
          translateFrom: pair.source,
        };
        this.slots.set(
          base,
          new StreamSlot(
            base,
            spec,
            this.registry,
            this.config.media,
            (r, provider) => this.onSpeechResult(pair, r, provider),
            (m) => this.ctx.logger.warn(m),
          ),
        );
      }
    }
    const needAudio = speech && pairs.size > 0;
    if (needAudio !== this.wantingAudio) {
      this.wantingAudio = needAudio;
      this.transcription.wantAudio(needAudio);
    }
    if (this.slots.size > 0 && !this.removeSink)
      this.removeSink = this.audio.addSink((pcm) => this.slots.forEach((s) => s.write(pcm)));
    if (this.slots.size === 0 && this.removeSink) {
      this.removeSink();
      this.removeSink = null;
    }
    // Text translation of transcripts: ask the transcription manager for each source language.
    const wantedLibre = libre ? pairs : new Map<string, Pair>();
    for (const [base, p] of this.libre) {
      if (wantedLibre.has(base)) continue;
      if (p.interimTimer) clearTimeout(p.interimTimer);
      this.libre.delete(base);
      if (p.required) this.transcription.require(p.required, `translation:${base}`, false);
    }
    for (const [base, p] of wantedLibre) {
      if (this.libre.has(base)) continue;
      this.libre.set(base, {
        ...p,
        required: null,
        lastInterimAt: 0,
        interimTimer: null,
        pendingInterim: null,
        finalizedUtterances: new Set(),
      });
    }
    if (this.libre.size > 0 && this.offTranscript === null)
      this.offTranscript = this.transcription.onTranscript((lang, data) => this.onTranscript(lang, data));
    else if (this.libre.size === 0 && this.offTranscript !== null) {
      this.offTranscript();
      this.offTranscript = null;
    }
    const allSource = this.libre.size > 0 ? this.allPairSource() : null;
    for (const [base, p] of this.libre) {
      const required = p.source === 'all' ? allSource : p.source;
      if (required === p.required) continue;
      const previous = p.required;
      p.required = required;
      if (required) this.transcription.require(required, `translation:${base}`, true);
      if (previous) this.transcription.require(previous, `translation:${base}`, false);
    }
  }

  /**
   * What `all-to-<tgt>` pairs transcribe themselves: nothing while the session transcribes some language
   * anyway (for a subscriber or a pair with a named source), else the default source language.
   */
  private allPairSource(): string | null {
    for (const { subscription } of this.subscriptions.allSubscriptions()) {
      const s = parseLanguageStream(subscription);
      if (s?.kind === 'transcription') return null;
    }
    for (const p of this.libre.values()) if (p.source !== 'all') return null;
    const served = (language: string) =>
      this.registry.providers.some((p) => p.supports({ language, hints: [], identifyLanguage: true }));
    if (served(DEFAULT_ALL_SOURCE)) return DEFAULT_ALL_SOURCE;
    return [...this.config.media.voskUrls.keys()].find(served) ?? DEFAULT_ALL_SOURCE;
  }

  private onSpeechResult(pair: Pair, r: ProviderResult, provider: string): void {
    const now = Date.now();
    const span = r.startMs !== undefined && r.endMs !== undefined ? Math.max(0, r.endMs - r.startMs) : 0;
    const source = pair.source === 'all' ? (r.detectedLanguage ?? 'auto') : pair.source;
    this.deliver(pair.base, {
      type: 'translation',
      text: r.text,
      originalText: r.originalText ?? '',
      isFinal: r.isFinal,
      startTime: now - span,
      endTime: now,
      ...(r.speakerId !== undefined ? { speakerId: r.speakerId } : {}),
      transcribeLanguage: source,
      translateLanguage: pair.target,
      didTranslate: true,
      provider,
    });
  }

  private onTranscript(language: string, data: TranscriptionData): void {
    for (const p of this.libre.values()) {
      if (p.source !== language && p.source !== 'all') continue;
      if (data.isFinal) {
        if (p.interimTimer) clearTimeout(p.interimTimer);
        p.interimTimer = null;
        p.pendingInterim = null;
        if (data.utteranceId) {
          p.finalizedUtterances.add(data.utteranceId);
          if (p.finalizedUtterances.size > 50)
            p.finalizedUtterances.delete(p.finalizedUtterances.values().next().value!);
        }
        void this.translateAndDeliver(p, language, data);
        continue;
      }
      p.pendingInterim = { language, data };
      const wait = p.lastInterimAt + INTERIM_TRANSLATION_INTERVAL_MS - Date.now();
      if (wait <= 0) this.flushInterim(p);
      else if (!p.interimTimer) {
        p.interimTimer = setTimeout(() => {
          p.interimTimer = null;
          this.flushInterim(p);
        }, wait);
      }
    }
  }

  private flushInterim(p: LibrePair): void {
    const pending = p.pendingInterim;
    p.pendingInterim = null;
    if (!pending) return;
    p.lastInterimAt = Date.now();
    void this.translateAndDeliver(p, pending.language, pending.data);
  }

  /** `language`: the transcript's own language, which is also the source of an `all-to-<tgt>` pair. */
  private async translateAndDeliver(p: LibrePair, language: string, data: TranscriptionData): Promise<void> {
    const same = toLibreCode(language) === toLibreCode(p.target);
    let text = data.text;
    if (!same && data.text.trim() !== '') {
      try {
        text = (await this.libreClient!.translate(data.text, language, p.target)).translatedText;
      } catch (err) {
        this.errors++;
        this.lastError = (err as Error).message;
        if (this.errors === 1 || this.errors % 100 === 0)
          this.ctx.logger.warn(`translation ${p.base}: ${this.lastError} (${this.errors} errors)`);
        return;
      }
    }
    // An interim whose utterance already went final (answers can overtake each other) is stale.
    if (!data.isFinal && data.utteranceId && p.finalizedUtterances.has(data.utteranceId)) return;
    if (!this.libre.has(p.base)) return;
    this.deliver(p.base, {
      type: 'translation',
      text,
      originalText: data.text,
      isFinal: data.isFinal,
      startTime: data.startTime,
      endTime: data.endTime,
      ...(data.speakerId !== undefined ? { speakerId: data.speakerId } : {}),
      transcribeLanguage: language,
      translateLanguage: p.target,
      didTranslate: !same,
      provider: 'libretranslate',
      utteranceId: data.utteranceId,
    });
  }

  private deliver(base: string, data: TranslationData): void {
    for (const sub of this.subscriptions.lookup(base)) this.relay.sendData(sub, data);
  }

  describe(): {
    streams: SlotView[];
    textTranslation: Array<{ base: string }>;
    errors: number;
    lastError: string | null;
  } {
    return {
      streams: [...this.slots.values()].map((s) => s.view()),
      textTranslation: [...this.libre.keys()].map((base) => ({ base })),
      errors: this.errors,
      lastError: this.lastError,
    };
  }

  private shutdown(): void {
    for (const s of this.slots.values()) s.close();
    this.slots.clear();
    for (const p of this.libre.values()) if (p.interimTimer) clearTimeout(p.interimTimer);
    this.libre.clear();
    this.offTranscript?.();
    this.offTranscript = null;
    this.removeSink?.();
    this.removeSink = null;
  }
}
