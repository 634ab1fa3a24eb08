import { Logger } from '@nestjs/common';
import type { WebSocket } from 'ws';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { AppConfig } from '../config/config.types.js';
import { SessionContext } from '../session-core/session-context.js';
import { SubscriptionManager } from '../subscriptions/subscription-manager.js';
import { MIC_TIMINGS, MicrophoneManager, type MicState } from './microphone-manager.js';
import { T0, useFakeClock } from '../../test/support/fake-clock.js';

const OFF: MicState = { isMicrophoneEnabled: false, requiredData: [], bypassVad: false };
const PCM: MicState = { isMicrophoneEnabled: true, requiredData: ['pcm'], bypassVad: true };
const TRANSCRIPTION: MicState = { isMicrophoneEnabled: true, requiredData: ['pcm'], bypassVad: false };

interface Received extends MicState {
  type: string;
  sessionId: string;
  timestamp: string;
  /** Fake-clock time of arrival, ms after T0. */
  at: number;
}

function harness(opts: { connected?: boolean } = {}) {
  const ctx = new SessionContext({ userId: 'user@example.com' });
  const received: Received[] = [];
  /** Sends reaching a socket that is no longer the session's open one. */
  const violations: unknown[] = [];
  let current: { readyState: number; send(s: string): void; close(): void } | null = null;

  const config = {
    systemDashboardPackage: 'system.augmentos.dashboard',
    emptySubscriptionGraceMs: 0,
    maxLanguageStreamsPerSession: 4,
  } as AppConfig;
  const subscriptions = new SubscriptionManager(ctx, config);
  const mic = new MicrophoneManager(ctx, subscriptions);

  const h = {
    ctx,
    subscriptions,
    mic,
    received,
    violations,
    get connected() {
      return ctx.glassesOpen;
    },
    connect(reconnect = true) {
      const socket = {
        readyState: 1,
        send(s: string) {
          if (socket.readyState !== 1 || ctx.glasses !== (socket as unknown)) violations.push(JSON.parse(s));
          else received.push({ ...JSON.parse(s), at: Date.now() - T0 });
        },
        /** A newer connection replaces this one (the context closes it with 4000). */
        close() {
          socket.readyState = 3;
        },
      };
      current = socket;
      ctx.attachGlasses(socket as unknown as WebSocket, reconnect);
    },
    disconnect() {
      if (current) current.readyState = 3;
      if (current) ctx.detachGlasses(current as unknown as WebSocket, 1006);
    },
    /** An app's subscription_update (replace semantics); the app is registered with MICROPHONE permission. */
    subscribe(pkg: string, streams: string[]) {
      subscriptions.registerApp(pkg, [{ type: 'MICROPHONE' }], 0);
      const r = subscriptions.update(pkg, streams);
      if (!r.applied) throw new Error(`update of ${pkg} not applied`);
    },
    stopApp(pkg: string) {
      ctx.emit('appStopped', { packageName: pkg, reason: 'user_disabled' });
    },
    /** The states received so far (without type/sessionId/timestamp), then forgets them. */
    take(): MicState[] {
      return received
        .splice(0)
        .map(({ isMicrophoneEnabled, requiredData, bypassVad }) => ({ isMicrophoneEnabled, requiredData, bypassVad }));
    },
    last(): MicState | undefined {
      const r = received.at(-1);
      return r && { isMicrophoneEnabled: r.isMicrophoneEnabled, requiredData: r.requiredData, bypassVad: r.bypassVad };
    },
    at(ms: number) {
      const now = Date.now() - T0;
      if (ms < now) throw new Error(`clock is already at ${now}`);
      vi.advanceTimersByTime(ms - now);
    },
  };
  if (opts.connected !== false) h.connect(false);
  return h;
}

