import { afterEach, describe, expect, it } from 'vitest';
import {
  SonioxDouble,
  createSonioxDouble,
  validateSonioxConfig,
  type SonioxDoubleOptions,
  type SonioxToken,
} from './soniox-double.js';
import { ProbeClient, pcm, sleep } from './probe-client.js';

const KEY = 'sk-test-1';
const CONFIG = { model: 'stt-rt-v5', audio_format: 'pcm_s16le', sample_rate: 16000, num_channels: 1 };
const auth = { Authorization: `Bearer ${KEY}` };

let doubles: SonioxDouble[] = [];
let clients: ProbeClient[] = [];

afterEach(async () => {
  for (const c of clients) c.terminate();
  clients = [];
  await Promise.all(doubles.map((d) => d.close()));
  doubles = [];
});

/** 100 ms per word so tests stay fast: 3200 bytes of 16 kHz s16le. */
async function start(opts: SonioxDoubleOptions = {}): Promise<SonioxDouble> {
  const d = createSonioxDouble({
    apiKeys: [KEY],
    bytesPerWord: 3200,
    silenceBytes: 6400,
    idleTimeoutMs: 5000,
    ...opts,
  });
  await d.start();
  doubles.push(d);
  return d;
}

async function connect(d: SonioxDouble, headers: Record<string, string> = auth): Promise<ProbeClient> {
  const c = await ProbeClient.open(d.url, { headers });
  clients.push(c);
  return c;
}

/** Connects with the key and sends the start request; waits until the double has taken it. */
async function stream(d: SonioxDouble, config: Record<string, unknown> = CONFIG): Promise<ProbeClient> {
  const c = await connect(d);
  const before = d.stats().configsReceived;
  c.send(config);
  await d.waitFor((x) => x.stats().configsReceived > before, 2000, 'config');
  return c;
}

const tokensOf = (c: ProbeClient): SonioxToken[] =>
  c.messages.flatMap((m) => (Array.isArray(m.tokens) ? m.tokens : []));
const finals = (c: ProbeClient) => tokensOf(c).filter((t) => t.is_final);
const isError = (m: any) => typeof m?.error_code === 'number';

describe('SonioxDouble: authentication', () => {
  it('accepts the key in the Authorization header and takes the start request', async () => {
    const d = await start();
    const c = await stream(d);
    c.send(pcm(100));
    await c.count(1);
    expect(isError(c.messages[0])).toBe(false);
    expect(d.streams[0]).toMatchObject({ apiKey: KEY, authVia: 'header', state: 'streaming' });
  });

  it('answers a missing key with an error response 401, then closes', async () => {
    const d = await start();
    const c = await connect(d, {});
    const err = await c.next(isError);
    expect(err).toMatchObject({ error_code: 401, error_type: 'unauthenticated' });
    expect(typeof err.error_message).toBe('string');
    await c.waitClosed();
    expect(d.stats().authFailures).toBe(1);
  });

  it('answers a wrong key with 401', async () => {
    const d = await start();
    const c = await connect(d, { Authorization: 'Bearer nope' });
    expect(await c.next(isError)).toMatchObject({ error_code: 401 });
    await c.waitClosed();
  });

  it('refuses a key sent only as api_key in the start message (post-2027 rule), unless configured', async () => {
    const strict = await start();
    const c = await connect(strict, {});
    // The error may already be on its way: the key did not come with the connection.
    c.send({ ...CONFIG, api_key: KEY });
    expect(await c.next(isError)).toMatchObject({ error_code: 401 });
    await c.waitClosed();

    const legacy = await start({ acceptKeyInStartMessage: true });
    const l = await connect(legacy, {});
    l.send({ ...CONFIG, api_key: KEY });
    l.send(pcm(100));
    await l.count(1);
    expect(isError(l.messages[0])).toBe(false);
    expect(legacy.streams[0]).toMatchObject({ apiKey: KEY, authVia: 'start-message' });

    const bad = await connect(legacy, {});
    bad.send({ ...CONFIG, api_key: 'wrong' });
    expect(await bad.next(isError)).toMatchObject({ error_code: 401 });
  });

  it('can refuse the upgrade itself with HTTP 401 instead', async () => {
    const d = await start({ authFailure: 'http-401' });
    const refused = await ProbeClient.refused(d.url, { headers: { Authorization: 'Bearer nope' } });
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ error_code: 401 });
    expect((await ProbeClient.refused(d.url)).status).toBe(401);
  });

  it('accepts the browser form: protocols list soniox-api-key, <key>', async () => {
    const d = await start();
    const c = await ProbeClient.open(d.url, { protocols: ['soniox-api-key', KEY] });
    clients.push(c);
    expect(c.ws.protocol).toBe('soniox-api-key');
    c.send(CONFIG);
    await d.waitFor((x) => x.streams[0]?.state === 'streaming', 2000);
    expect(d.streams[0]!.authVia).toBe('protocol');
  });

  it('serves only /transcribe-websocket', async () => {
    const d = await start();
    const other = d.url.replace('/transcribe-websocket', '/other');
    expect((await ProbeClient.refused(other, { headers: auth })).status).toBe(404);
  });
});

