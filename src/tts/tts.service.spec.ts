import {
  BadRequestException,
  HttpException,
  PayloadTooLargeException,
  ServiceUnavailableException,
} from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TTS_OPTIONS,
  TtsUnavailableError,
  type SynthesizedAudio,
  type TtsOptions,
  type TtsProvider,
} from './tts-provider.js';
import { TtsService } from './tts.service.js';

/** A provider whose syntheses finish when the test says so. */
class FakeProvider implements TtsProvider {
  readonly name = 'fake';
  calls: Array<{ text: string; voice: string }> = [];
  running = 0;
  maxRunning = 0;
  fail: Error | undefined;
  private releases: Array<() => void> = [];

  async resolveVoice(voiceId: string | undefined): Promise<string> {
    return voiceId === 'de' ? 'de' : 'en-us';
  }

  async synthesize(text: string, voice: string): Promise<SynthesizedAudio> {
    this.calls.push({ text, voice });
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    await new Promise<void>((resolve) => this.releases.push(resolve));
    this.running--;
    if (this.fail) throw this.fail;
    return { contentType: 'audio/wav', data: Buffer.from(`${voice}:${text}`) };
  }

  finishAll(): void {
    for (const r of this.releases.splice(0)) r();
  }
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

function service(options: Partial<TtsOptions> = {}): { tts: TtsService; provider: FakeProvider } {
  const provider = new FakeProvider();
  return { tts: new TtsService(provider, { ...DEFAULT_TTS_OPTIONS, ...options }), provider };
}

/** Finishes syntheses as they start until `work` settles. */
async function drive<T>(provider: FakeProvider, work: Promise<T>): Promise<T> {
  let settled = false;
  void work.then(
    () => (settled = true),
    () => (settled = true),
  );
  while (!settled) {
    provider.finishAll();
    await tick();
  }
  return work;
}

describe('TtsService', () => {
  it('checks text: missing or blank → 400, over the limit → 413, otherwise trimmed', () => {
    const { tts } = service({ maxTextChars: 10 });
    for (const bad of [undefined, '', '   ', ['a'], 5]) expect(() => tts.checkText(bad)).toThrow(BadRequestException);
    expect(() => tts.checkText('x'.repeat(11))).toThrow(PayloadTooLargeException);
    expect(tts.checkText('  hello  ')).toBe('hello');
  });

  it('caches by resolved voice and text, and shares one synthesis between identical concurrent requests', async () => {
    const { tts, provider } = service();
    const [a, b] = await drive(
      provider,
      Promise.all([tts.speak('hello', undefined), tts.speak('hello', 'unknown-voice')]),
    );
    expect(provider.calls).toEqual([{ text: 'hello', voice: 'en-us' }]);
    expect(a.data.toString()).toBe('en-us:hello');
    expect(b.data.equals(a.data)).toBe(true);
    const hit = await tts.speak(' hello ', undefined);
    expect(hit.cached).toBe(true);
    await drive(provider, tts.speak('hello', 'de'));
    expect(provider.calls).toHaveLength(2);
    expect(tts.cachedEntries).toBe(2);
  });

  it('runs at most maxConcurrent syntheses and refuses beyond the queue with 503', async () => {
    const { tts, provider } = service({ maxConcurrent: 2, maxQueued: 1 });
    const running = [tts.speak('one', undefined), tts.speak('two', undefined), tts.speak('three', undefined)];
    await tick();
    await expect(tts.speak('four', undefined)).rejects.toBeInstanceOf(HttpException);
    expect(provider.running).toBe(2);
    await drive(provider, Promise.all(running));
    expect(provider.maxRunning).toBe(2);
    expect(provider.calls).toHaveLength(3);
  });

  it('maps a missing engine to 503 with its message and other failures to a generic 503, caching nothing', async () => {
    const { tts, provider } = service();
    provider.fail = new TtsUnavailableError('espeak-ng is not installed');
    const missing = drive(provider, tts.speak('hello', undefined));
    await expect(missing).rejects.toBeInstanceOf(ServiceUnavailableException);
    await expect(missing).rejects.toMatchObject({
      response: { code: 'TTS_UNAVAILABLE', message: 'espeak-ng is not installed' },
    });
    provider.fail = new Error('segfault');
    await expect(drive(provider, tts.speak('hello', undefined))).rejects.toMatchObject({
      response: { code: 'TTS_FAILED' },
    });
    expect(tts.cachedEntries).toBe(0);
    provider.fail = undefined;
    expect((await drive(provider, tts.speak('hello', undefined))).cached).toBe(false);
  });
});
