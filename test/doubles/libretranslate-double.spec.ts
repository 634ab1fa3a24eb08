import { afterEach, describe, expect, it } from 'vitest';
import {
  LibreTranslateDouble,
  createLibreTranslateDouble,
  type LibreTranslateDoubleOptions,
} from './libretranslate-double.js';

let doubles: LibreTranslateDouble[] = [];

afterEach(async () => {
  await Promise.all(doubles.map((d) => d.close()));
  doubles = [];
});

async function start(opts: LibreTranslateDoubleOptions = {}): Promise<LibreTranslateDouble> {
  const d = createLibreTranslateDouble({
    dictionary: { 'en:es': { hello: 'hola', 'good morning': 'buenos días' }, 'fr:en': { bonjour: 'hello' } },
    ...opts,
  });
  await d.start();
  doubles.push(d);
  return d;
}

async function post(
  d: LibreTranslateDouble,
  body: unknown,
  path = '/translate',
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${d.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

describe('LibreTranslateDouble: /translate', () => {
  it('translates from the dictionary, else with the [target] fallback', async () => {
    const d = await start();
    expect(await post(d, { q: 'hello', source: 'en', target: 'es', format: 'text' })).toEqual({
      status: 200,
      body: { translatedText: 'hola' },
    });
    expect(await post(d, { q: 'How are you?', source: 'en', target: 'de' })).toEqual({
      status: 200,
      body: { translatedText: '[de] How are you?' },
    });
    expect(await post(d, { q: 'same', source: 'en', target: 'en' })).toEqual({
      status: 200,
      body: { translatedText: 'same' },
    });
    expect(d.stats()).toMatchObject({ translateRequests: 3, textsTranslated: 3 });
    expect(d.lastRequest).toMatchObject({ path: '/translate', status: 200, body: { q: 'same' } });
  });

  it('source auto adds detectedLanguage', async () => {
    const d = await start();
    const r = await post(d, { q: 'bonjour', source: 'auto', target: 'en' });
    expect(r).toEqual({
      status: 200,
      body: { translatedText: 'hello', detectedLanguage: { confidence: 90, language: 'fr' } },
    });
    const custom = await start({ detect: () => ({ language: 'es', confidence: 42 }) });
    expect((await post(custom, { q: 'hola', source: 'auto', target: 'en' })).body.detectedLanguage).toEqual({
      confidence: 42,
      language: 'es',
    });
  });

  it('q as an array gives an array of translations (and of detections with auto)', async () => {
    const d = await start();
    expect((await post(d, { q: ['hello', 'good morning', 'x'], source: 'en', target: 'es' })).body).toEqual({
      translatedText: ['hola', 'buenos días', '[es] x'],
    });
    const auto = await post(d, { q: ['bonjour', 'hi'], source: 'auto', target: 'en' });
    expect(auto.body).toEqual({
      translatedText: ['hello', 'hi'],
      detectedLanguage: [
        { confidence: 90, language: 'fr' },
        { confidence: 90, language: 'en' },
      ],
    });
  });

  it('rejects locales and unknown languages with 400 "<code> is not supported"', async () => {
    const d = await start();
    expect(await post(d, { q: 'hello', source: 'en-US', target: 'es' })).toEqual({
      status: 400,
      body: { error: 'en-US is not supported' },
    });
    expect(await post(d, { q: 'hello', source: 'en', target: 'es-ES' })).toEqual({
      status: 400,
      body: { error: 'es-ES is not supported' },
    });
    expect(await post(d, { q: 'hello', source: 'en', target: 'xx' })).toEqual({
      status: 400,
      body: { error: 'xx is not supported' },
    });
    expect(d.stats().errors[400]).toBe(3);
  });

  it('rejects missing parameters, bad formats and non-object JSON with 400', async () => {
    const d = await start();
    expect(await post(d, { source: 'en', target: 'es' })).toEqual({
      status: 400,
      body: { error: 'Invalid request: missing q parameter' },
    });
    expect(await post(d, { q: '', source: 'en', target: 'es' })).toMatchObject({ status: 400 });
    expect(await post(d, { q: [], source: 'en', target: 'es' })).toMatchObject({ status: 400 });
    expect(await post(d, { q: 'a', target: 'es' })).toEqual({
      status: 400,
      body: { error: 'Invalid request: missing source parameter' },
    });
    expect(await post(d, { q: 'a', source: 'en' })).toEqual({
      status: 400,
      body: { error: 'Invalid request: missing target parameter' },
    });
    expect(await post(d, { q: 'a', source: 'en', target: 'es', format: 'xml' })).toEqual({
      status: 400,
      body: { error: 'xml format is not supported' },
    });
    expect(await post(d, '["q"]')).toEqual({ status: 400, body: { error: 'Invalid JSON format' } });
    expect((await post(d, '{"q":')).status).toBe(400);
  });

  it('enforces configured char and batch limits', async () => {
    const d = await start({ charLimit: 5, batchLimit: 2 });
    expect(await post(d, { q: 'too long', source: 'en', target: 'es' })).toEqual({
      status: 400,
      body: { error: 'Invalid request: request (8) exceeds text limit (5)' },
    });
    expect((await post(d, { q: ['a', 'b', 'c'], source: 'en', target: 'es' })).status).toBe(400);
  });

  it('honours the language pairs of /languages', async () => {
    const d = await start({
      languages: [
        { code: 'en', name: 'English', targets: ['es'] },
        { code: 'es', name: 'Spanish', targets: ['en'] },
        { code: 'ja', name: 'Japanese', targets: ['en'] },
      ],
    });
    expect(await post(d, { q: 'hi', source: 'en', target: 'ja' })).toEqual({
      status: 400,
      body: { error: 'Japanese (ja) is not available as a target language from English (en)' },
    });
  });

  it('accepts form-encoded requests too', async () => {
    const d = await start();
    const res = await fetch(`${d.url}/translate`, {
      method: 'POST',
      body: new URLSearchParams({ q: 'hello', source: 'en', target: 'es' }),
    });
    expect(await res.json()).toEqual({ translatedText: 'hola' });
  });
});

describe('LibreTranslateDouble: API keys', () => {
  it('an unknown key gets 403; a missing required key gets 400 (as LibreTranslate does)', async () => {
    const d = await start({ apiKeys: ['k1'] });
    expect(await post(d, { q: 'hello', source: 'en', target: 'es', api_key: 'nope' })).toEqual({
      status: 403,
      body: { error: 'Invalid API key' },
    });
    expect(await post(d, { q: 'hello', source: 'en', target: 'es' })).toEqual({
      status: 400,
      body: { error: 'Please contact the server operator to get an API key' },
    });
    expect(await post(d, { q: 'hello', source: 'en', target: 'es', api_key: 'k1' })).toEqual({
      status: 200,
      body: { translatedText: 'hola' },
    });
    expect(d.stats().errors).toEqual({ 400: 1, 403: 1 });
  });

  it('with keys but no requirement, a keyless request is served', async () => {
    const d = await start({ apiKeys: ['k1'], requireApiKey: false });
    expect((await post(d, { q: 'hello', source: 'en', target: 'es' })).status).toBe(200);
    expect((await post(d, { q: 'hello', source: 'en', target: 'es', api_key: 'bad' })).status).toBe(403);
  });
});

describe('LibreTranslateDouble: /languages, /detect and others', () => {
  it('GET /languages lists codes, names and targets', async () => {
    const d = await start();
    const langs = (await (await fetch(`${d.url}/languages`)).json()) as any[];
    expect(langs.find((l) => l.code === 'es')).toMatchObject({ code: 'es', name: 'Spanish' });
    expect(langs.every((l) => /^[a-z]{2}$/.test(l.code) && Array.isArray(l.targets))).toBe(true);
    expect(langs[0].targets).toContain('fr');
    expect(d.stats().languagesRequests).toBe(1);
    expect((await fetch(`${d.url}/languages`, { method: 'POST' })).status).toBe(405);
  });

  it('POST /detect answers a list of detections; unknown paths are 404', async () => {
    const d = await start();
    expect(await post(d, { q: 'bonjour' }, '/detect')).toEqual({
      status: 200,
      body: [{ confidence: 90, language: 'fr' }],
    });
    expect((await fetch(`${d.url}/nope`)).status).toBe(404);
  });
});

describe('LibreTranslateDouble: fault injection', () => {
  it('failNext answers the next requests with the given status and {error}', async () => {
    const d = await start();
    d.failNext(2, 503);
    expect((await post(d, { q: 'hello', source: 'en', target: 'es' })).status).toBe(503);
    const slow = await post(d, { q: 'hello', source: 'en', target: 'es' });
    expect(slow.status).toBe(503);
    expect(typeof slow.body.error).toBe('string');
    expect((await post(d, { q: 'hello', source: 'en', target: 'es' })).status).toBe(200);
    d.failNext(1, 429);
    expect(await post(d, { q: 'hello', source: 'en', target: 'es' })).toEqual({
      status: 429,
      body: { error: 'Slowdown: 1 per 1 minute' },
    });
    expect(d.stats().injectedFailures).toBe(3);
  });

  it('latencyMs delays answers', async () => {
    const d = await start({ latencyMs: 400 });
    const t0 = Date.now();
    await post(d, { q: 'hello', source: 'en', target: 'es' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(390);
    d.setLatency(0);
    const t1 = Date.now();
    await post(d, { q: 'hello', source: 'en', target: 'es' });
    expect(Date.now() - t1).toBeLessThan(300);
  });

  it('dropNext resets the connection without an answer', async () => {
    const d = await start();
    d.dropNext(1);
    await expect(post(d, { q: 'hello', source: 'en', target: 'es' })).rejects.toThrow();
    expect((await post(d, { q: 'hello', source: 'en', target: 'es' })).status).toBe(200);
    expect(d.stats().drops).toBe(1);
  });
});
