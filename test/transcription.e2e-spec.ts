import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AppSession } from '@mentra/sdk';
import { SimulatedGlasses } from '../src/simulator/index.js';
import {
  createLibreTranslateDouble,
  createSonioxDouble,
  createVoskDouble,
  type LibreTranslateDouble,
  type SonioxDouble,
  type VoskDouble,
} from './doubles/index.js';
import { startCloud, type TestCloud } from './support/cloud.js';
import { eventually, serveSdkApp } from './support/sdk-app.js';
import { silence, synthesizePcm } from './support/speech.js';

/**
 * Transcription and translation end to end: real SDK apps, the simulated glasses streaming speech
 * synthesized with espeak-ng, and protocol-faithful doubles of Soniox, Vosk and LibreTranslate.
 */
describe('transcription and translation', () => {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  let speech: Buffer;
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  beforeAll(() => {
    speech = Buffer.concat([synthesizePcm('hello world, this is a test of the captions'), silence(1500)]);
    expect(speech.length).toBeGreaterThan(32_000);
  });

  async function sdkApp(cloud: TestCloud, pkg: string, user: string, onSession: (s: AppSession) => void) {
    const { app } = await serveSdkApp(
      cloud,
      { packageName: pkg, permissions: [{ type: 'MICROPHONE' }] },
      [user],
      onSession,
    );
    cleanups.push(() => app.close());
    const r = await cloud.admin('POST', `/api/admin/sessions/${user}/apps/${pkg}/start`);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  }

  describe('Soniox', () => {
    let soniox: SonioxDouble;
    let cloud: TestCloud;
    beforeAll(async () => {
      soniox = createSonioxDouble({
        apiKeys: ['test-soniox-key'],
        bytesPerWord: 8_000,
        wordsPerUtterance: 4,
        translate: (t, target) => `[${target}] ${t}`,
      });
      const { url } = await soniox.start();
      cloud = await startCloud({
        SONIOX_API_KEY: 'test-soniox-key',
        SONIOX_URL: url,
        STREAM_RESTART_BASE_MS: '100',
        EMPTY_SUBSCRIPTION_GRACE_MS: '0',
      });
    });
    afterAll(async () => {
      await cloud.close();
      await soniox.close();
    });

    it('two apps with different options on one language share one provider stream; each gets interim then final text under its own streamType', async () => {
      const user = 'listener@example.com';
      const a: any[] = [];
      const b: any[] = [];
      const glasses = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token(user) });
      cleanups.push(() => glasses.disconnect().catch(() => undefined));
      await glasses.connect();
      await sdkApp(cloud, 'com.example.capa', user, (s) => s.events.onTranscription((t) => a.push(t)));
      await sdkApp(cloud, 'com.example.capb', user, (s) =>
        s.events.onTranscriptionForLanguage('en-US', (t) => b.push(t), { hints: ['ja'] }),
      );
      await eventually(
        () =>
          Object.keys(cloud.registry.get(user)!.subscriptions.all()).every(
            (p) => cloud.registry.get(user)!.subscriptions.subscriptionsOf(p).length > 0,
          ),
        3000,
        'subscriptions',
      );
      glasses.vad(true);
      await glasses.streamPcm(speech, { realtime: false, frameBytes: 3200 });
      await eventually(() => a.some((t) => t.isFinal) && b.some((t) => t.isFinal), 8000, 'finals for both apps');
      expect(soniox.stats().connections).toBe(1);
      const stream = soniox.streams[0]!;
      expect(stream.config).toMatchObject({ audio_format: 'pcm_s16le', sample_rate: 16000, num_channels: 1 });
      expect((stream.config as any).language_hints).toEqual(expect.arrayContaining(['en', 'ja']));
      expect(stream.authVia).toBe('header');
      const firstFinal = a.findIndex((t) => t.isFinal);
      expect(a.slice(0, firstFinal).some((t) => !t.isFinal)).toBe(true);
      const final = a[firstFinal];
      expect(final).toMatchObject({ type: 'transcription', transcribeLanguage: 'en-US', provider: 'soniox' });
      expect(final.text.length).toBeGreaterThan(3);
      expect(typeof final.startTime).toBe('number');
      expect(final.endTime).toBeGreaterThanOrEqual(final.startTime);
      // Exactly once: no final text repeated.
      const finals = a.filter((t) => t.isFinal).map((t) => `${t.utteranceId}`);
      expect(new Set(finals).size).toBe(finals.length);
      expect(b.filter((t) => t.isFinal).map((t) => t.text)).toEqual(a.filter((t) => t.isFinal).map((t) => t.text));
      // VAD silence finalizes.
      glasses.vad(false);
      await soniox.waitFor(() => soniox.streams[0]!.finalizeCount > 0, 3000, 'finalize');
    });

    it('a provider dropped mid-utterance recovers without the app doing anything', async () => {
      const user = 'dropped@example.com';
      const got: any[] = [];
      const glasses = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token(user) });
      cleanups.push(() => glasses.disconnect().catch(() => undefined));
      await glasses.connect();
      await sdkApp(cloud, 'com.example.capc', user, (s) => s.events.onTranscription((t) => got.push(t)));
      await eventually(
        () => cloud.registry.get(user)!.subscriptions.subscriptionsOf('com.example.capc').length > 0,
        3000,
        'subscribed',
      );
      const before = soniox.stats().connections;
      soniox.dropNext(1, { afterBytes: 12_000 });
      glasses.vad(true);
      await glasses.streamPcm(speech, { realtime: false });
      await eventually(() => soniox.stats().connections >= before + 2, 5000, 'reconnected to the provider');
      await glasses.streamPcm(speech, { realtime: false });
      await eventually(() => got.some((t) => t.isFinal), 8000, 'a final after the drop');
      const view = cloud.registry.get(user)!.transcription.describe().streams[0]!;
      expect(view.restarts).toBeGreaterThanOrEqual(1);
      expect(view.state).toBe('open');
    });

    it('onTranslationForLanguage gets translated text from a Soniox translation stream', async () => {
      const user = 'translator@example.com';
      const got: any[] = [];
      const glasses = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token(user) });
      cleanups.push(() => glasses.disconnect().catch(() => undefined));
      await glasses.connect();
      await sdkApp(cloud, 'com.example.tr', user, (s) =>
        s.events.ontranslationForLanguage('en-US', 'es-ES', (t) => got.push(t)),
      );
      await eventually(
        () => cloud.registry.get(user)!.subscriptions.subscriptionsOf('com.example.tr').length > 0,
        3000,
        'subscribed',
      );
      glasses.vad(true);
      await glasses.streamPcm(speech, { realtime: false });
      glasses.vad(false);
      await eventually(() => got.some((t) => t.isFinal), 8000, 'a final translation');
      const final = got.find((t) => t.isFinal);
      expect(final).toMatchObject({
        type: 'translation',
        transcribeLanguage: 'en-US',
        translateLanguage: 'es-ES',
        didTranslate: true,
        provider: 'soniox',
      });
      expect(final.text).toMatch(/^\[es\]/);
      const cfg = soniox.streams.at(-1)!.config as any;
      expect(cfg.translation).toEqual({ type: 'one_way', target_language: 'es' });
    });

    it('reconnecting the glasses five times never leaves more than one stream per language', async () => {
      const user = 'flappy@example.com';
      const glasses = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token(user) });
      cleanups.push(() => glasses.disconnect().catch(() => undefined));
      await glasses.connect();
      await sdkApp(cloud, 'com.example.capd', user, (s) => s.events.onTranscription(() => undefined));
      await eventually(
        () => cloud.registry.get(user)!.subscriptions.subscriptionsOf('com.example.capd').length > 0,
        3000,
        'subscribed',
      );
      const openBefore = soniox.openStreams;
      for (let i = 0; i < 5; i++) {
        glasses.vad(true);
        glasses.sendAudio(speech.subarray(0, 16_000));
        await glasses.drop();
        await glasses.reconnect();
      }
      glasses.vad(true);
      glasses.sendAudio(speech.subarray(0, 16_000));
      await new Promise((r) => setTimeout(r, 300));
      expect(cloud.registry.get(user)!.transcription.streamCount).toBe(1);
      expect(soniox.openStreams - openBefore).toBeLessThanOrEqual(1);
    });
  });

  describe('self-hosted: Vosk and LibreTranslate', () => {
    let vosk: VoskDouble;
    let libre: LibreTranslateDouble;
    let cloud: TestCloud;
    beforeAll(async () => {
      vosk = createVoskDouble({
        language: 'es',
        words: 'hola mundo esto es una prueba',
        bytesPerWord: 8_000,
        wordsPerUtterance: 3,
      });
      const v = await vosk.start();
      libre = createLibreTranslateDouble({ dictionary: { 'es:en': { 'hola mundo esto': 'hello world this' } } });
      const l = await libre.start();
      cloud = await startCloud({
        VOSK_URLS: `es-ES=${v.url}`,
        LIBRETRANSLATE_URL: l.url,
        EMPTY_SUBSCRIPTION_GRACE_MS: '0',
      });
    });
    afterAll(async () => {
      await cloud.close();
      await vosk.close();
      await libre.close();
    });

    it('Vosk transcribes and LibreTranslate translates the final transcripts (locales mapped to two-letter codes)', async () => {
      const user = 'hablante@example.com';
      const es: any[] = [];
      const tr: any[] = [];
      const glasses = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token(user) });
      cleanups.push(() => glasses.disconnect().catch(() => undefined));
      await glasses.connect();
      await sdkApp(cloud, 'com.example.es', user, (s) => {
        s.events.onTranscriptionForLanguage('es-ES', (t) => es.push(t));
        s.events.ontranslationForLanguage('es-ES', 'en-US', (t) => tr.push(t));
      });
      await eventually(
        () => cloud.registry.get(user)!.subscriptions.subscriptionsOf('com.example.es').length === 2,
        3000,
        'subscribed',
      );
      await glasses.streamPcm(speech, { realtime: false });
      await eventually(
        () => es.some((t) => t.isFinal) && tr.some((t) => t.isFinal),
        8000,
        'final transcript and translation',
      );
      expect(es.find((t) => t.isFinal)).toMatchObject({
        text: 'hola mundo esto',
        provider: 'vosk',
        transcribeLanguage: 'es-ES',
      });
      expect(tr.find((t) => t.isFinal)).toMatchObject({
        text: 'hello world this',
        originalText: 'hola mundo esto',
        transcribeLanguage: 'es-ES',
        translateLanguage: 'en-US',
        didTranslate: true,
        provider: 'libretranslate',
      });
      expect(libre.translateBodies.some((b: any) => b.source === 'es' && b.target === 'en')).toBe(true);
      expect(vosk.stats().connections).toBe(1);
    });
  });
  describe('self-hosted: VAD flush, stop and resume, any source language, phone-side transcripts', () => {
    let vosk: VoskDouble;
    let libre: LibreTranslateDouble;
    /** Streams stay open through silence (60 s), so whatever a VAD stop yields comes from the flush. */
    let cloud: TestCloud;
    /** Streams close 300 ms into a silence and reopen on speech. */
    let quickClose: TestCloud;
    beforeAll(async () => {
      vosk = createVoskDouble({
        language: 'es',
        words: 'hola mundo esto es una prueba',
        bytesPerWord: 8_000,
        wordsPerUtterance: 3,
      });
      const v = await vosk.start();
      libre = createLibreTranslateDouble({
        dictionary: {
          'es:en': { 'hola mundo esto': 'hello world this', 'es una prueba': 'is a test' },
          'de:en': { 'guten tag': 'good day' },
        },
      });
      const l = await libre.start();
      const env = { VOSK_URLS: `es-ES=${v.url}`, LIBRETRANSLATE_URL: l.url, EMPTY_SUBSCRIPTION_GRACE_MS: '0' };
      cloud = await startCloud({ ...env, TRANSCRIPTION_IDLE_CLOSE_MS: '60000' });
      quickClose = await startCloud({ ...env, TRANSCRIPTION_IDLE_CLOSE_MS: '300' });
    });
    afterAll(async () => {
      await cloud.close();
      await quickClose.close();
      await vosk.close();
      await libre.close();
    });

    async function glassesOf(c: TestCloud, user: string): Promise<SimulatedGlasses> {
      const glasses = new SimulatedGlasses({ cloudUrl: c.url, token: c.token(user) });
      cleanups.push(() => glasses.disconnect().catch(() => undefined));
      await glasses.connect();
      return glasses;
    }
    const subscribed = (c: TestCloud, user: string, pkg: string, n: number) =>
      eventually(() => c.registry.get(user)!.subscriptions.subscriptionsOf(pkg).length === n, 3000, 'subscribed');

    it('Vosk: a VAD silence turns the words heard so far into a final at once; the next speech goes on in the same stream', async () => {
      const user = 'flush@example.com';
      const es: any[] = [];
      const glasses = await glassesOf(cloud, user);
      await sdkApp(cloud, 'com.example.flush', user, (s) =>
        s.events.onTranscriptionForLanguage('es-ES', (t) => es.push(t)),
      );
      await subscribed(cloud, user, 'com.example.flush', 1);
      glasses.vad(true);
      // Two words: the double ends an utterance only after three, or after a second of silence in the audio.
      await glasses.streamPcm(speech.subarray(0, 16_000), { realtime: false });
      await eventually(() => es.some((t) => !t.isFinal && t.text === 'hola mundo'), 5000, 'the interim');
      expect(es.some((t) => t.isFinal)).toBe(false);
      glasses.vad(false);
      const final = await eventually(() => es.find((t) => t.isFinal), 5000, 'the flushed final');
      expect(final).toMatchObject({ text: 'hola mundo', provider: 'vosk', transcribeLanguage: 'es-ES' });
      // The stream was not closed for it (that happens only after TRANSCRIPTION_IDLE_CLOSE_MS).
      expect(cloud.registry.get(user)!.transcription.describe().streams).toEqual([
        expect.objectContaining({ key: 'transcription:es-ES', provider: 'vosk', state: 'open', restarts: 0 }),
      ]);
      glasses.vad(true);
      await glasses.streamPcm(speech.subarray(16_000, 40_000), { realtime: false });
      await eventually(() => es.filter((t) => t.isFinal).length === 2, 5000, 'the next utterance');
      expect(es.filter((t) => t.isFinal).map((t) => t.text)).toEqual(['hola mundo', 'hola mundo esto']);
    });

    it('LibreTranslate: translation:all-to-en-US translates whatever the session transcribes (es-ES by Vosk, de-DE from the phone), not only en-US', async () => {
      const user = 'todos@example.com';
      const tr: any[] = [];
      const glasses = await glassesOf(cloud, user);
      await sdkApp(cloud, 'com.example.todos', user, (s) => {
        s.on('translation:all-to-en-US' as never, (t: unknown) => tr.push(t));
      });
      await subscribed(cloud, user, 'com.example.todos', 1);
      glasses.vad(true);
      await glasses.streamPcm(speech, { realtime: false });
      await eventually(() => tr.some((t) => t.isFinal && t.text === 'hello world this'), 8000, 'the translated final');
      expect(tr.find((t) => t.isFinal)).toMatchObject({
        text: 'hello world this',
        originalText: 'hola mundo esto',
        transcribeLanguage: 'es-ES',
        translateLanguage: 'en-US',
        didTranslate: true,
        provider: 'libretranslate',
      });
      glasses.sendTranscript('guten tag', { language: 'de-DE' });
      const de = await eventually(() => tr.find((t) => t.originalText === 'guten tag'), 3000, 'the de-DE translation');
      expect(de).toMatchObject({ text: 'good day', transcribeLanguage: 'de-DE', isFinal: true });
      expect(libre.translateBodies).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ q: 'hola mundo esto', source: 'es', target: 'en' }),
          expect.objectContaining({ q: 'guten tag', source: 'de', target: 'en' }),
        ]),
      );
    });

    it('LibreTranslate: a VAD stop closes the streams, the subscriptions stay (es-ES-to-en-US and all-to-fr-FR), and speech afterwards is transcribed and translated again', async () => {
      const user = 'pausa@example.com';
      const es: any[] = [];
      const tr: any[] = [];
      const fr: any[] = [];
      const glasses = await glassesOf(quickClose, user);
      await sdkApp(quickClose, 'com.example.pausa', user, (s) => {
        s.events.onTranscriptionForLanguage('es-ES', (t) => es.push(t));
        s.events.ontranslationForLanguage('es-ES', 'en-US', (t) => tr.push(t));
        s.on('translation:all-to-fr-FR' as never, (t: unknown) => fr.push(t));
      });
      await subscribed(quickClose, user, 'com.example.pausa', 3);
      const session = () => quickClose.registry.get(user)!;
      const subscriptionsBefore = session().subscriptions.subscriptionsOf('com.example.pausa');
      const firstConnection = vosk.streams.length;
      glasses.vad(true);
      await glasses.streamPcm(speech.subarray(0, 24_000), { realtime: false });
      await eventually(() => tr.some((t) => t.isFinal) && fr.some((t) => t.isFinal), 5000, 'the first translations');
      glasses.vad(false);
      await eventually(() => session().transcription.describe().streams.length === 0, 3000, 'streams closed');
      await vosk.waitFor(
        (d) => d.streams.slice(firstConnection).every((c) => c.closedAt !== null),
        3000,
        'its Vosk connections closed',
      );
      expect(session().subscriptions.subscriptionsOf('com.example.pausa')).toEqual(subscriptionsBefore);
      expect(session().built('translation')!.describe().textTranslation).toEqual([
        { base: 'translation:es-ES-to-en-US' },
        { base: 'translation:all-to-fr-FR' },
      ]);
      glasses.vad(true);
      await glasses.streamPcm(speech.subarray(0, 24_000), { realtime: false });
      await eventually(
        () => tr.filter((t) => t.isFinal).length === 2 && fr.filter((t) => t.isFinal).length === 2,
        5000,
        'the translations after resuming',
      );
      expect(es.filter((t) => t.isFinal).map((t) => t.text)).toEqual(['hola mundo esto', 'hola mundo esto']);
      expect(tr.filter((t) => t.isFinal).map((t) => t.text)).toEqual(['hello world this', 'hello world this']);
      expect(fr.filter((t) => t.isFinal).map((t) => [t.text, t.transcribeLanguage])).toEqual([
        ['[fr] hola mundo esto', 'es-ES'],
        ['[fr] hola mundo esto', 'es-ES'],
      ]);
    });

    it('phone-side transcripts are dropped while a cloud stream transcribes their language (no duplicate finals), and used where none does', async () => {
      const user = 'doble@example.com';
      const es: any[] = [];
      const fr: any[] = [];
      const glasses = await glassesOf(cloud, user);
      await sdkApp(cloud, 'com.example.doble', user, (s) => {
        s.on('transcription:es-ES' as never, (t: unknown) => es.push(t));
        s.on('transcription:fr-FR' as never, (t: unknown) => fr.push(t));
      });
      await subscribed(cloud, user, 'com.example.doble', 2);
      glasses.vad(true);
      await glasses.streamPcm(speech.subarray(0, 24_000), { realtime: false });
      await eventually(() => es.some((t) => t.isFinal), 5000, 'the cloud final');
      // The phone heard the same utterance; fr-FR has no cloud provider here, so the phone's is the only one.
      glasses.sendTranscript('hola mundo esto', { language: 'es-ES' });
      glasses.sendTranscript('bonjour', { language: 'fr-FR' });
      await eventually(() => fr.some((t) => t.isFinal), 3000, 'the phone-side fr-FR final');
      expect(fr.filter((t) => t.isFinal)).toEqual([
        expect.objectContaining({ text: 'bonjour', provider: 'simulator' }),
      ]);
      expect(es.filter((t) => t.isFinal)).toEqual([
        expect.objectContaining({ text: 'hola mundo esto', provider: 'vosk' }),
      ]);
      expect(cloud.registry.get(user)!.transcription.describe().localTranscriptsDropped).toBe(1);
    });
  });
});
