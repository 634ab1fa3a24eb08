import {
  BadRequestException,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  Logger,
  PayloadTooLargeException,
  ServiceUnavailableException,
} from '@nestjs/common';
import { errorMessage } from '../common/cloud-error.js';
import { LruCache } from './lru-cache.js';
import {
  TTS_OPTIONS,
  TTS_PROVIDER,
  TtsUnavailableError,
  type SynthesizedAudio,
  type TtsOptions,
  type TtsProvider,
} from './tts-provider.js';

/**
 * Text to audio for the public TTS route: input checks, a cache by (resolved voice, text), one synthesis per
 * distinct request in flight (concurrent identical requests share it), and a cap on parallel engine runs so
 * a burst from many addresses queues (then 503s) instead of forking without bound.
 */
@Injectable()
export class TtsService {
  private readonly logger = new Logger(TtsService.name);
  private readonly cache: LruCache<SynthesizedAudio>;
  private readonly inFlight = new Map<string, Promise<SynthesizedAudio>>();
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    @Inject(TTS_PROVIDER) private readonly provider: TtsProvider,
    @Inject(TTS_OPTIONS) private readonly options: TtsOptions,
  ) {
    this.cache = new LruCache(options.cacheEntries, options.cacheBytes, (audio) => audio.data.length);
  }

  /** Cached entries (for tests and diagnostics). */
  get cachedEntries(): number {
    return this.cache.size;
  }

  /** The SDK's `text` after checks: 400 when missing or blank, 413 when longer than the limit. */
  checkText(text: unknown): string {
    if (typeof text !== 'string' || text.trim().length === 0) {
      throw new BadRequestException({
        statusCode: 400,
        code: 'BAD_REQUEST',
        message: 'The query parameter "text" is required (one non-empty value)',
      });
    }
    if (text.length > this.options.maxTextChars) {
      throw new PayloadTooLargeException({
        statusCode: 413,
        code: 'TEXT_TOO_LONG',
        message: `"text" may hold at most ${this.options.maxTextChars} characters (got ${text.length})`,
      });
    }
    return text.trim();
  }

  async speak(rawText: unknown, voiceId: string | undefined): Promise<SynthesizedAudio & { cached: boolean }> {
    const text = this.checkText(rawText);
    const voice = await this.withEngineErrors(() => this.provider.resolveVoice(voiceId));
    // JSON keeps the two parts apart whatever characters they hold.
    const key = JSON.stringify([voice, text]);
    const hit = this.cache.get(key);
    if (hit) return { ...hit, cached: true };
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.synthesize(text, voice)
        .then((audio) => {
          this.cache.set(key, audio);
          return audio;
        })
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return { ...(await pending), cached: false };
  }

  private async synthesize(text: string, voice: string): Promise<SynthesizedAudio> {
    await this.acquire();
    try {
      return await this.withEngineErrors(() =>
        this.provider.synthesize(text, voice, AbortSignal.timeout(this.options.timeoutMs + 1_000)),
      );
    } finally {
      this.release();
    }
  }

  /** Engine missing → 503 with its message; any other engine failure → 503 "failed" (logged), never a 500 stack. */
  private async withEngineErrors<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof HttpException) throw err;
      if (err instanceof TtsUnavailableError) {
        throw new ServiceUnavailableException({ statusCode: 503, code: 'TTS_UNAVAILABLE', message: err.message });
      }
      this.logger.warn(`${this.provider.name} failed: ${errorMessage(err)}`);
      throw new ServiceUnavailableException({
        statusCode: 503,
        code: 'TTS_FAILED',
        message: `Speech synthesis with ${this.provider.name} failed`,
      });
    }
  }

  private acquire(): Promise<void> {
    if (this.running < this.options.maxConcurrent) {
      this.running++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.options.maxQueued) {
      return Promise.reject(
        new HttpException(
          { statusCode: 503, code: 'TTS_BUSY', message: 'Too many speech requests are waiting; try again shortly' },
          HttpStatus.SERVICE_UNAVAILABLE,
        ),
      );
    }
    // release() hands its slot straight to the next waiter, so `running` stays counted.
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}
