/**
 * The one small interface every speech provider implements: open a stream for a language, write PCM,
 * finalize, close; results and failures come back through the handlers. Adding a provider touches
 * only this folder (and the list in provider-registry.ts).
 */

export interface StreamSpec {
  /** Locale, e.g. `en-US`. */
  language: string;
  /** Extra language hints (two-letter or locale), merged across subscribers. */
  hints: string[];
  /** false when every subscriber asked for `no-language-identification`. */
  identifyLanguage: boolean;
  /** Set for a translation stream served by a provider that translates speech itself. */
  translateTo?: string;
  /** `translation:all-to-x` streams translate whatever is spoken. */
  translateFrom?: string;
}

export interface ProviderResult {
  /** The utterance so far (interim) or the whole utterance (final). */
  text: string;
  isFinal: boolean;
  /** Offsets into the stream's audio, in ms. */
  startMs?: number;
  endMs?: number;
  confidence?: number;
  speakerId?: number;
  detectedLanguage?: string;
  /** For translation streams: the source-language text this translates. */
  originalText?: string;
}

export class ProviderError extends Error {
  constructor(
    readonly provider: string,
    message: string,
    /** false: retrying the same request cannot help (bad key, bad config). */
    readonly retryable: boolean,
    readonly code?: string | number,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

export interface StreamHandlers {
  /** The provider accepted the stream (configured, ready for audio). */
  onOpen(): void;
  onResult(result: ProviderResult): void;
  onError(error: ProviderError): void;
  /** Closed, for whatever reason; called once. */
  onClosed(): void;
}

export interface ProviderStream {
  write(pcm: Buffer): void;
  /** Turn everything pending into final text (on VAD silence). */
  finalize(): void;
  /** Keep an idle connection open while no audio is sent. */
  keepalive(): void;
  close(): void;
}

export interface TranscriptionProvider {
  readonly name: string;
  /** Whether the provider can serve this language (and translation, when asked). */
  supports(spec: StreamSpec): boolean;
  open(spec: StreamSpec, handlers: StreamHandlers): ProviderStream;
}
