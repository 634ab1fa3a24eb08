import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AppSession } from '@mentra/sdk';
import type { SimulatedGlasses } from '../src/simulator/index.js';
import { connectGlasses, startCloud, type TestCloud } from './support/cloud.js';
import { startRawApp, type RawApp } from './support/raw-app.js';
import { eventually, serveSdkApp } from './support/sdk-app.js';
import { startSdk3App, type Sdk3AppHandle } from './support/sdk3-process.js';

/**
 * SDK 3 apps (@mentra/sdk 3.0.0-hono.8) on the same cloud as SDK 2.1.29 apps: a real hono.8 app run by Bun
 * as a child process (test/support/sdk3-app.ts) beside a real 2.1.29 app, for simulated glasses.
 */

const TONE = fileURLToPath(new URL('./fixtures/tone-3s.mp3', import.meta.url));
const TONE_BYTES = readFileSync(TONE);

/** Reads a response body chunk by chunk; `onFirst` runs (and is awaited) when the first bytes arrive. */
async function readAll(res: Response, onFirst?: () => Promise<void>): Promise<{ bytes: Buffer; chunks: number }> {
  const reader = res.body!.getReader();
  const parts: Buffer[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (parts.length === 0) await onFirst?.();
    parts.push(Buffer.from(value));
  }
  return { bytes: Buffer.concat(parts), chunks: parts.length };
}

/** ffmpeg decodes the bytes: the duration it found, or an error. */
function decode(mp3: Buffer): { ok: boolean; seconds: number; stderr: string } {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-v', 'info', '-i', 'pipe:0', '-f', 'null', '-'], { input: mp3 });
  const stderr = r.stderr.toString();
  const times = [...stderr.matchAll(/time=(\d+):(\d+):(\d+\.\d+)/g)];
  const last = times.at(-1);
  const seconds = last ? Number(last[1]) * 3600 + Number(last[2]) * 60 + Number(last[3]) : 0;
  return { ok: r.status === 0, seconds, stderr };
}