describe('SonioxDouble: start request validation', () => {
  const invalid: Array<[string, unknown]> = [
    ['missing model', { ...CONFIG, model: undefined }],
    ['empty model', { ...CONFIG, model: '' }],
    ['missing audio_format', { ...CONFIG, audio_format: undefined }],
    ['unsupported audio_format', { ...CONFIG, audio_format: 'opus' }],
    ['pcm without sample_rate', { ...CONFIG, sample_rate: undefined }],
    ['pcm without num_channels', { ...CONFIG, num_channels: undefined }],
    ['wrong sample_rate', { ...CONFIG, sample_rate: 8000 }],
    ['stereo', { ...CONFIG, num_channels: 2 }],
    ['sample_rate as string', { ...CONFIG, sample_rate: '16000' }],
    ['language_hints not an array', { ...CONFIG, language_hints: 'en' }],
    ['language_hints with a number', { ...CONFIG, language_hints: ['en', 5] }],
    ['enable_endpoint_detection not boolean', { ...CONFIG, enable_endpoint_detection: 'yes' }],
    ['enable_speaker_diarization not boolean', { ...CONFIG, enable_speaker_diarization: 1 }],
    ['max_endpoint_delay_ms out of range', { ...CONFIG, max_endpoint_delay_ms: 100 }],
    ['client_reference_id not a string', { ...CONFIG, client_reference_id: 42 }],
    ['translation of unknown type', { ...CONFIG, translation: { type: 'three_way' } }],
    ['one_way without target_language', { ...CONFIG, translation: { type: 'one_way' } }],
    ['two_way without language_b', { ...CONFIG, translation: { type: 'two_way', language_a: 'en' } }],
    ['not an object', ['model']],
  ];

  it.each(invalid)('rejects %s with error 400 then closes', async (_name, config) => {
    const d = await start();
    const c = await connect(d);
    c.send(JSON.stringify(config));
    const err = await c.next(isError);
    expect(err).toMatchObject({ error_code: 400, error_type: 'invalid_request' });
    expect(err.error_message.length).toBeGreaterThan(0);
    await c.waitClosed();
    expect(d.stats().configsRejected).toBe(1);
  });

  it('rejects a start request that is not JSON, and audio before the start request', async () => {
    const d = await start();
    const c = await connect(d);
    c.send('model=stt-rt-v5');
    expect(await c.next(isError)).toMatchObject({ error_code: 400 });
    const b = await connect(d);
    b.send(pcm(100));
    expect(await b.next(isError)).toMatchObject({ error_code: 400 });
    await b.waitClosed();
  });

  it('checks the model against a configured set', async () => {
    const d = await start({ models: ['stt-rt-v5'] });
    const c = await connect(d);
    c.send({ ...CONFIG, model: 'stt-rt-v9' });
    expect(await c.next(isError)).toMatchObject({ error_code: 400, error_message: 'Invalid model specified.' });
  });

  it('accepts a complete, valid configuration and records it', async () => {
    const d = await start();
    const full = {
      ...CONFIG,
      language_hints: ['en', 'es'],
      enable_language_identification: true,
      enable_speaker_diarization: true,
      enable_endpoint_detection: true,
      context: { general: [{ key: 'domain', value: 'glasses' }], terms: ['Mentra'] },
      client_reference_id: 'mentra-en-US',
      translation: { type: 'two_way', language_a: 'en', language_b: 'es' },
    };
    const c = await stream(d, full);
    c.send(pcm(100));
    await c.count(1);
    expect(c.messages.some(isError)).toBe(false);
    expect(d.lastConfig).toEqual(full);
    expect(validateSonioxConfig({ ...CONFIG, audio_format: 'auto' })).toBeNull();
  });

  it('records unknown fields, and can reject them', async () => {
    const lax = await start();
    const c = await stream(lax, { ...CONFIG, enable_non_final_tokens: true });
    c.send(pcm(100));
    await c.count(1);
    expect(lax.streams[0]!.unknownFields).toEqual(['enable_non_final_tokens']);
    const strict = await start({ rejectUnknownFields: true });
    const s = await connect(strict);
    s.send({ ...CONFIG, enable_non_final_tokens: true });
    expect(await s.next(isError)).toMatchObject({ error_code: 400 });
  });
});

