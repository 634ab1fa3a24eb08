/**
 * What the TTS route needs from a speech engine. The default is espeak-ng on this machine (no network); a
 * hosted engine is another class implementing this, bound to TTS_PROVIDER in TtsModule.
 */

export interface SynthesizedAudio {
  /** The response's Content-Type, e.g. `audio/wav` or `audio/mpeg`. */
  contentType: string;
  data: Buffer;
}

export interface TtsProvider {
  /** Shown in logs and errors. */
  readonly name: string;
  /**
   * The engine voice to use for the SDK's `voice_id` (which names an upstream hosted voice the engine may
   * not have): a known voice, else the engine's default. Results are cached under this resolved name.
   */
  resolveVoice(voiceId: string | undefined): Promise<string>;
  /** Throws TtsUnavailableError when the engine cannot be used at all (not installed, misconfigured). */
  synthesize(text: string, voice: string, signal: AbortSignal): Promise<SynthesizedAudio>;
}

export const TTS_PROVIDER = Symbol('TTS_PROVIDER');

/** The engine is missing or broken: 503 with this message. */
export class TtsUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TtsUnavailableError';
  }
}

/** Limits of the public route; overridable by binding TTS_OPTIONS. */
export interface TtsOptions {
  /** Longest text, in characters (UTF-16 code units, as `text.length`). */
  maxTextChars: number;
  /** Requests per client IP per window; over it → 429. */
  rateLimit: number;
  rateWindowMs: number;
  /** Syntheses running at once; more wait in a queue of `maxQueued`, beyond that → 503. */
  maxConcurrent: number;
  maxQueued: number;
  /** One synthesis may take this long before the engine is killed (→ 503). */
  timeoutMs: number;
  /** Cache of finished audio by (voice, text). */
  cacheEntries: number;
  cacheBytes: number;
}

export const DEFAULT_TTS_OPTIONS: TtsOptions = {
  maxTextChars: 1_000,
  rateLimit: 30,
  rateWindowMs: 60_000,
  maxConcurrent: 2,
  maxQueued: 16,
  timeoutMs: 15_000,
  cacheEntries: 256,
  cacheBytes: 64 * 1024 * 1024,
};

export const TTS_OPTIONS = Symbol('TTS_OPTIONS');
