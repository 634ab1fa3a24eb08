import type { AppSession } from '@mentra/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedGlasses } from '../../src/simulator/index.js';
import { SonioxDouble } from '../doubles/soniox-double.js';
import { startSdkAppOn, type SdkAppRecord } from './apps.js';
import { ensureBuilt, LONG, prng, quantile, report, sleep, spawnService, until, type Service } from './support.js';

/**
 * Fault case 1 — reconnect storm: a user with an SDK app on button presses, audio and transcription (Soniox
 * protocol double as the provider); the glasses socket is dropped abruptly (1006) five times 1–2 s apart, and
 * once the app removes every handler and adds them back (plus one more) while the glasses are away. After each
 * reconnect: a press reaches the app within 3 s, the mic state is re-sent, one provider stream per language,
 * the admin summary lists exactly the app's last subscription set, and the app was never restarted.
 */
const PKG = 'com.faults.storm';
const USER = 'storm@faults.test';
const DROPS = LONG ? 25 : 5;
const REWIRE_AT = 2; // the drop (0-based) during which the app rewires its handlers

describe('fault 1: reconnect storm', () => {
  let svc: Service;
  let soniox: SonioxDouble;
  let app: SdkAppRecord;
  let glasses: SimulatedGlasses;
  let session: AppSession | null = null;
  const presses: Array<{ id: string; at: number }> = [];
  let audioChunks = 0;
  let unsubscribe: Array<() => void> = [];

  function wire(s: AppSession, extra = false): void {
    unsubscribe = [
      s.events.onButtonPress((p) => presses.push({ id: p.buttonId, at: Date.now() })),
      s.events.onAudioChunk(() => audioChunks++),
      s.events.onTranscription(() => undefined),
      ...(extra ? [s.events.onHeadPosition(() => undefined)] : []),
    ];
  }

  beforeAll(async () => {
    await ensureBuilt();
    soniox = new SonioxDouble({ apiKeys: ['storm-soniox-key'] });
    const { url } = await soniox.start();
    svc = await spawnService({
      env: { SONIOX_URL: url, SONIOX_API_KEY: 'storm-soniox-key', GLASSES_GRACE_MS: '30000', APP_GRACE_MS: '5000' },
    });
    app = await startSdkAppOn(svc, PKG, [USER], (s) => {
      session = s;
      wire(s);
    });
  }, 180_000);

  afterAll(async () => {
    await glasses?.disconnect().catch(() => undefined);
    await app?.handle.close();
    await svc?.close();
    await soniox?.close();
  });

  const summary = async () => (await svc.admin('GET', `/api/admin/sessions/${encodeURIComponent(USER)}`)).body;

  it(
    `survives ${DROPS} abrupt drops with presses, mic state, one stream per language and the last subscription set`,
    async () => {
      const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
      const rand = prng(seed);
      glasses = new SimulatedGlasses({ cloudUrl: svc.url, token: svc.token(USER) });
      await glasses.connect();
      glasses.startApp(PKG);
      await until(() => session !== null, 10_000, 'the SDK session');
      await until(async () => (await summary()).subscriptions?.[PKG]?.length === 3, 10_000, 'three subscriptions');
      let expected = ['audio_chunk', 'button_press', 'transcription:en-US'];
      expect([...(await summary()).subscriptions[PKG]].sort()).toEqual(expected);
      const speech = Buffer.alloc(3200 * 5);
      for (let i = 0; i < speech.length; i += 2) speech.writeInt16LE(Math.round(8000 * Math.sin(i / 9)), i);

      const pressMs: number[] = [];
      const micResent: boolean[] = [];
      const streamsSeen: number[] = [];
      let dropCodes = 0;
      for (let drop = 0; drop < DROPS; drop++) {
        // Audio flowing before the drop, so a provider stream is open when the socket dies.
        glasses.sendAudio(speech);
        await until(() => soniox.openStreams === 1, 5000, 'an open provider stream').catch(async (e) => {
          console.log(JSON.stringify(await summary()), JSON.stringify(soniox.stats()), JSON.stringify(soniox.streams));
          throw e;
        });
        await sleep(1000 + Math.floor(rand() * 1000) - 1000 * Number(drop === 0));
        await glasses.drop();
        await until(async () => (await summary()).glassesConnected === false, 3000, 'the server to see the drop');
        dropCodes++;
        if (drop === REWIRE_AT) {
          // While the glasses are away the app drops every handler, then adds them back and one more.
          for (const off of unsubscribe) off();
          await sleep(300);
          wire(session!, true);
          expected = ['audio_chunk', 'button_press', 'head_position', 'transcription:en-US'];
        }
        await sleep(Math.floor(rand() * 500));
        const mark = glasses.mark();
        await glasses.reconnect();
        const mic = await glasses.waitFor('microphone_state_change', undefined, { since: mark, timeoutMs: 3000 }).then(
          (m) => m,
          () => null,
        );
        micResent.push(mic !== null && mic.isMicrophoneEnabled === true);
        const id = `after-drop-${drop}`;
        const sent = Date.now();
        glasses.pressButton('short', id);
        const got = await until(() => presses.find((p) => p.id === id), 3000, `press ${id} at the app`);
        pressMs.push(got.at - sent);
        glasses.sendAudio(speech);
        await until(
          async () => {
            const s = await summary();
            return (
              [...(s.subscriptions?.[PKG] ?? [])].sort().join() === expected.join() &&
              s.transcription.streams.length === 1
            );
          },
          5000,
          `subscriptions ${expected.join()} and one stream`,
        );
        await until(() => soniox.openStreams === 1, 5000, 'exactly one provider stream');
        streamsSeen.push(soniox.openStreams);
      }
      const s = await summary();
      expect([...s.subscriptions[PKG]].sort()).toEqual(expected);
      expect(s.transcription.streams.map((x: { key: string }) => x.key)).toEqual(['transcription:en-US']);
      expect(micResent.every(Boolean), `mic state re-sent after every reconnect: ${micResent.join()}`).toBe(true);
      expect(streamsSeen.every((n) => n === 1)).toBe(true);
      expect(pressMs.every((ms) => ms < 3000)).toBe(true);
      // Never restarted: one webhook, one SDK session, no stop.
      expect(app.webhooks.filter((w) => w.userId === USER)).toHaveLength(1);
      expect(app.handle.sessions).toHaveLength(1);
      expect(app.handle.stops).toEqual([]);
      expect(s.runningApps).toEqual([PKG]);
      report('1 reconnect storm', {
        seed,
        drops: dropCodes,
        pressP50Ms: quantile(pressMs, 0.5),
        pressMaxMs: Math.max(...pressMs),
        micResent: `${micResent.filter(Boolean).length}/${micResent.length}`,
        providerStreamsPerLanguage: [...new Set(streamsSeen)].join('/'),
        providerConnections: soniox.stats().connections,
        subscriptions: expected.length,
        webhooks: app.webhooks.length,
        audioChunks,
      });
    },
    LONG ? 300_000 : 90_000,
  );
});