describe('SonioxDouble: scripted results', () => {
  it('sends growing non-final tokens that later turn final, and never repeats a final token', async () => {
    const d = await start({ wordsPerUtterance: 3 });
    const c = await stream(d);
    c.send(pcm(100));
    await c.count(1);
    expect(c.messages[0].tokens).toEqual([
      { text: 'hello', start_ms: 0, end_ms: 100, confidence: 0.95, is_final: false },
    ]);
    expect(c.messages[0]).toMatchObject({ final_audio_proc_ms: 0, total_audio_proc_ms: 100 });
    c.send(pcm(100));
    await c.count(2);
    expect(c.messages[1].tokens.map((t: SonioxToken) => [t.text, t.is_final])).toEqual([
      ['hello', false],
      [' world', false],
    ]);
    c.send(pcm(100));
    await c.count(3);
    expect(c.messages[2].tokens.map((t: SonioxToken) => [t.text, t.is_final])).toEqual([
      ['hello', true],
      [' world', true],
      [' this', true],
    ]);
    expect(c.messages[2]).toMatchObject({ final_audio_proc_ms: 300, total_audio_proc_ms: 300 });
    // Two more words: non-final again, and the earlier finals are not sent again.
    c.send(pcm(200));
    await c.count(5);
    expect(c.messages[4].tokens.map((t: SonioxToken) => [t.text, t.is_final])).toEqual([
      [' is', false],
      [' a', false],
    ]);
    expect(c.messages[4].tokens[1]).toMatchObject({ start_ms: 400, end_ms: 500 });
    const f = finals(c).map((t) => t.text);
    expect(f).toEqual(['hello', ' world', ' this']);
    expect(new Set(f).size).toBe(f.length);
    expect(d.streams[0]!.finalText).toBe('hello world this');
  });

  it('sends a progress response with the current hypothesis for a silent slot, and no word', async () => {
    const d = await start({ silenceBytes: 1_000_000 });
    const c = await stream(d);
    c.send(pcm(100));
    c.send(pcm(100, true));
    await c.count(2);
    expect(c.messages[1].tokens.map((t: SonioxToken) => t.text)).toEqual(['hello']);
    expect(c.messages[1].total_audio_proc_ms).toBe(200);
  });

  it('finalize turns pending tokens final and answers with a final <fin> marker', async () => {
    const d = await start();
    const c = await stream(d);
    c.send(pcm(200));
    await c.count(2);
    c.send({ type: 'finalize' });
    const res = await c.next((m) => m.tokens?.some((t: SonioxToken) => t.text === '<fin>'));
    expect(res.tokens.map((t: SonioxToken) => [t.text, t.is_final])).toEqual([
      ['hello', true],
      [' world', true],
      ['<fin>', true],
    ]);
    expect(res.tokens.at(-1)).toEqual({ text: '<fin>', is_final: true });
    expect(res.final_audio_proc_ms).toBe(200);
    // Finalize with nothing pending still answers <fin>; trailing_silence_ms is accepted.
    const n = c.messages.length;
    c.send({ type: 'finalize', trailing_silence_ms: 300 });
    await c.count(n + 1);
    expect(c.messages[n].tokens).toEqual([{ text: '<fin>', is_final: true }]);
    expect(d.streams[0]!.finalizeCount).toBe(2);
    expect(d.streams[0]!.minFinalizeGapMs).toBeGreaterThanOrEqual(0);
    expect(d.streams[0]!.minFinalizeGapMs).toBeLessThan(2000);
    expect(d.stats().finalizeCount).toBe(2);
    // Streaming continues after a finalize, with the next script word.
    c.send(pcm(100));
    await c.count(n + 2);
    expect(c.messages[n + 1].tokens).toMatchObject([{ text: ' this', is_final: false }]);
  });

  it('with endpoint detection, silence ends the utterance with a final <end> token', async () => {
    const d = await start();
    const c = await stream(d, { ...CONFIG, enable_endpoint_detection: true });
    c.send(pcm(100));
    c.send(pcm(200, true));
    const res = await c.next((m) => m.tokens?.some((t: SonioxToken) => t.is_final));
    expect(res.tokens.map((t: SonioxToken) => [t.text, t.is_final])).toEqual([
      ['hello', true],
      ['<end>', true],
    ]);
  });

  it('without endpoint detection, silence finalizes the words but sends no <end>', async () => {
    const d = await start();
    const c = await stream(d);
    c.send(pcm(100));
    c.send(pcm(200, true));
    await c.next((m) => m.tokens?.some((t: SonioxToken) => t.is_final));
    await sleep(30);
    expect(tokensOf(c).some((t) => t.text === '<end>')).toBe(false);
    expect(finals(c).map((t) => t.text)).toEqual(['hello']);
  });

  it('adds speaker and language only when diarization and identification are on', async () => {
    const d = await start({ speakerCount: 2, wordsPerUtterance: 1, language: 'de' });
    const on = await stream(d, { ...CONFIG, enable_speaker_diarization: true, enable_language_identification: true });
    on.send(pcm(200));
    await on.count(2);
    const [a, b] = finals(on);
    expect(a).toMatchObject({ speaker: '1', language: 'de' });
    expect(b).toMatchObject({ speaker: '2', language: 'de' });
    const off = await stream(d);
    off.send(pcm(100));
    await off.count(1);
    expect(off.messages[0].tokens[0].speaker).toBeUndefined();
    expect(off.messages[0].tokens[0].language).toBeUndefined();
  });

  it('one_way translation: translated tokens follow the originals, without timing or confidence', async () => {
    const d = await start({ wordsPerUtterance: 2 });
    const c = await stream(d, { ...CONFIG, translation: { type: 'one_way', target_language: 'es' } });
    c.send(pcm(200));
    const res = await c.next((m) => m.tokens?.some((t: SonioxToken) => t.is_final));
    expect(res.tokens).toEqual([
      { text: 'hello', start_ms: 0, end_ms: 100, confidence: 0.95, is_final: true, translation_status: 'original' },
      { text: ' world', start_ms: 100, end_ms: 200, confidence: 0.95, is_final: true, translation_status: 'original' },
      {
        text: '[es] hello world',
        is_final: true,
        translation_status: 'translation',
        language: 'es',
        source_language: 'en',
      },
    ]);
    // The non-final hypothesis before it carried only originals.
    expect(c.messages[0].tokens).toEqual([
      expect.objectContaining({ text: 'hello', is_final: false, translation_status: 'original' }),
    ]);
  });

  it('two_way translation picks the other language; a language outside the pair is "none"', async () => {
    const d = await start({ wordsPerUtterance: 1, translate: (t, target) => `${target}:${t.toUpperCase()}` });
    const c = await stream(d, { ...CONFIG, translation: { type: 'two_way', language_a: 'fr', language_b: 'en' } });
    c.send(pcm(100));
    const res = await c.next((m) => m.tokens?.some((t: SonioxToken) => t.is_final));
    expect(res.tokens[1]).toEqual({
      text: 'fr:HELLO',
      is_final: true,
      translation_status: 'translation',
      language: 'fr',
      source_language: 'en',
    });
    const none = await stream(d, { ...CONFIG, translation: { type: 'two_way', language_a: 'fr', language_b: 'de' } });
    none.send(pcm(100));
    const r2 = await none.next((m) => m.tokens?.some((t: SonioxToken) => t.is_final));
    expect(r2.tokens).toEqual([expect.objectContaining({ text: 'hello', translation_status: 'none' })]);
  });

  it('an empty binary frame ends the stream: last results with finished: true, then a normal close', async () => {
    const d = await start();
    const c = await stream(d);
    c.send(pcm(200));
    await c.count(2);
    c.send(Buffer.alloc(0));
    const last = await c.next((m) => m.finished === true);
    expect(last.tokens.map((t: SonioxToken) => [t.text, t.is_final])).toEqual([
      ['hello', true],
      [' world', true],
    ]);
    expect(last).toMatchObject({ final_audio_proc_ms: 200, total_audio_proc_ms: 200 });
    expect((await c.waitClosed()).code).toBe(1000);
    expect(d.streams[0]!.state).toBe('finished');
    expect(d.openStreams).toBe(0);
  });

  it('an empty text frame ends the stream too', async () => {
    const d = await start();
    const c = await stream(d);
    c.send('');
    expect(await c.next((m) => m.finished === true)).toMatchObject({ tokens: [] });
    await c.waitClosed();
  });

  it('rejects unknown control messages', async () => {
    const d = await start();
    const c = await stream(d);
    c.send({ type: 'flush' });
    expect(await c.next(isError)).toMatchObject({ error_code: 400 });
    await c.waitClosed();
  });
});

