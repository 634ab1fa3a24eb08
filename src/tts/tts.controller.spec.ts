import { Global, Module, type INestApplication } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { LimiterFactory, MemoryLimiterFactory } from '../cluster/limiter.js';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpExceptionFilter } from '../common/http-exception.filter.js';
import { ESPEAK_OPTIONS } from './espeak.provider.js';
import { DEFAULT_TTS_OPTIONS, TTS_OPTIONS } from './tts-provider.js';
import { TtsModule } from './tts.module.js';

/** The per-IP limit counts through the app's LimiterFactory: global in the app, in memory on one process. */
@Global()
@Module({ providers: [{ provide: LimiterFactory, useClass: MemoryLimiterFactory }], exports: [LimiterFactory] })
class MemoryLimiters {}

async function boot(overrides: { espeak?: object; options?: object } = {}): Promise<INestApplication> {
  let builder = Test.createTestingModule({
    imports: [TtsModule, MemoryLimiters],
    providers: [{ provide: APP_FILTER, useClass: HttpExceptionFilter }],
  });
  if (overrides.espeak) builder = builder.overrideProvider(ESPEAK_OPTIONS).useValue(overrides.espeak);
  if (overrides.options)
    builder = builder.overrideProvider(TTS_OPTIONS).useValue({ ...DEFAULT_TTS_OPTIONS, ...overrides.options });
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

describe('GET /api/tts (TtsModule alone)', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('answers 503 with a clear JSON message when espeak-ng is not installed', async () => {
    app = await boot({ espeak: { binary: 'espeak-ng-not-installed-here' } });
    const res = await request(app.getHttpServer()).get('/api/tts?text=hello');
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({
      statusCode: 503,
      code: 'TTS_UNAVAILABLE',
      message: expect.stringMatching(/not installed.*apt-get install espeak-ng/),
    });
  });

  it('applies the configured per-IP limit, with Retry-After', async () => {
    app = await boot({ options: { rateLimit: 3 } });
    const server = app.getHttpServer();
    for (let i = 0; i < 3; i++) expect((await request(server).get('/api/tts')).status).toBe(400);
    const limited = await request(server).get('/api/tts?text=hi');
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toMatch(/^\d+$/);
    expect(limited.body).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
  });

  it('refuses repeated or oversized parameters with 400', async () => {
    app = await boot();
    const server = app.getHttpServer();
    expect((await request(server).get('/api/tts?text=a&voice_id=a&voice_id=b')).status).toBe(400);
    expect((await request(server).get(`/api/tts?text=a&voice_settings=${'x'.repeat(2001)}`)).status).toBe(400);
  });
});
