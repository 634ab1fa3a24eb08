import { Module } from '@nestjs/common';
import { getOptionsToken, getStorageToken, ThrottlerGuard, type ThrottlerModuleOptions } from '@nestjs/throttler';
import { LimiterFactory } from '../cluster/limiter.js';
import { LimiterThrottlerStorage } from '../limits/factory-limiters.js';
import { ESPEAK_OPTIONS, EspeakTtsProvider, type EspeakOptions } from './espeak.provider.js';
import { TtsController } from './tts.controller.js';
import { DEFAULT_TTS_OPTIONS, TTS_OPTIONS, TTS_PROVIDER, type TtsOptions } from './tts-provider.js';
import { TtsService } from './tts.service.js';

/**
 * Text to speech. The engine is whatever TTS_PROVIDER is bound to (espeak-ng here; a hosted engine would be
 * another TtsProvider). The throttler's options and storage are provided in this module only, not through
 * ThrottlerModule.forRoot (global): rate limiting applies to this route alone and cannot collide with
 * another module's throttler setup.
 */
@Module({
  controllers: [TtsController],
  providers: [
    { provide: TTS_OPTIONS, useValue: DEFAULT_TTS_OPTIONS },
    {
      provide: ESPEAK_OPTIONS,
      useFactory: (options: TtsOptions): EspeakOptions => ({ timeoutMs: options.timeoutMs }),
      inject: [TTS_OPTIONS],
    },
    { provide: TTS_PROVIDER, useClass: EspeakTtsProvider },
    TtsService,
    {
      provide: getOptionsToken(),
      useFactory: (options: TtsOptions): ThrottlerModuleOptions => ({
        // 'default' keeps the standard header names (Retry-After, X-RateLimit-*); other names get a suffix.
        throttlers: [{ name: 'default', ttl: options.rateWindowMs, limit: options.rateLimit }],
        errorMessage: 'Too many text-to-speech requests from this address; try again later',
      }),
      inject: [TTS_OPTIONS],
    },
    // Counted in Redis when clustered: one budget per address for the whole cluster.
    {
      provide: getStorageToken(),
      useFactory: (limiters: LimiterFactory) => new LimiterThrottlerStorage(limiters, 'tts'),
      inject: [LimiterFactory],
    },
    ThrottlerGuard,
  ],
  exports: [TtsService],
})
export class TtsModule {}