describe('SonioxDouble: idle timeout and keepalive', () => {
  it('closes a stream that gets neither audio nor keepalive, with an error response', async () => {
    const d = await start({ idleTimeoutMs: 150 });
    const t0 = Date.now();
    const c = await stream(d);
    const err = await c.next(isError, 2000);
    expect(err).toMatchObject({ error_code: 408 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    await c.waitClosed();
    expect(d.stats().idleTimeouts).toBe(1);
  });

  it('keepalive messages keep an idle stream open', async () => {
    const d = await start({ idleTimeoutMs: 400 });
    const c = await stream(d);
    for (let i = 0; i < 8; i++) {
      await sleep(50);
      c.send({ type: 'keepalive' });
    }
    await d.waitFor((x) => x.streams[0]!.keepaliveCount === 8, 2000, '8 keepalives');
    expect(c.closed).toBeNull();
    expect(c.messages.some(isError)).toBe(false);
    // Then silence on the wire: the timeout strikes.
    expect(await c.next(isError, 2000)).toMatchObject({ error_code: 408 });
  });

  it('audio keeps a stream open too, and the timeout also covers a missing start request', async () => {
    const d = await start({ idleTimeoutMs: 400 });
    const c = await stream(d);
    for (let i = 0; i < 10; i++) {
      await sleep(50);
      c.send(pcm(20, true));
    }
    expect(c.messages.some(isError)).toBe(false);
    const silent = await connect(d);
    expect(await silent.next(isError, 2000)).toMatchObject({ error_code: 408 });
  });
});

describe('SonioxDouble: fault injection', () => {
  it('failNext: the next streams get the error response and are closed; later ones work', async () => {
    const d = await start();
    d.failNext(2, { code: 503, message: 'Cannot continue request (code 7). Please restart the request.' });
    for (let i = 0; i < 2; i++) {
      const c = await stream(d);
      expect(await c.next(isError)).toMatchObject({
        error_code: 503,
        error_message: expect.stringContaining('Cannot continue'),
      });
      await c.waitClosed();
    }
    const ok = await stream(d);
    ok.send(pcm(100));
    await ok.count(1);
    expect(isError(ok.messages[0])).toBe(false);
    expect(d.streams.map((s) => s.fault)).toEqual(['fail', 'fail', 'none']);
  });

  it('failNext after some audio: results first, then the error mid-stream', async () => {
    const d = await start();
    d.failNext(1, { code: 500, message: 'boom' }, { afterBytes: 6400 });
    const c = await stream(d);
    c.send(pcm(100));
    c.send(pcm(100));
    const err = await c.next(isError);
    expect(err).toMatchObject({ error_code: 500, error_message: 'boom' });
    expect(c.messages.filter((m) => Array.isArray(m.tokens)).length).toBe(2);
    await c.waitClosed();
  });

  it('dropNext: the connection dies abruptly (1006) after some audio', async () => {
    const d = await start();
    d.dropNext(1, { afterBytes: 6400 });
    const c = await stream(d);
    c.send(pcm(100));
    await c.count(1);
    c.send(pcm(100));
    const closed = await c.waitClosed();
    expect(closed.code).toBe(1006);
    expect(c.messages.some(isError)).toBe(false);
    expect(d.streams[0]!.state).toBe('dropped');
    expect(d.stats().drops).toBe(1);
  });

  it('stallNext: audio is accepted but nothing is ever answered, and the socket stays open', async () => {
    const d = await start({ idleTimeoutMs: 100 });
    d.stallNext(1);
    const c = await stream(d);
    for (let i = 0; i < 5; i++) c.send(pcm(100));
    c.send({ type: 'finalize' });
    await d.waitFor((x) => x.streams[0]!.bytesReceived === 16000 && x.streams[0]!.finalizeCount === 1, 2000);
    await sleep(250);
    expect(c.messages).toEqual([]);
    expect(c.closed).toBeNull();
    expect(d.stats().stalls).toBe(1);
    // The next stream is healthy.
    const ok = await stream(d);
    ok.send(pcm(100));
    await ok.count(1);
  });

  it('stallNext after some audio: answers first, then goes silent', async () => {
    const d = await start();
    d.stallNext(1, { afterBytes: 6400 });
    const c = await stream(d);
    c.send(pcm(100));
    await c.count(1);
    c.send(pcm(300));
    await d.waitFor((x) => x.streams[0]!.bytesReceived === 12800, 2000);
    await sleep(50);
    expect(c.messages.length).toBe(2);
  });

  it('rejectAll: an outage refuses every connection (HTTP 503, error response, or reset) until lifted', async () => {
    const d = await start();
    d.rejectAll(true);
    expect((await ProbeClient.refused(d.url, { headers: auth })).status).toBe(503);
    expect((await ProbeClient.refused(d.url, { headers: auth })).status).toBe(503);

    d.rejectAll(true, 'error');
    const c = await connect(d);
    expect(await c.next(isError)).toMatchObject({ error_code: 503 });
    await c.waitClosed();

    d.rejectAll(true, 'refuse');
    const reset = await ProbeClient.refused(d.url, { headers: auth });
    expect(reset.status).toBe(0);

    d.rejectAll(false);
    const ok = await stream(d);
    ok.send(pcm(100));
    await ok.count(1);
    expect(d.stats().connections).toBe(5);
    expect(d.stats().upgradesRejected).toBe(3);
  });
});

describe('SonioxDouble: counters and control endpoint', () => {
  it('counts connections, open streams, configs, bytes per stream, finalize and keepalive', async () => {
    const d = await start();
    const a = await stream(d, { ...CONFIG, client_reference_id: 'a' });
    const b = await stream(d, { ...CONFIG, client_reference_id: 'b' });
    a.send(pcm(100));
    b.send(pcm(50));
    b.send(pcm(50));
    a.send({ type: 'keepalive' });
    b.send({ type: 'finalize' });
    await d.waitFor(
      (x) => x.stats().bytesReceived === 6400 && x.stats().keepaliveCount === 1 && x.stats().finalizeCount === 1,
      2000,
    );
    expect(d.stats()).toMatchObject({ connections: 2, openStreams: 2, configsReceived: 2, bytesReceived: 6400 });
    // 100 ms of audio sent at once runs ~100 ms ahead of real time.
    expect(d.streams[0]!.maxAudioAheadMs).toBeGreaterThan(50);
    expect(d.streams.map((s) => [s.bytesReceived, s.audioFrames])).toEqual([
      [3200, 1],
      [3200, 2],
    ]);
    expect(d.lastConfig).toMatchObject({ client_reference_id: 'b' });
    a.terminate();
    await d.waitFor((x) => x.openStreams === 1, 2000);
  });

  it('can be driven over HTTP (for a double in another process)', async () => {
    const d = await start();
    const res = await fetch(`${d.controlUrl}/control`, {
      method: 'POST',
      body: JSON.stringify({ op: 'failNext', n: 1, code: 429, message: 'limit' }),
    });
    expect(res.status).toBe(200);
    expect(d.pendingFaults).toBe(1);
    const c = await stream(d);
    expect(await c.next(isError)).toMatchObject({ error_code: 429, error_message: 'limit' });
    const stats = (await (await fetch(`${d.controlUrl}/stats`)).json()) as any;
    expect(stats.stats).toMatchObject({ connections: 1, errorsSent: 1 });
    expect(stats.streams[0]).toMatchObject({ fault: 'fail', errorCode: 429 });
    const bad = await fetch(`${d.controlUrl}/control`, { method: 'POST', body: JSON.stringify({ op: 'explode' }) });
    expect(bad.status).toBe(400);
  });
});
