import { Logger } from '@nestjs/common';
import type { GlassesInbound } from '../protocol/glasses-inbound.js';
import type { WebSocket } from 'ws';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AppConnections } from '../app-connections/app-connections.js';
import type { AppConfig } from '../config/config.types.js';
import { MicrophoneManager } from '../microphone/microphone-manager.js';
import type { AppPermission, AppRecord } from '../persistence/persistence.types.js';
import { SessionContext } from '../session-core/session-context.js';
import { SubscriptionManager } from '../subscriptions/subscription-manager.js';
import { AUDIO_PLAY_EXPIRY_MS, AudioManager } from './audio-manager.js';
import { appRecord as fixtureApp } from '../../test/support/app-record.js';
import { T0, useFakeClock } from '../../test/support/fake-clock.js';
import { viaBoundary } from '../../test/support/boundary.js';

const USER = 'user@example.com';
const MIC: AppPermission[] = [{ type: 'MICROPHONE' }];

type Sent = Record<string, any>;

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const appRecord = (packageName: string, permissions: AppPermission[]): AppRecord =>
  fixtureApp(packageName, { permissions });

interface FakeApp {
  json: Sent[];
  binary: Buffer[];
  ws: { readyState: number };
}

function harness(recentAudioSeconds = 10) {
  const ctx = new SessionContext({ userId: USER });
  let glassesSent: Sent[] = [];
  const glasses = { readyState: 1, send: (s: string) => glassesSent.push(JSON.parse(s)) };
  ctx.attachGlasses(glasses as unknown as WebSocket, false);
  const config = {
    systemDashboardPackage: 'system.dash',
    emptySubscriptionGraceMs: 0,
    recentAudioSeconds,
  } as AppConfig;
  const connections = new AppConnections(ctx);
  const subscriptions = new SubscriptionManager(ctx, config);
  const microphone = new MicrophoneManager(ctx, subscriptions);
  const audio = new AudioManager(ctx, subscriptions, connections, microphone, config);
  const h = {
    ctx,
    subscriptions,
    audio,
    app(pkg: string, permissions: AppPermission[] = MIC): FakeApp {
      const rt = connections.create(appRecord(pkg, permissions));
      rt.state = 'running';
      const ws = {
        readyState: 1,
        send: (data: string | Buffer, opts?: { binary?: boolean }) => {
          if (typeof data === 'string') out.json.push(JSON.parse(data));
          else {
            expect(opts).toEqual({ binary: true });
            out.binary.push(Buffer.from(data));
          }
        },
      };
      const out: FakeApp = { json: [], binary: [], ws };
      rt.ws = ws as unknown as WebSocket;
      subscriptions.registerApp(pkg, permissions);
      return out;
    },
    take(): Sent[] {
      const out = glassesSent;
      glassesSent = [];
      return out;
    },
    glassesAway() {
      glasses.readyState = 3;
    },
    play(pkg: string, requestId: string, extra: Record<string, unknown> = {}) {
      return viaBoundary(
        'audio_play_request',
        { packageName: pkg, requestId, audioUrl: 'https://example.com/a.mp3', ...extra },
        (m) => audio.play(pkg, m),
      );
    },
    respond(requestId: unknown, extra: Record<string, unknown> = {}) {
      audio.handlePlayResponse({
        type: 'audio_play_response',
        requestId,
        success: true,
        ...extra,
      } as GlassesInbound<'audio_play_response'>);
    },
  };
  return h;
}

