import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createSonioxDouble,
  createVoskDouble,
  type SonioxDouble,
  type VoskDouble,
} from '../../../test/doubles/index.js';
import { ProviderError, type ProviderResult, type StreamHandlers } from './provider.types.js';
import { SonioxProvider, sonioxErrorRetryable } from './soniox.provider.js';
import { VoskProvider } from './vosk.provider.js';

function recorder() {
  const results: ProviderResult[] = [];
  const errors: ProviderError[] = [];
  let opened = 0;
  let closed = 0;
  const handlers: StreamHandlers = {
    onOpen: () => opened++,
    onResult: (r) => results.push(r),
    onError: (e) => errors.push(e),
    onClosed: () => closed++,
  };
  return {
    handlers,
    results,
    errors,
    get opened() {
      return opened;
    },
    get closed() {
      return closed;
    },
  };
}

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const spec = { language: 'en-US', hints: [], identifyLanguage: true };

describe('SonioxProvider against the Soniox double', () => {
  let double: SonioxDouble;
  let url: string;
  beforeAll(async () => {
    double = createSonioxDouble({ apiKeys: ['good-key-123'], bytesPerWord: 4_000, wordsPerUtterance: 3 });
    url = (await double.start()).url;
  });
  afterAll(() => double.close());

  it('sends the key on the upgrade and a valid config; interim results grow and a final closes the utterance once', async () => {
    const rec = recorder();
    const stream = new SonioxProvider({ apiKey: 'good-key-123', url, model: 'stt-rt-v3' }).open(spec, rec.handlers);
    for (let i = 0; i < 8; i++) stream.write(Buffer.alloc(3_200, 1));
    await until(() => rec.results.some((r) => r.isFinal));
    expect(rec.opened).toBe(1);
    const first = rec.results.findIndex((r) => r.isFinal);
    expect(rec.results.slice(0, first).every((r) => !r.isFinal)).toBe(true);
    expect(rec.results[first]!.text.split(' ')).toHaveLength(3);
    expect(double.streams.at(-1)!.authVia).toBe('header');
    stream.close();
    await until(() => rec.closed === 1);
    expect(rec.errors).toEqual([]);
  });

  it('finalize turns pending words final (answered with <fin>), keepalive is sent while idle', async () => {
    const rec = recorder();
    const stream = new SonioxProvider({ apiKey: 'good-key-123', url, model: 'm' }).open(spec, rec.handlers);
    stream.write(Buffer.alloc(4_000, 1));
    await until(() => rec.results.length > 0);
    stream.keepalive();
    stream.finalize();
    await until(() => rec.results.some((r) => r.isFinal));
    const s = double.streams.at(-1)!;
    expect(s.finalizeCount).toBe(1);
    expect(s.keepaliveCount).toBe(1);
    stream.close();
  });

  it('maps errors: a bad key is fatal, a server error retryable, an abrupt drop retryable', async () => {
    const bad = recorder();
    new SonioxProvider({ apiKey: 'wrong-key-999', url, model: 'm' }).open(spec, bad.handlers);
    await until(() => bad.errors.length === 1);
    expect(bad.errors[0]!.retryable).toBe(false);

    double.failNext(1, { code: 503, message: 'overloaded' });
    const busy = recorder();
    new SonioxProvider({ apiKey: 'good-key-123', url, model: 'm' })
      .open(spec, busy.handlers)
      .write(Buffer.alloc(3_200, 1));
    await until(() => busy.errors.length === 1);
    expect(busy.errors[0]).toMatchObject({ retryable: true, code: 503 });

    double.dropNext(1, { afterBytes: 100 });
    const dropped = recorder();
    const s = new SonioxProvider({ apiKey: 'good-key-123', url, model: 'm' }).open(spec, dropped.handlers);
    s.write(Buffer.alloc(3_200, 1));
    await until(() => dropped.errors.length === 1);
    expect(dropped.errors[0]!.retryable).toBe(true);
    expect([400, 401, 403].map(sonioxErrorRetryable)).toEqual([false, false, false]);
    expect([408, 429, 500, 503, undefined].map(sonioxErrorRetryable)).toEqual([true, true, true, true, true]);
  });
});

describe('VoskProvider against the Vosk double', () => {
  let double: VoskDouble;
  let url: string;
  beforeAll(async () => {
    double = createVoskDouble({ words: 'one two three four', bytesPerWord: 4_000, wordsPerUtterance: 2 });
    url = (await double.start()).url;
  });
  afterAll(() => double.close());

  it('sends the config, gets partials then results, and ends with the exact eof the real server wants', async () => {
    const rec = recorder();
    const provider = new VoskProvider(new Map([['en-US', url]]));
    expect(provider.supports({ ...spec, language: 'de-DE' })).toBe(false);
    expect(provider.supports({ ...spec, translateTo: 'es-ES' })).toBe(false);
    const stream = provider.open(spec, rec.handlers);
    for (let i = 0; i < 4; i++) stream.write(Buffer.alloc(4_000, 1));
    await until(() => rec.results.some((r) => r.isFinal));
    expect(rec.results.find((r) => r.isFinal)).toMatchObject({ text: 'one two', isFinal: true });
    expect(rec.results.some((r) => !r.isFinal)).toBe(true);
    stream.close();
    await until(() => rec.closed === 1);
    expect(rec.errors).toEqual([]);
    await until(() => double.stats().eofs === 1);
  });
  it('finalize (VAD silence) flushes the words heard so far as a final with eof, then the next audio goes on over a new connection, as one stream', async () => {
    const rec = recorder();
    const before = double.stats();
    const stream = new VoskProvider(new Map([['en-US', url]])).open(spec, rec.handlers);
    stream.write(Buffer.alloc(4_000, 1)); // one word: not an utterance yet
    await until(() => rec.results.length === 1);
    expect(rec.results[0]).toMatchObject({ isFinal: false });
    stream.finalize();
    await until(() => rec.results.some((r) => r.isFinal));
    const final = rec.results.find((r) => r.isFinal)!;
    expect(final.text).toBe(rec.results[0]!.text);
    stream.finalize(); // nothing heard since: no second eof, no new connection
    for (let i = 0; i < 2; i++) stream.write(Buffer.alloc(4_000, 1));
    await until(() => rec.results.filter((r) => r.isFinal).length === 2);
    expect(double.stats().connections - before.connections).toBe(2);
    expect(double.stats().eofs - before.eofs).toBe(1);
    expect(rec.opened).toBe(1);
    expect(rec.closed).toBe(0);
    expect(rec.errors).toEqual([]);
    stream.close();
    await until(() => rec.closed === 1);
    expect(rec.errors).toEqual([]);
  });
});