describe('SDK 3 (3.0.0-hono.8 under Bun) and SDK 2.1.29 apps on one cloud', () => {
  let cloud: TestCloud;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  let n = 0;

  beforeAll(async () => {
    cloud = await startCloud({ AUDIO_STREAM_BUFFER_BYTES: '65536', AUDIO_STREAM_IDLE_MS: '1500' });
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await cloud.close();
  });

  async function start(userId: string, packageName: string): Promise<void> {
    const res = await cloud.admin(
      'POST',
      `/api/admin/sessions/${encodeURIComponent(userId)}/apps/${packageName}/start`,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }

  async function sdk3(userId: string, extra: Record<string, unknown> = {}): Promise<Sdk3AppHandle> {
    const app = await startSdk3App(
      cloud,
      { packageName: `com.example.sdk3.n${++n}`, appType: 'standard', ...extra },
      [userId],
      { PING_INTERVAL_MS: '200' },
    );
    cleanups.push(() => app.close());
    return app;
  }

  it('answers the 3.x app ping with pong, never sends an unasked pong to the 2.1.29 app, and shows both displays', async () => {
    const user = 'side-by-side@example.com';
    const { glasses } = await connectGlasses(cloud, user, cleanups);
    const app3 = await sdk3(user);
    const seen2 = { pongs: 0, errors: [] as string[], session: null as AppSession | null };
    const { app: app2 } = await serveSdkApp(
      cloud,
      { packageName: 'com.example.sdk2.side', appType: 'background' },
      [user],
      (s) => {
        seen2.session = s;
        (s as unknown as { ws: { on(e: string, fn: (d: Buffer, bin: boolean) => void): void } }).ws.on(
          'message',
          (d, bin) => {
            if (!bin && /"type":"pong"/.test(d.toString())) seen2.pongs++;
          },
        );
        s.events.onError((e) => seen2.errors.push(String((e as Error).message ?? e)));
        s.layouts.showTextWall('Hello from SDK 2.1.29');
      },
    );
    cleanups.push(() => app2.close());

    await start(user, app3.packageName);
    await glasses.waitForDisplay('Hello from SDK 3 under Bun', { since: 0 });
    await start(user, 'com.example.sdk2.side');
    await glasses.waitForDisplay('Hello from SDK 2.1.29', { since: 0 });

    // Pings every 200 ms (the SDK's 15 s, shortened): each gets a pong; none is refused as an unknown type.
    const state = await eventually(
      async () => {
        const s = await app3.state();
        return s.pongs >= 5 ? s : null;
      },
      10_000,
      'five pongs at the 3.x app',
    );
    expect(state.errors).toEqual([]);
    expect(cloud.registry.get(user)!.connections.get(app3.packageName)?.state).toBe('running');
    // Meanwhile the 2.1.29 app, which never pings, got no pong (it would log it as an unrecognized type).
    expect(seen2.pongs).toBe(0);
    expect(seen2.errors).toEqual([]);
    // A telemetry request is a message the 3.x app knows (it then uploads over https, which this test cloud is not).
    const asked = await cloud.admin('POST', `/api/admin/sessions/${user}/apps/${app3.packageName}/telemetry`, {
      windowMs: 60_000,
    });
    expect(asked.status, JSON.stringify(asked.body)).toBe(201);
    await new Promise((r) => setTimeout(r, 300));
    expect((await app3.state()).errors).toEqual([]);
  });

  it("relays the 3.x app's output audio stream to the phone as chunked MP3 while it is written", async () => {
    const user = 'stream@example.com';
    const { glasses } = await connectGlasses(cloud, user, cleanups, { autoAnswer: { audio: true } });
    const app3 = await sdk3(user);
    await start(user, app3.packageName);
    await glasses.waitForDisplay('Hello from SDK 3 under Bun', { since: 0 });

    const { streamId, streamUrl } = await app3.stream(TONE, { chunkBytes: 1024, intervalMs: 40 });
    expect(streamUrl).toMatch(new RegExp(`^${cloud.url}/api/audio-streams/[A-Za-z0-9_-]{32}$`));
    expect(streamUrl).not.toContain(streamId);
    // The app then plays it with an ordinary audio_play_request: the phone is told to fetch that URL.
    const play = await glasses.waitFor('audio_play_request', (m) => m.audioUrl === streamUrl, { since: 0 });
    expect(play.appId).toBe(app3.packageName);

    const res = await fetch(streamUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('audio/mpeg');
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    let finishedAtFirstByte: number | null = null;
    const { bytes, chunks } = await readAll(res, async () => {
      finishedAtFirstByte = (await app3.state()).streamsDone.length;
    });
    const finished = await eventually(async () =>
      (await app3.state()).streamsDone.find((s) => s.streamId === streamId),
    );
    // Served while written: the first bytes came while the app was still writing, and in several pieces.
    expect(finishedAtFirstByte).toBe(0);
    expect(chunks).toBeGreaterThan(1);
    expect(finished.bytes).toBe(TONE_BYTES.length);
    expect(bytes.equals(TONE_BYTES)).toBe(true);
    const decoded = decode(bytes);
    expect(decoded.ok, decoded.stderr).toBe(true);
    expect(decoded.seconds).toBeGreaterThan(2.9);

    // Ended: a late player still gets the whole (kept) stream for a while; then the URL is gone.
    const late = await fetch(streamUrl);
    expect((await readAll(late)).bytes.equals(TONE_BYTES)).toBe(true);
    await eventually(async () => (await fetch(streamUrl)).status === 404, 5000, 'the ended stream to expire');
    expect((await app3.state()).errors).toEqual([]);
  });

  it('passes sound:false on photo and RTMP requests to the glasses, and the glasses photo failure reaches requestPhoto', async () => {
    const user = 'camera3@example.com';
    const { glasses } = await connectGlasses(cloud, user, cleanups, { model: 'live', autoAnswer: { photos: false } });
    const app3 = await sdk3(user, { permissions: [{ type: 'CAMERA' }] });
    await start(user, app3.packageName);
    await glasses.waitForDisplay('Hello from SDK 3 under Bun', { since: 0 });

    const photo = app3.call<{ ok: boolean; error?: string }>('photo');
    const request = await glasses.waitFor('photo_request', undefined, { since: 0 });
    expect(request.sound).toBe(false);
    const outcome = await photo;
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatch(/CAMERA_BUSY/);

    await app3.call('rtmp', { rtmpUrl: 'rtmp://127.0.0.1:1/live/sdk3' });
    const rtmp = await glasses.waitFor('start_rtmp_stream', undefined, { since: 0 });
    expect(rtmp).toMatchObject({ rtmpUrl: 'rtmp://127.0.0.1:1/live/sdk3', sound: false });
  });

  describe('output audio streams at the protocol level', () => {
    let raw: RawApp;
    afterEach(async () => raw?.close());

    async function rawSetup(): Promise<{ user: string; pkg: string; glasses: SimulatedGlasses; sessionId: string }> {
      const user = `rawstream${++n}@example.com`;
      const pkg = `com.example.rawstream${n}`;
      raw = await startRawApp(pkg, () => ({ subscriptions: [] }));
      raw.apiKey = await cloud.registerApp({ packageName: pkg, publicUrl: raw.url }, [user]);
      const { glasses } = await connectGlasses(cloud, user, cleanups);
      await start(user, pkg);
      return { user, pkg, glasses, sessionId: `${user}-${pkg}` };
    }

    const ID = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
    const frame = (id: string, body: Buffer) => Buffer.concat([Buffer.from(id, 'latin1'), body]);

    it('refuses bad stream ids, unknown frames and duplicates with errors, and keeps the socket', async () => {
      const { pkg, sessionId } = await rawSetup();
      const socket = raw.sockets[0]!;
      const from = socket.messages.length;
      socket.send({ type: 'audio_stream_start', packageName: pkg, sessionId, streamId: 'short' });
      socket.send({ type: 'audio_stream_start', packageName: pkg, sessionId, streamId: ID, contentType: 'audio/ogg' });
      socket.ws.send(frame(ID, Buffer.from([1, 2, 3])));
      socket.send({ type: 'audio_stream_end', packageName: pkg, sessionId, streamId: ID });
      socket.send({ type: 'audio_stream_start', packageName: pkg, sessionId, streamId: ID });
      socket.send({ type: 'audio_stream_start', packageName: pkg, sessionId, streamId: ID });
      const seen = await eventually(() => {
        const m = socket.messages
          .slice(from)
          .filter((x) => x.type === 'tpa_connection_error' || x.type === 'audio_stream_ready');
        return m.length >= 6 ? m : null;
      });
      expect(seen.map((m) => m.code ?? m.type)).toEqual([
        'MALFORMED_MESSAGE',
        'UNSUPPORTED',
        'STREAM_NOT_FOUND',
        'STREAM_NOT_FOUND',
        'audio_stream_ready',
        'CONFLICT',
      ]);
      expect(seen[4]).toMatchObject({ streamId: ID, sessionId });
      expect(socket.closed).toBeNull();
      // A token nobody was given finds nothing.
      const guess = await fetch(`${cloud.url}/api/audio-streams/${'A'.repeat(32)}`);
      expect(guess.status).toBe(404);
      expect(await guess.json()).toMatchObject({ code: 'STREAM_NOT_FOUND' });
    });

    it('keeps only the newest AUDIO_STREAM_BUFFER_BYTES for a late player, and ends players when the app stops', async () => {
      const { user, pkg, sessionId } = await rawSetup();
      const socket = raw.sockets[0]!;
      socket.send({ type: 'audio_stream_start', packageName: pkg, sessionId, streamId: ID });
      const ready = await socket.next((m) => m.type === 'audio_stream_ready');
      // 200 KiB written before anyone listens, faster than the socket's message limit: a late player gets the
      // newest 64 KiB (whole chunks), not all.
      for (let i = 0; i < 200; i++) socket.ws.send(frame(ID, Buffer.alloc(1024, i)));
      await eventually(() => cloud.registry.get(user)!.built('audioOutput')!.describe()[0]?.bytesIn === 200 * 1024);
      const player = await fetch(ready.streamUrl);
      const reading = readAll(player);
      socket.ws.send(frame(ID, Buffer.alloc(1024, 200)));
      await eventually(() => cloud.registry.get(user)!.built('audioOutput')!.describe()[0]?.players === 1);
      await cloud.admin('POST', `/api/admin/sessions/${encodeURIComponent(user)}/apps/${pkg}/stop`);
      const { bytes } = await reading;
      expect(bytes.length).toBe(65 * 1024);
      expect(bytes[0]).toBe(136); // chunks 0..135 were dropped
      expect(bytes[bytes.length - 1]).toBe(200);
      expect((await fetch(ready.streamUrl)).status).toBe(404);
    });

    it('request_telemetry carries a one-time upload token; the logs the app uploads with it are kept for the operator', async () => {
      const { user, pkg } = await rawSetup();
      const socket = raw.sockets[0]!;
      const from = socket.messages.length;
      const asked = await cloud.admin('POST', `/api/admin/sessions/${user}/apps/${pkg}/telemetry`, { windowMs: 5000 });
      expect(asked.status, JSON.stringify(asked.body)).toBe(201);
      const req = await socket.next((m) => m.type === 'request_telemetry', 3000, from);
      expect(req).toMatchObject({ incidentId: asked.body.incidentId, windowMs: 5000, sessionId: `${user}-${pkg}` });
      expect(req.uploadToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      // What the SDK posts (AppSession.handleTelemetryRequest).
      const upload = (token: string, body: Record<string, unknown> = {}) =>
        fetch(`${cloud.url}/api/incidents/${req.incidentId}/logs`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            type: 'telemetry_response',
            incidentId: req.incidentId,
            packageName: pkg,
            logs: [{ timestamp: Date.now(), level: 'warn', message: 'disk almost full', source: 'app' }],
            metadata: { bufferSize: 1 },
            ...body,
          }),
        });
      expect((await upload('not-the-token')).status).toBe(401);
      expect((await upload(req.uploadToken, { packageName: 'com.example.other' })).status).toBe(403);
      expect((await upload(req.uploadToken, { logs: [{ level: 'loud' }] })).status).toBe(400);
      const ok = await upload(req.uploadToken);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ success: true, stored: 1 });
      expect((await upload(req.uploadToken)).status).toBe(401); // one upload per token
      const incident = await cloud.admin('GET', `/api/admin/incidents/${req.incidentId}`);
      expect(incident.body).toMatchObject({
        userId: user,
        packageName: pkg,
        metadata: { bufferSize: 1 },
        logs: [{ level: 'warn', message: 'disk almost full', source: 'app' }],
      });
      expect(incident.body.uploadedAt).not.toBeNull();
      // Only a running app can be asked.
      const other = await cloud.admin('POST', `/api/admin/sessions/${user}/apps/com.example.notthere/telemetry`, {});
      expect(other.status).toBe(409);
    });

    it('ends a stream that gets no frame for AUDIO_STREAM_IDLE_MS', async () => {
      const { user, pkg, sessionId } = await rawSetup();
      const socket = raw.sockets[0]!;
      socket.send({ type: 'audio_stream_start', packageName: pkg, sessionId, streamId: ID });
      const ready = await socket.next((m) => m.type === 'audio_stream_ready');
      socket.ws.send(frame(ID, Buffer.alloc(10, 7)));
      const { bytes } = await readAll(await fetch(ready.streamUrl));
      expect(bytes.equals(Buffer.alloc(10, 7))).toBe(true);
      expect(cloud.registry.get(user)!.built('audioOutput')!.count).toBe(0);
    });
  });
});