describe('AudioManager', () => {
  beforeAll(() => Logger.overrideLogger(false));
  useFakeClock(T0);
  afterEach(() => vi.restoreAllMocks());

  describe('PCM alignment', () => {
    it('never loses or reorders bytes across many random splits with odd frames, and every chunk is whole samples (seeded)', () => {
      for (let seed = 1; seed <= 60; seed++) {
        const rand = rng(seed);
        const h = harness(0);
        const app = h.app('com.rec');
        h.subscriptions.update('com.rec', ['audio_chunk']);
        const sunk: Buffer[] = [];
        h.audio.addSink((pcm) => sunk.push(Buffer.from(pcm)));
        const frames = 50 + Math.floor(rand() * 150);
        const lengths = Array.from({ length: frames }, () => {
          const r = rand();
          return r < 0.1 ? 0 : r < 0.3 ? 1 : r < 0.4 ? 2 : Math.floor(rand() * 1_000);
        });
        // A byte stream where a lost, repeated or swapped byte changes the content (position-dependent values).
        const input = Buffer.alloc(lengths.reduce((a, b) => a + b, 0));
        for (let j = 0; j < input.length; j++) input[j] = (j * 31 + (j >> 8)) & 0xff;
        let off = 0;
        for (const len of lengths) {
          h.audio.handleAudio(Buffer.from(input.subarray(off, off + len)));
          off += len;
        }
        const expected = input.subarray(0, input.length - (input.length % 2));
        for (const chunks of [sunk, app.binary]) {
          expect(
            chunks.every((c) => c.length > 0 && c.length % 2 === 0),
            `seed ${seed}: whole samples`,
          ).toBe(true);
          expect(Buffer.concat(chunks).equals(expected), `seed ${seed}: same bytes in the same order`).toBe(true);
        }
        // The odd byte held back is the first byte of the next sample.
        if (input.length % 2 === 1) {
          h.audio.handleAudio(Buffer.from([0xab]));
          expect([...sunk.at(-1)!]).toEqual([input.at(-1)!, 0xab]);
        }
      }
    });

    it('an even frame after even frames is passed through as is', () => {
      const h = harness(0);
      const got: Buffer[] = [];
      h.audio.addSink((pcm) => got.push(pcm));
      const frame = Buffer.from([1, 2, 3, 4]);
      h.audio.handleAudio(frame);
      expect(got).toEqual([frame]);
      expect(h.audio.framesReceived).toBe(1);
      expect(h.audio.bytesReceived).toBe(4);
      expect(h.audio.lastAudioAt).toBe(T0);
    });

    it('a removed sink gets nothing more', () => {
      const h = harness(0);
      const got: Buffer[] = [];
      const off = h.audio.addSink((pcm) => got.push(pcm));
      h.audio.handleAudio(Buffer.from([1, 2]));
      off();
      h.audio.handleAudio(Buffer.from([3, 4]));
      expect(got).toHaveLength(1);
    });
  });

  describe('relay', () => {
    it('goes as binary frames to audio_chunk subscribers only', () => {
      const h = harness(0);
      const rec = h.app('com.rec');
      const captions = h.app('com.captions');
      const buttons = h.app('com.buttons');
      const wild = h.app('com.wild');
      const noPerm = h.app('com.noperm', []);
      h.subscriptions.update('com.rec', ['audio_chunk']);
      h.subscriptions.update('com.captions', ['transcription:en-US']);
      h.subscriptions.update('com.buttons', ['button_press']);
      h.subscriptions.update('com.wild', ['*']);
      h.subscriptions.update('com.noperm', ['audio_chunk']);
      const frame = Buffer.from([1, 2, 3, 4, 5, 6]);
      h.audio.handleAudio(frame);
      expect(rec.binary).toEqual([frame]);
      for (const other of [captions, buttons, wild, noPerm]) expect(other.binary).toEqual([]);
    });

    it('skips subscribers whose socket is not open', () => {
      const h = harness(0);
      const rec = h.app('com.rec');
      h.subscriptions.update('com.rec', ['audio_chunk']);
      h.audio.handleAudio(Buffer.from([1, 2]));
      rec.ws.readyState = 2;
      h.audio.handleAudio(Buffer.from([3, 4]));
      expect(rec.binary).toEqual([Buffer.from([1, 2])]);
    });
  });

  describe('recent audio', () => {
    it('keeps the last 10 s (320,000 bytes), in order', () => {
      const h = harness(10);
      const total = 400_000;
      const input = Buffer.alloc(total);
      for (let i = 0; i < total; i += 2) input.writeUInt16LE((i / 2) & 0xffff, i);
      for (let off = 0; off < total; off += 3_200) h.audio.handleAudio(input.subarray(off, off + 3_200));
      const recent = h.audio.recentAudio();
      expect(recent.length).toBe(320_000);
      expect(recent.equals(input.subarray(total - 320_000))).toBe(true);
    });

    it('holds whole samples in order when the frames are odd', () => {
      const h = harness(1);
      const input = Buffer.alloc(50_001);
      for (let i = 0; i < input.length; i++) input[i] = (i * 7) & 0xff;
      let off = 0;
      for (const len of [1, 333, 4_001, 2, 17, 9_999, 35_648]) {
        h.audio.handleAudio(input.subarray(off, off + len));
        off += len;
      }
      expect(off).toBe(50_001);
      const recent = h.audio.recentAudio();
      expect(recent.length).toBe(32_000);
      expect(recent.equals(input.subarray(50_000 - 32_000, 50_000))).toBe(true);
    });

    it('allocates nothing before the first frame, then exactly one 320,000-byte ring', () => {
      const frame = Buffer.from([1, 2, 3, 4]);
      const alloc = vi.spyOn(Buffer, 'allocUnsafeSlow');
      const h = harness(10);
      expect(h.audio.recentAudio().length).toBe(0);
      expect(alloc.mock.calls.filter(([size]) => size > 0)).toEqual([]);
      h.audio.handleAudio(frame);
      h.audio.handleAudio(frame);
      expect(alloc.mock.calls.filter(([size]) => size > 0).map(([size]) => size)).toEqual([320_000]);
      expect([...h.audio.recentAudio()]).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
    });

    it('allocates nothing and keeps nothing when recentAudioSeconds is 0', () => {
      const frame = Buffer.from([1, 2, 3, 4]);
      const alloc = vi.spyOn(Buffer, 'allocUnsafeSlow');
      const h = harness(0);
      for (let i = 0; i < 10; i++) h.audio.handleAudio(frame);
      expect(alloc.mock.calls.filter(([size]) => size > 0)).toEqual([]);
      expect(h.audio.recentAudio().length).toBe(0);
    });
  });

  describe('play requests', () => {
    it('are forwarded to the glasses with the app as packageName and appId', () => {
      const h = harness();
      h.app('com.a');
      expect(h.play('com.a', 'r1', { volume: 0.5, stopOtherAudio: false, trackId: 2 })).toEqual({ ok: true });
      expect(h.take()).toEqual([
        {
          type: 'audio_play_request',
          sessionId: USER,
          requestId: 'r1',
          packageName: 'com.a',
          appId: 'com.a',
          audioUrl: 'https://example.com/a.mp3',
          volume: 0.5,
          stopOtherAudio: false,
          trackId: 2,
          timestamp: new Date(T0).toISOString(),
        },
      ]);
      h.play('com.a', 'r2');
      expect(h.take()[0]).toMatchObject({ volume: 1, stopOtherAudio: true });
      expect(h.audio.pendingPlays).toBe(2);
    });

    it('the answer is routed back by requestId to the app that asked, once', () => {
      const h = harness();
      const a = h.app('com.a');
      const b = h.app('com.b');
      h.play('com.a', 'ra');
      h.play('com.b', 'rb');
      h.respond('rb', { duration: 2.5 });
      expect(b.json).toEqual([
        {
          type: 'audio_play_response',
          sessionId: `${USER}-com.b`,
          requestId: 'rb',
          success: true,
          duration: 2.5,
          timestamp: expect.any(String),
        },
      ]);
      expect(a.json).toEqual([]);
      expect(h.audio.pendingPlays).toBe(1);
      h.respond('ra', { success: false, error: 'decode failed' });
      expect(a.json).toEqual([
        expect.objectContaining({
          type: 'audio_play_response',
          sessionId: `${USER}-com.a`,
          requestId: 'ra',
          success: false,
          error: 'decode failed',
        }),
      ]);
      h.respond('ra');
      expect(a.json).toHaveLength(1);
      expect(h.audio.pendingPlays).toBe(0);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('an answer with an unknown requestId is dropped', () => {
      const h = harness();
      const a = h.app('com.a');
      h.play('com.a', 'ra');
      h.respond('nope');
      h.respond(undefined);
      h.respond(42);
      expect(a.json).toEqual([]);
      expect(h.audio.pendingPlays).toBe(1);
    });

    it('expire after 60 s: the mapping goes and a late answer is dropped', () => {
      const h = harness();
      const a = h.app('com.a');
      h.play('com.a', 'ra');
      vi.advanceTimersByTime(AUDIO_PLAY_EXPIRY_MS - 1);
      expect(h.audio.pendingPlays).toBe(1);
      vi.advanceTimersByTime(1);
      expect(h.audio.pendingPlays).toBe(0);
      expect(AUDIO_PLAY_EXPIRY_MS).toBe(60_000);
      expect(vi.getTimerCount()).toBe(0);
      h.respond('ra');
      expect(a.json).toEqual([]);
    });

    it('a repeated requestId replaces the earlier mapping and its expiry', () => {
      const h = harness();
      const a = h.app('com.a');
      h.play('com.a', 'ra');
      vi.advanceTimersByTime(30_000);
      h.play('com.a', 'ra');
      expect(h.audio.pendingPlays).toBe(1);
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(59_999);
      h.respond('ra');
      expect(a.json).toHaveLength(1);
    });

    it('an app that stops loses its mappings (others keep theirs)', () => {
      const h = harness();
      const a = h.app('com.a');
      const b = h.app('com.b');
      h.play('com.a', 'ra1');
      h.play('com.a', 'ra2');
      h.play('com.b', 'rb');
      h.ctx.emit('appStopped', { packageName: 'com.a', reason: 'user_disabled' });
      expect(h.audio.pendingPlays).toBe(1);
      vi.advanceTimersByTime(200); // the microphone's subscription debounce (the stop changed subscriptions)
      expect(vi.getTimerCount()).toBe(1);
      h.respond('ra1');
      expect(a.json).toEqual([]);
      h.respond('rb');
      expect(b.json).toHaveLength(1);
    });

    it('with the glasses away: an immediate audio_play_response {success:false} to the app, GLASSES_NOT_CONNECTED, nothing pending', () => {
      const h = harness();
      const a = h.app('com.a');
      h.glassesAway();
      expect(h.play('com.a', 'ra')).toMatchObject({ ok: false, code: 'GLASSES_NOT_CONNECTED' });
      expect(a.json).toEqual([
        expect.objectContaining({
          type: 'audio_play_response',
          sessionId: `${USER}-com.a`,
          requestId: 'ra',
          success: false,
          error: expect.stringMatching(/GLASSES_NOT_CONNECTED/),
        }),
      ]);
      expect(h.audio.pendingPlays).toBe(0);
      expect(vi.getTimerCount()).toBe(0);
      expect(h.take()).toEqual([]);
    });

    it('need a requestId and an http(s) audioUrl', () => {
      const h = harness();
      h.app('com.a');
      expect(h.play('com.a', '')).toMatchObject({ ok: false, code: 'MALFORMED_MESSAGE' });
      expect(
        viaBoundary('audio_play_request', { audioUrl: 'https://x.invalid/a.mp3' }, (m) => h.audio.play('com.a', m)),
      ).toMatchObject({ ok: false, code: 'MALFORMED_MESSAGE' });
      expect(h.play('com.a', 'r1', { audioUrl: 'file:///etc/passwd' })).toMatchObject({
        ok: false,
        code: 'MALFORMED_MESSAGE',
      });
      expect(h.take()).toEqual([]);
      expect(h.audio.pendingPlays).toBe(0);
    });
  });

  describe('stop requests', () => {
    it('are forwarded with the app as appId (and the trackId when given)', () => {
      const h = harness();
      h.app('com.a');
      expect(viaBoundary('audio_stop_request', { packageName: 'com.a' }, (m) => h.audio.stop('com.a', m))).toEqual({
        ok: true,
      });
      viaBoundary('audio_stop_request', { trackId: 1 }, (m) => h.audio.stop('com.a', m));
      expect(h.take()).toEqual([
        { type: 'audio_stop_request', sessionId: USER, appId: 'com.a', timestamp: expect.any(String) },
        { type: 'audio_stop_request', sessionId: USER, appId: 'com.a', trackId: 1, timestamp: expect.any(String) },
      ]);
    });

    it('with the glasses away: GLASSES_NOT_CONNECTED', () => {
      const h = harness();
      h.glassesAway();
      expect(viaBoundary('audio_stop_request', {}, (m) => h.audio.stop('com.a', m))).toMatchObject({
        ok: false,
        code: 'GLASSES_NOT_CONNECTED',
      });
    });
  });

  it('dispose leaves no timers and forgets pending plays', async () => {
    const h = harness();
    h.app('com.a');
    h.subscriptions.update('com.a', ['audio_chunk']);
    h.audio.handleAudio(Buffer.from([1, 2]));
    h.play('com.a', 'r1');
    h.play('com.a', 'r2');
    expect(vi.getTimerCount()).toBeGreaterThanOrEqual(2);
    await h.ctx.dispose();
    expect(vi.getTimerCount()).toBe(0);
    expect(h.audio.pendingPlays).toBe(0);
    expect(h.audio.recentAudio().length).toBe(0);
  });
});
