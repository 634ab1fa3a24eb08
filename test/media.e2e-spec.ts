import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AppSession } from '@mentra/sdk';
import { SimulatedGlasses, TINY_JPEG } from '../src/simulator/index.js';
import { connectGlasses, freePort, startCloud, type TestCloud } from './support/cloud.js';
import { publishTestStream, startNginxRtmp, type NginxRtmp } from './support/nginx-rtmp.js';
import { startRawApp, type RawApp } from './support/raw-app.js';
import { eventually, serveSdkApp } from './support/sdk-app.js';

/** Photo, RTMP and managed streaming with real parts: the SDK, a real nginx-rtmp ingest, ffmpeg as the glasses' encoder. */
describe('media: photo, RTMP, managed streaming', () => {
  let cloud: TestCloud;
  let nginx: NginxRtmp;
  let n = 0;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];

  beforeAll(async () => {
    const port = await freePort();
    const callbackSecret = randomBytes(32).toString('hex');
    nginx = await startNginxRtmp(`http://127.0.0.1:${port}`, callbackSecret);
    cloud = await startCloud({
      PORT: String(port),
      INGEST_CALLBACK_SECRET: callbackSecret,
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      MANAGED_RTMP_INGEST_URL: nginx.ingestUrl,
      MANAGED_HLS_BASE_URL: nginx.hlsBaseUrl,
      MANAGED_DASH_BASE_URL: nginx.dashBaseUrl,
      STREAM_KEEPALIVE_MS: '300',
      STREAM_ACK_TIMEOUT_MS: '200',
      PHOTO_TIMEOUT_MS: '3000',
    });
  }, 30_000);
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await cloud?.close();
    await nginx?.close();
  });

  async function setup(
    opts: {
      model?: string;
      permissions?: string[];
      autoAnswer?: ConstructorParameters<typeof SimulatedGlasses>[0]['autoAnswer'];
    } = {},
  ) {
    const user = `media${++n}@example.com`;
    const pkg = `com.example.cam${n}`;
    let session: AppSession | undefined;
    const { app } = await serveSdkApp(
      cloud,
      { packageName: pkg, permissions: (opts.permissions ?? ['CAMERA']).map((type) => ({ type })) },
      [user],
      (s) => {
        session = s;
      },
    );
    cleanups.push(() => app.close());
    const { glasses } = await connectGlasses(cloud, user, cleanups, {
      model: opts.model ?? 'live',
      autoAnswer: opts.autoAnswer,
    });
    const r = await cloud.admin('POST', `/api/admin/sessions/${user}/apps/${pkg}/start`);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    await eventually(() => session, 3000, 'session');
    return { user, pkg, glasses, session: session! };
  }

  it('requestPhoto() resolves with the bytes the glasses uploaded to the app', async () => {
    const { glasses, session, pkg } = await setup();
    const photo = await session.camera.requestPhoto({ size: 'large' });
    expect(photo.buffer.equals(TINY_JPEG)).toBe(true);
    expect(photo.mimeType).toBe('image/jpeg');
    const req = glasses.received.find((m) => m.type === 'photo_request') as any;
    expect(req).toMatchObject({ appId: pkg, size: 'large', flash: true });
    expect(req.webhookUrl).toMatch(/\/photo-upload$/);
  });

  it('requestPhoto() rejects within a second when the glasses are gone, when the model has no camera, or without CAMERA', async () => {
    const gone = await setup();
    await gone.glasses.disconnect();
    let t0 = Date.now();
    await expect(gone.session.camera.requestPhoto()).rejects.toThrow(/PHONE_GLASSES_NOT_CONNECTED/);
    expect(Date.now() - t0).toBeLessThan(1000);

    const g1 = await setup({ model: 'g1' });
    t0 = Date.now();
    await expect(g1.session.camera.requestPhoto()).rejects.toThrow(/no camera/);
    expect(Date.now() - t0).toBeLessThan(1000);

    const noPerm = await setup({ permissions: ['MICROPHONE'] });
    t0 = Date.now();
    await expect(noPerm.session.camera.requestPhoto()).rejects.toThrow(/PERMISSION_DENIED/);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('a failure reported by the glasses reaches requestPhoto() at once', async () => {
    const { session } = await setup({ autoAnswer: { photos: false } });
    const t0 = Date.now();
    await expect(session.camera.requestPhoto()).rejects.toThrow(/CAMERA_BUSY/);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  describe('unmanaged RTMP', () => {
    let raw: RawApp;
    afterEach(async () => raw?.close());

    async function rawSetup(autoAnswer: Record<string, unknown> = {}) {
      const user = `rtmp${++n}@example.com`;
      const pkg = `com.example.rtmp${n}`;
      raw = await startRawApp(pkg, () => ({ subscriptions: [] }));
      raw.apiKey = await cloud.registerApp(
        { packageName: pkg, publicUrl: raw.url, permissions: [{ type: 'CAMERA' }] },
        [user],
      );
      const glasses = new SimulatedGlasses({
        cloudUrl: cloud.url,
        token: cloud.token(user),
        model: 'live',
        autoAnswer,
      });
      cleanups.push(() => glasses.disconnect().catch(() => undefined));
      await glasses.connect();
      await cloud.admin('POST', `/api/admin/sessions/${user}/apps/${pkg}/start`);
      return { user, pkg, glasses, socket: raw.sockets[0]!, sessionId: `${user}-${pkg}` };
    }

    it('checks the URL, starts the stream, normalises statuses, answers status checks, and only the owner stops it', async () => {
      const { pkg, glasses, socket, sessionId } = await rawSetup();
      socket.send({ type: 'rtmp_stream_request', packageName: pkg, sessionId, rtmpUrl: 'http://not-rtmp' });
      await socket.next((m) => m.type === 'tpa_connection_error' && m.code === 'MALFORMED_MESSAGE');
      socket.send({
        type: 'rtmp_stream_request',
        packageName: pkg,
        sessionId,
        rtmpUrl: 'rtmp://example.com/live/x',
        video: { width: 1280 },
      });
      const start = await glasses.waitFor('start_rtmp_stream', undefined, { since: 0 });
      expect(start).toMatchObject({ rtmpUrl: 'rtmp://example.com/live/x', appId: pkg });
      await socket.next((m) => m.type === 'rtmp_stream_status' && m.status === 'initializing');
      glasses.rtmpStatus(start.streamId!, 'streaming');
      await socket.next((m) => m.type === 'rtmp_stream_status' && m.status === 'active');
      // Keep-alives flow and are acknowledged (the simulator answers them).
      await glasses.waitFor('keep_rtmp_stream_alive', undefined, { since: 0, timeoutMs: 2000 });
      const from = socket.messages.length;
      socket.send({ type: 'stream_status_check', packageName: pkg, sessionId });
      const check = await socket.next((m) => m.type === 'stream_status_check_response', 2000, from);
      expect(check).toMatchObject({
        hasActiveStream: true,
        streamInfo: { type: 'unmanaged', streamId: start.streamId, status: 'active' },
      });
      expect(socket.messages.some((m) => m.type === 'stream_status')).toBe(false);
      socket.send({ type: 'rtmp_stream_stop', packageName: pkg, sessionId });
      await glasses.waitFor('stop_rtmp_stream', (m: any) => m.streamId === start.streamId, { since: 0 });
      await socket.next((m) => m.type === 'rtmp_stream_status' && m.status === 'stopped');
    });

    it('times out after three unanswered keep-alives', async () => {
      const { pkg, glasses, socket, sessionId } = await rawSetup({ keepAlive: false });
      socket.send({ type: 'rtmp_stream_request', packageName: pkg, sessionId, rtmpUrl: 'rtmp://example.com/live/y' });
      const start = await glasses.waitFor('start_rtmp_stream', undefined, { since: 0 });
      glasses.rtmpStatus(start.streamId!, 'active');
      const timeout = await socket.next((m) => m.type === 'rtmp_stream_status' && m.status === 'timeout', 4000);
      expect(timeout.streamId).toBe(start.streamId);
      expect(glasses.received.filter((m) => m.type === 'keep_rtmp_stream_alive').length).toBeGreaterThanOrEqual(3);
    });
  });

  it('startManagedStream() resolves with playable URLs once ffmpeg publishes to the real nginx-rtmp ingest; the HLS playlist is served', async () => {
    const { session, glasses } = await setup({ autoAnswer: { rtmp: false } });
    const started = session.camera.startManagedStream({
      restreamDestinations: [{ url: 'rtmp://youtube.example/live/abc', name: 'yt' }],
    } as any);
    const start = await glasses.waitFor('start_rtmp_stream', undefined, { since: 0 });
    expect(start.rtmpUrl).toMatch(new RegExp(`^${nginx.ingestUrl}/[0-9a-f]{32}$`));
    // A wrong key is refused by the ingest (the cloud says no in on_publish).
    const wrong = publishTestStream(`${nginx.ingestUrl}/${'0'.repeat(32)}`, 2);
    expect(await wrong.done).not.toBe(0);
    const ffmpeg = publishTestStream(start.rtmpUrl!, 8);
    cleanups.push(() => ffmpeg.kill('SIGKILL'));
    const result = await started;
    expect(result.hlsUrl).toMatch(/\.m3u8$/);
    expect(result.dashUrl).toMatch(/\.mpd$/);
    const playlist = await eventually(
      async () => {
        const res = await fetch(result.hlsUrl);
        return res.ok ? res.text() : null;
      },
      10_000,
      'HLS playlist',
    );
    expect(playlist).toContain('#EXTM3U');
    // The same key cannot be published twice.
    const again = publishTestStream(start.rtmpUrl!, 2);
    expect(await again.done).not.toBe(0);
    await session.camera.stopManagedStream();
    await glasses.waitFor('stop_rtmp_stream', undefined, { since: 0 });
  }, 40_000);
});