describe('MicrophoneManager', () => {
  beforeAll(() => Logger.overrideLogger(false));
  useFakeClock(T0);

  it('sends the full state at once when the glasses connect', () => {
    const h = harness();
    expect(h.received).toEqual([
      {
        type: 'microphone_state_change',
        sessionId: 'user@example.com',
        isMicrophoneEnabled: false,
        requiredData: [],
        bypassVad: false,
        timestamp: new Date(T0).toISOString(),
        at: 0,
      },
    ]);
  });

  describe('requiredData and bypassVad', () => {
    it.each([
      ['audio_chunk', ['audio_chunk'], PCM],
      ['bare transcription (rewritten to en-US)', ['transcription'], TRANSCRIPTION],
      ['a language stream with options', ['transcription:de-DE?hints=x'], TRANSCRIPTION],
      ['auto transcription', ['transcription:auto'], TRANSCRIPTION],
      ['translation', ['translation:es-ES-to-en-US'], TRANSCRIPTION],
      ['audio_chunk and transcription', ['audio_chunk', 'transcription:en-US'], PCM],
      ['streams that need no audio', ['button_press', 'head_position', 'VAD'], OFF],
    ])('%s', (_name, streams, expected) => {
      const h = harness();
      h.take();
      h.subscribe('com.app', streams);
      vi.advanceTimersByTime(MIC_TIMINGS.subscriptionDebounceMs);
      expect(h.take()).toEqual(expected.isMicrophoneEnabled ? [expected] : []);
      expect(h.mic.desired()).toEqual(expected);
      expect(h.mic.hasMedia).toBe(expected.isMicrophoneEnabled);
    });

    it('bypassVad follows the audio_chunk subscriber across apps', () => {
      const h = harness();
      h.take();
      h.subscribe('com.raw', ['audio_chunk']);
      h.subscribe('com.captions', ['transcription:en-US']);
      vi.advanceTimersByTime(100);
      expect(h.take()).toEqual([PCM]);
      h.subscribe('com.raw', ['button_press']);
      vi.advanceTimersByTime(100);
      expect(h.take()).toEqual([TRANSCRIPTION]); // still on: only bypassVad changes, at once
    });

    it('requiredData is [] whenever the mic is disabled', () => {
      const h = harness();
      h.subscribe('com.raw', ['audio_chunk']);
      vi.advanceTimersByTime(100);
      h.subscribe('com.raw', []);
      vi.advanceTimersByTime(100 + MIC_TIMINGS.offHolddownMs);
      const states = h.take();
      expect(states.at(-1)).toEqual(OFF);
      for (const s of states) if (!s.isMicrophoneEnabled) expect(s.requiredData).toEqual([]);
    });
  });

  describe('timing', () => {
    it('debounces subscription changes: several within 100 ms produce one message', () => {
      const h = harness();
      h.take();
      h.subscribe('com.a', ['transcription:en-US']);
      h.at(30);
      h.subscribe('com.b', ['audio_chunk']);
      h.at(60);
      h.subscribe('com.c', ['translation:fr-FR-to-en-US']);
      h.at(99);
      expect(h.received).toEqual([]);
      h.at(100);
      expect(h.received.map((r) => r.at)).toEqual([100]);
      expect(h.take()).toEqual([PCM]);
    });

    it('turns on right after the debounce; turns off only after the 3000 ms holddown', () => {
      const h = harness();
      h.take();
      h.subscribe('com.a', ['audio_chunk']);
      h.at(100);
      expect(h.received.map((r) => [r.at, r.isMicrophoneEnabled])).toEqual([[100, true]]);
      h.at(1_000);
      h.subscribe('com.a', []);
      h.at(1_100 + MIC_TIMINGS.offHolddownMs - 1);
      expect(h.received).toHaveLength(1);
      h.at(1_100 + MIC_TIMINGS.offHolddownMs);
      expect(h.received.map((r) => [r.at, r.isMicrophoneEnabled])).toEqual([
        [100, true],
        [4_100, false],
      ]);
    });

    it('an app stop counts as an unsubscribe (with the holddown)', () => {
      const h = harness();
      h.subscribe('com.a', ['transcription:en-US']);
      h.at(100);
      h.take();
      h.stopApp('com.a');
      h.at(3_199);
      expect(h.take()).toEqual([]);
      h.at(3_200);
      expect(h.take()).toEqual([OFF]);
    });

    it('a re-subscribe inside the holddown cancels the off', () => {
      const h = harness();
      h.subscribe('com.a', ['audio_chunk']);
      h.at(100);
      h.take();
      h.subscribe('com.a', []);
      h.at(2_000);
      h.subscribe('com.a', ['audio_chunk']);
      h.at(10_000);
      expect(h.take()).toEqual([]);
      expect(h.mic.state).toEqual(PCM);
    });

    it('the holddown re-checks at its end: a re-subscribe in its last 100 ms (debounce still pending) does not flap the mic', () => {
      const h = harness();
      h.subscribe('com.a', ['audio_chunk']);
      h.at(100);
      h.take();
      h.subscribe('com.a', []);
      h.at(200); // holddown until 3 200
      h.at(3_150);
      h.subscribe('com.a', ['audio_chunk']); // its debounce ends at 3 250, after the holddown
      h.at(10_000);
      expect(h.take()).toEqual([]);
    });

    it('a re-subscribe cancels the holddown: a later unsubscribe waits a full holddown of its own', () => {
      const h = harness();
      h.subscribe('com.a', ['audio_chunk']);
      h.at(100);
      h.take();
      h.subscribe('com.a', []); // holddown 200..3 200
      h.at(1_000);
      h.subscribe('com.a', ['audio_chunk']);
      h.at(2_000);
      h.subscribe('com.a', []); // debounce ends 2 100: off at 5 100
      h.at(5_099);
      expect(h.take()).toEqual([]);
      h.at(5_100);
      expect(h.take()).toEqual([OFF]);
    });

    it('the holddown re-checks: a different media subscription at its end keeps the mic on with the new state', () => {
      const h = harness();
      h.subscribe('com.a', ['audio_chunk']);
      h.at(100);
      h.take();
      h.subscribe('com.a', []);
      h.at(200); // holddown running until 3 200
      h.subscribe('com.b', ['transcription:en-US']);
      h.at(300);
      expect(h.take()).toEqual([TRANSCRIPTION]); // on is immediate (and cancels the holddown)
      h.at(5_000);
      expect(h.take()).toEqual([]);
    });

    it('re-sends the state every 10 s while enabled, and not while disabled', () => {
      const h = harness();
      h.subscribe('com.a', ['audio_chunk']);
      h.at(100);
      h.take();
      h.at(10_099);
      expect(h.received).toEqual([]);
      h.at(10_100);
      h.at(20_100);
      expect(h.received.map((r) => r.at)).toEqual([10_100, 20_100]);
      expect(h.take()).toEqual([PCM, PCM]);
      h.subscribe('com.a', []);
      h.at(23_200);
      expect(h.take()).toEqual([OFF]);
      h.at(100_000);
      expect(h.take()).toEqual([]);
      expect(vi.getTimerCount()).toBe(0);
    });
  });

  describe('connection', () => {
    it('re-sends the full state at once on every glassesConnected, even if unchanged', () => {
      const h = harness();
      h.subscribe('com.a', ['audio_chunk']);
      h.at(100);
      h.take();
      h.at(500);
      h.ctx.emit('glassesConnected', { reconnect: true }); // same socket: still re-sent
      expect(h.received.map((r) => r.at)).toEqual([500]);
      h.take();
      h.disconnect();
      h.at(700);
      h.connect();
      expect(h.received.map((r) => r.at)).toEqual([700]);
      expect(h.take()).toEqual([PCM]);
    });

    it('the state while disconnected: nothing sent and no timers run; the reconnect sends what is required then', () => {
      const h = harness();
      h.subscribe('com.a', ['audio_chunk']);
      h.at(100);
      h.take();
      h.disconnect();
      expect(vi.getTimerCount()).toBe(0);
      expect(h.mic.state).toBeNull();
      h.subscribe('com.a', []);
      h.subscribe('com.b', ['transcription:en-US']);
      expect(vi.getTimerCount()).toBe(0);
      expect(h.mic.desired()).toEqual(OFF); // requiredData is [] whenever the mic is off
      expect(h.mic.hasMedia).toBe(true);
      h.mic.sync(true);
      h.at(60_000);
      expect(h.received).toEqual([]);
      expect(h.violations).toEqual([]);
      h.connect();
      expect(h.take()).toEqual([TRANSCRIPTION]);
    });

    it('a subscriber lost while disconnected: the reconnect turns the mic off at once', () => {
      const h = harness();
      h.subscribe('com.a', ['audio_chunk']);
      h.at(100);
      h.take();
      h.disconnect();
      h.stopApp('com.a');
      h.at(1_000);
      h.connect();
      expect(h.take()).toEqual([OFF]);
      h.at(30_000);
      expect(h.take()).toEqual([]);
    });
  });

  describe('audio', () => {
    it('audio with no subscriber sends mic-off immediately, at most once per 5 s', () => {
      const h = harness();
      h.at(1_000);
      h.take();
      h.mic.onAudioReceived();
      expect(h.received.map((r) => r.at)).toEqual([1_000]);
      expect(h.take()).toEqual([OFF]);
      h.at(5_999);
      h.mic.onAudioReceived();
      expect(h.take()).toEqual([]);
      h.at(6_000);
      h.mic.onAudioReceived();
      expect(h.take()).toEqual([OFF]);
    });

    it('audio right after a subscribe (inside the debounce) is not treated as unauthorized: it repairs the drift', () => {
      const h = harness();
      h.take();
      h.subscribe('com.a', ['transcription:en-US']);
      h.at(20);
      h.mic.onAudioReceived(); // subscribed but the mic is marked off: resync at once, never a mic-off
      expect(h.take()).toEqual([TRANSCRIPTION]);
      h.at(100);
      expect(h.take()).toEqual([]);
      h.at(5_000);
      h.mic.onAudioReceived();
      expect(h.take()).toEqual([]);
    });

    it('audio while subscribed and the mic is on sends nothing', () => {
      const h = harness();
      h.subscribe('com.a', ['audio_chunk']);
      h.at(100);
      h.take();
      for (let i = 0; i < 50; i++) h.mic.onAudioReceived();
      expect(h.take()).toEqual([]);
    });
  });

  describe('property: any sequence ends with the state the final subscriptions require', () => {
    /** mulberry32: tiny, seedable, good enough to drive a test. */
    function prng(seed: number): () => number {
      let a = seed >>> 0;
      return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
    }

    const APPS = ['com.a', 'com.b', 'com.c'];
    const STREAM_SETS: string[][] = [
      [],
      ['audio_chunk'],
      ['transcription'],
      ['transcription:en-US', 'button_press'],
      ['translation:es-ES-to-en-US'],
      ['audio_chunk', 'transcription:fr-FR'],
      ['button_press', 'VAD'],
    ];
    const GAPS = [0, 0, 1, 10, 50, 99, 100, 101, 250, 1_000, 2_999, 3_000, 3_001, 5_000, 10_000, 12_000];

    function required(model: Map<string, string[]>): MicState {
      const all = [...model.values()].flat();
      const pcm = all.includes('audio_chunk');
      const media = all.some(
        (s) => s === 'audio_chunk' || s.startsWith('transcription') || s.startsWith('translation'),
      );
      return media ? { isMicrophoneEnabled: true, requiredData: ['pcm'], bypassVad: pcm } : OFF;
    }

    // MIC_SEED=<n> replays one printed seed; MIC_SEEDS=<count> runs more of them.
    const SEEDS = process.env.MIC_SEED
      ? [Number(process.env.MIC_SEED)]
      : Array.from({ length: Number(process.env.MIC_SEEDS ?? 20) }, (_, i) => (0x5eed0000 + i * 7919) >>> 0);

    it.each(SEEDS)('seed %i', (seed) => {
      console.log(`microphone property seed ${seed}`);
      const rand = prng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
      const h = harness();
      const model = new Map<string, string[]>();
      const log: string[] = [];
      try {
        for (let step = 0; step < 200; step++) {
          const r = rand();
          if (r < 0.6) {
            const pkg = pick(APPS);
            const streams = pick(STREAM_SETS);
            h.subscribe(pkg, streams);
            model.set(pkg, streams);
            log.push(`${Date.now() - T0}: ${pkg} ${JSON.stringify(streams)}`);
          } else if (r < 0.67) {
            const pkg = pick(APPS);
            h.stopApp(pkg);
            model.delete(pkg);
            log.push(`${Date.now() - T0}: stop ${pkg}`);
          } else if (r < 0.8) {
            if (h.connected) {
              h.disconnect();
              log.push(`${Date.now() - T0}: disconnect`);
              expect(vi.getTimerCount(), 'timers while disconnected').toBe(0);
            }
          } else if (r < 0.93) {
            h.connect();
            log.push(`${Date.now() - T0}: connect`);
            // a (re)connect always re-sends the full state at once
            expect(h.last()).toEqual(required(model));
          } else if (h.connected) {
            h.mic.onAudioReceived();
            log.push(`${Date.now() - T0}: audio`);
          }
          if (!h.connected) {
            const before = h.received.length;
            vi.advanceTimersByTime(pick(GAPS));
            expect(h.received.length, 'sent while disconnected').toBe(before);
            expect(vi.getTimerCount(), 'timers while disconnected').toBe(0);
          } else {
            vi.advanceTimersByTime(pick(GAPS));
          }
        }
        if (!h.connected) {
          h.connect();
          log.push(`${Date.now() - T0}: final connect`);
        }
        // Run every timer out (the keep-alive repeats, so advance well past every deadline instead).
        vi.advanceTimersByTime(
          MIC_TIMINGS.subscriptionDebounceMs + MIC_TIMINGS.offHolddownMs + MIC_TIMINGS.keepAliveMs,
        );
        const want = required(model);
        expect(h.last()).toEqual(want);
        expect(h.mic.state).toEqual(want);
        // and it stays there: only identical keep-alives follow
        const settled = h.received.length;
        vi.advanceTimersByTime(60_000);
        for (const m of h.received.slice(settled)) expect(m).toMatchObject(want);
        expect(h.violations).toEqual([]);
      } catch (err) {
        console.log(`failing seed ${seed}; last events:\n${log.slice(-15).join('\n')}`);
        throw err;
      }
    });
  });

  it('dispose clears every timer', async () => {
    const h = harness();
    h.subscribe('com.a', ['audio_chunk']);
    h.at(100); // keep-alive running
    h.subscribe('com.a', []); // debounce
    h.at(200); // holddown
    h.subscribe('com.b', ['button_press']); // debounce again
    expect(vi.getTimerCount()).toBe(3);
    await h.ctx.dispose();
    expect(vi.getTimerCount()).toBe(0);
  });
});
