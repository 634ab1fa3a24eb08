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
});
