import { afterEach, describe, expect, it } from 'vitest';
import { VoskDouble, createVoskDouble, type VoskDoubleOptions } from './vosk-double.js';
import { ProbeClient, pcm, sleep } from './probe-client.js';

const EOF = '{"eof" : 1}';
const CONFIG = { config: { sample_rate: 16000 } };

let doubles: VoskDouble[] = [];
let clients: ProbeClient[] = [];

afterEach(async () => {
  for (const c of clients) c.terminate();
  clients = [];
  await Promise.all(doubles.map((d) => d.close()));
  doubles = [];
});

/** 100 ms words (3200 bytes at 16 kHz), 3 words per utterance, 200 ms of silence ends one. */
async function start(opts: VoskDoubleOptions = {}): Promise<VoskDouble> {
  const d = createVoskDouble({ bytesPerWord: 3200, wordsPerUtterance: 3, silenceBytes: 6400, ...opts });
  await d.start();
  doubles.push(d);
  return d;
}

async function connect(d: VoskDouble, path = ''): Promise<ProbeClient> {
  const c = await ProbeClient.open(d.url + path);
  clients.push(c);
  return c;
}

describe('VoskDouble: protocol', () => {
  it('takes a config without answering it, then answers every frame: partials, then a result', async () => {
    const d = await start();
    const c = await connect(d);
    c.send(CONFIG);
    await d.waitFor((x) => x.stats().configsReceived === 1, 2000);
    await sleep(20);
    expect(c.messages).toEqual([]);
    c.send(pcm(50));
    await c.count(1);
    expect(c.messages[0]).toEqual({ partial: '' });
    c.send(pcm(50));
    await c.count(2);
    expect(c.messages[1]).toEqual({ partial: 'hello' });
    c.send(pcm(100));
    await c.count(3);
    expect(c.messages[2]).toEqual({ partial: 'hello world' });
    c.send(pcm(100));
    await c.count(4);
    expect(c.messages[3]).toEqual({
      result: [
        { conf: 1, end: 0.1, start: 0, word: 'hello' },
        { conf: 1, end: 0.2, start: 0.1, word: 'world' },
        { conf: 1, end: 0.3, start: 0.2, word: 'this' },
      ],
      text: 'hello world this',
    });
    c.send(pcm(100));
    await c.count(5);
    expect(c.messages[4]).toEqual({ partial: 'is' });
    expect(d.streams[0]).toMatchObject({
      sampleRate: 16000,
      framesReceived: 5,
      bytesReceived: 12800,
      partialsSent: 4,
      resultsSent: 1,
    });
  });

  it('ends an utterance after silence', async () => {
    const d = await start();
    const c = await connect(d);
    c.send(CONFIG);
    c.send(pcm(100));
    c.send(pcm(200, true));
    await c.count(2);
    expect(c.messages[1]).toEqual({ result: [{ conf: 1, end: 0.1, start: 0, word: 'hello' }], text: 'hello' });
    // Silence with nothing pending is an empty partial, not a result.
    c.send(pcm(300, true));
    await c.count(3);
    expect(c.messages[2]).toEqual({ partial: '' });
  });

  it('{"eof" : 1} gets the last result, then the server closes normally', async () => {
    const d = await start();
    const c = await connect(d);
    c.send(CONFIG);
    c.send(pcm(200));
    await c.count(1);
    c.send(EOF);
    await c.count(2);
    expect(c.messages[1]).toEqual({
      result: [
        { conf: 1, end: 0.1, start: 0, word: 'hello' },
        { conf: 1, end: 0.2, start: 0.1, word: 'world' },
      ],
      text: 'hello world',
    });
    expect((await c.waitClosed()).code).toBe(1000);
    expect(d.streams[0]!.state).toBe('finished');
    expect(d.streams[0]!.results).toEqual(['hello world']);
    expect(d.stats().eofs).toBe(1);
  });

  it('eof with nothing heard answers {"text": ""}', async () => {
    const d = await start();
    const c = await connect(d);
    c.send(EOF);
    expect(await c.next(() => true)).toEqual({ text: '' });
    await c.waitClosed();
  });

  it('a compact {"eof":1} is not the eof string: like asr_server.py, the handler crashes (1011), no answer', async () => {
    const d = await start();
    const c = await connect(d);
    c.send(CONFIG);
    c.send(pcm(100));
    await c.count(1);
    c.send(JSON.stringify({ eof: 1 }));
    expect((await c.waitClosed()).code).toBe(1011);
    expect(c.messages.length).toBe(1);
    expect(d.stats().protocolErrors).toBe(1);
  });

  it("eofMatch: 'json' accepts any JSON eof", async () => {
    const d = await start({ eofMatch: 'json' });
    const c = await connect(d);
    c.send(JSON.stringify({ eof: 1 }));
    expect(await c.next(() => true)).toEqual({ text: '' });
    expect((await c.waitClosed()).code).toBe(1000);
  });

  it('a broken config crashes the handler: bad JSON, no config key, non-numeric sample_rate', async () => {
    const d = await start();
    for (const bad of [
      '{"config": ',
      '{"configuration": {"sample_rate": 16000}}',
      '{"config": {"sample_rate": "fast"}}',
      '{"config": {"max_alternatives": "x"}}',
    ]) {
      const c = await connect(d);
      c.send(bad);
      expect((await c.waitClosed()).code).toBe(1011);
    }
    expect(d.stats().protocolErrors).toBe(4);
    // A numeric string is fine: the server runs float() on it.
    const ok = await connect(d);
    ok.send({ config: { sample_rate: '16000' } });
    ok.send(pcm(100));
    await ok.count(1);
    expect(d.streams.at(-1)!.sampleRate).toBe(16000);
  });

  it('without a config the server rate (8000 by default) applies, so times are twice as long', async () => {
    const d = await start({ wordsPerUtterance: 1 });
    const c = await connect(d);
    c.send(pcm(100));
    await c.count(1);
    expect(c.messages[0]).toEqual({ result: [{ conf: 1, end: 0.2, start: 0, word: 'hello' }], text: 'hello' });
    expect(d.streams[0]!.sampleRate).toBe(8000);
  });

  it('a config after the first audio frame has no effect', async () => {
    const d = await start({ wordsPerUtterance: 1 });
    const c = await connect(d);
    c.send(pcm(100));
    await c.count(1);
    c.send({ config: { sample_rate: 16000, words: 0 } });
    c.send(pcm(100));
    await c.count(2);
    expect(c.messages[1]).toEqual({ result: [{ conf: 1, end: 0.4, start: 0.2, word: 'world' }], text: 'world' });
    expect(d.streams[0]!.configsReceived).toBe(1);
  });

  it('words: false gives text-only results; max_alternatives gives alternatives', async () => {
    const d = await start({ wordsPerUtterance: 1 });
    const plain = await connect(d);
    plain.send({ config: { sample_rate: 16000, words: false } });
    plain.send(pcm(100));
    expect(await plain.next(() => true)).toEqual({ text: 'hello' });
    const alt = await connect(d);
    alt.send({ config: { sample_rate: 16000, max_alternatives: 2 } });
    alt.send(pcm(100));
    const m = await alt.next(() => true);
    expect(m.alternatives[0]).toMatchObject({ text: 'hello', result: [{ word: 'hello', start: 0, end: 0.1 }] });
  });

  it('accepts any path and counts connections, bytes and frames', async () => {
    const d = await start();
    const a = await connect(d, '/');
    const b = await connect(d, '/asr/en');
    a.send(pcm(100));
    b.send(pcm(50));
    b.send(pcm(50));
    await a.count(1);
    await b.count(2);
    expect(d.stats()).toMatchObject({ connections: 2, openStreams: 2, bytesReceived: 6400, framesReceived: 3 });
    expect(d.streams.map((s) => s.path)).toEqual(['/', '/asr/en']);
  });

  it('answers plain HTTP with 426', async () => {
    const d = await start();
    const res = await fetch(d.url.replace('ws://', 'http://'));
    expect(res.status).toBe(426);
  });

  it('drops a peer that does not answer pings', async () => {
    const d = await start({ pingIntervalMs: 50, pingTimeoutMs: 50 });
    const c = await connect(d);
    // Pause the client's socket so no pong goes back.
    (c.ws as any)._socket.pause();
    await d.waitFor((x) => x.streams[0]!.closeReason === 'keepalive ping timeout', 2000);
    expect(d.streams[0]!.closeCode).toBe(1011);
  });
});

describe('VoskDouble: fault injection', () => {
  it('failNext closes with 1011 (or a given code) after the given audio, without an answer', async () => {
    const d = await start();
    d.failNext(1, {}, { afterBytes: 3200 });
    const c = await connect(d);
    c.send(pcm(50));
    await c.count(1);
    c.send(pcm(50));
    expect((await c.waitClosed()).code).toBe(1011);
    expect(c.messages.length).toBe(1);
    d.failNext(1, { code: 1013, reason: 'try again later' });
    const c2 = await connect(d);
    expect(await c2.waitClosed()).toEqual({ code: 1013, reason: 'try again later' });
    expect(d.stats().failures).toBe(2);
  });

  it('dropNext kills the connection abruptly (1006)', async () => {
    const d = await start();
    d.dropNext(1, { afterBytes: 6400 });
    const c = await connect(d);
    c.send(pcm(100));
    await c.count(1);
    c.send(pcm(100));
    expect((await c.waitClosed()).code).toBe(1006);
    expect(d.streams[0]!.state).toBe('dropped');
  });

  it('stallNext takes audio and never answers; eof goes unanswered too', async () => {
    const d = await start();
    d.stallNext(1, { afterBytes: 3200 });
    const c = await connect(d);
    c.send(pcm(100));
    await c.count(1);
    c.send(pcm(100));
    c.send(pcm(100));
    c.send(EOF);
    await d.waitFor((x) => x.stats().eofs === 1, 2000);
    await sleep(50);
    expect(c.messages.length).toBe(1);
    expect(c.closed).toBeNull();
    expect(d.streams[0]!.bytesReceived).toBe(9600);
  });

  it('rejectAll refuses upgrades (503, 1011 after accept, or reset) until lifted', async () => {
    const d = await start();
    d.rejectAll(true);
    expect((await ProbeClient.refused(d.url)).status).toBe(503);
    d.rejectAll(true, 'error');
    const c = await connect(d);
    expect((await c.waitClosed()).code).toBe(1011);
    d.rejectAll(true, 'refuse');
    expect((await ProbeClient.refused(d.url)).status).toBe(0);
    d.rejectAll(false);
    const ok = await connect(d);
    ok.send(pcm(100));
    await ok.count(1);
    expect(d.stats()).toMatchObject({ connections: 4, upgradesRejected: 2 });
  });
});
