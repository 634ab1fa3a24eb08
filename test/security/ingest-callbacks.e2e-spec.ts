import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppSession } from '@mentra/sdk';
import { connectGlasses, freePort, startCloud, type TestCloud } from '../support/cloud.js';
import { publishTestStream, startNginxRtmp, type NginxRtmp } from '../support/nginx-rtmp.js';
import { eventually, serveSdkApp } from '../support/sdk-app.js';

const USER = 'streamer@ingest.test';
const PKG = 'com.ingest.cam';

/**
 * Managed streaming through a real nginx-rtmp and ffmpeg: the playback URLs (and what nginx serves under them) never
 * carry the ingest key, and the publish callbacks answer only our nginx (the secret in its callback URLs): knowing a
 * stream's key or URLs is not enough to end it or to start one.
 */
describe('nginx-rtmp callbacks and playback names', () => {
  let cloud: TestCloud;
  let nginx: NginxRtmp;
  const secret = randomBytes(32).toString('hex');
  const cleanups: Array<() => unknown> = [];
  let session: AppSession | undefined;
  let key = '';
  let started: { hlsUrl: string; dashUrl: string };

  const callback = (path: string, name: string, query = '') =>
    fetch(`${cloud.url}/api/streaming/nginx/${path}${query}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ app: 'live', name, addr: '127.0.0.1', call: path.replace('on_', '') }).toString(),
    });
  const stream = async () => (await cloud.admin('GET', `/api/admin/sessions/${USER}`)).body.media.stream;

  beforeAll(async () => {
    const port = await freePort();
    nginx = await startNginxRtmp(`http://127.0.0.1:${port}`, secret);
    cloud = await startCloud({
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      MANAGED_RTMP_INGEST_URL: nginx.ingestUrl,
      MANAGED_HLS_BASE_URL: nginx.hlsBaseUrl,
      MANAGED_DASH_BASE_URL: nginx.dashBaseUrl,
      INGEST_CALLBACK_SECRET: secret,
    });
    const { app } = await serveSdkApp(cloud, { packageName: PKG, permissions: [{ type: 'CAMERA' }] }, [USER], (s) => {
      session = s;
    });
    cleanups.push(() => app.close());
    const { glasses } = await connectGlasses(cloud, USER, cleanups, { model: 'live', autoAnswer: { rtmp: false } });
    expect((await cloud.admin('POST', `/api/admin/sessions/${USER}/apps/${PKG}/start`)).status).toBe(201);
    await eventually(() => session, 5000, 'the SDK session');
    const starting = session!.camera.startManagedStream();
    const start = await glasses.waitFor('start_rtmp_stream', undefined, { since: 0 });
    key = start.rtmpUrl!.split('/').pop()!;
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    const ffmpeg = publishTestStream(start.rtmpUrl!, 20);
    cleanups.push(() => ffmpeg.kill('SIGKILL'));
    started = await starting;
  }, 40_000);
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    await cloud?.close();
    await nginx?.close();
  });

  it('the playback URLs, the playlist and every file nginx serves are named by the playback name, never the key', async () => {
    expect(started.hlsUrl).not.toContain(key);
    expect(started.dashUrl).not.toContain(key);
    expect(started.hlsUrl).toMatch(/\/s-[0-9a-f]{24}\.m3u8$/);
    const playlist = await eventually(
      async () => {
        const res = await fetch(started.hlsUrl);
        const text = res.ok ? await res.text() : '';
        return text.includes('.ts') ? text : null;
      },
      15_000,
      'an HLS playlist with segments',
    );
    expect(playlist).not.toContain(key);
    const files = [...(await readdir(join(nginx.workDir, 'hls'))), ...(await readdir(join(nginx.workDir, 'dash')))];
    expect(files.length).toBeGreaterThan(0);
    expect(files.filter((f) => f.includes(key))).toEqual([]);
  });

  it('on_publish_done without the secret, or with a wrong one, is refused (403) and the stream goes on', async () => {
    expect(await stream()).toMatchObject({ managed: true });
    for (const query of [
      '',
      '?secret=',
      `?secret=${'0'.repeat(64)}`,
      `?secret=${secret}x`,
      `?secret=${secret}&secret=${secret}`,
    ]) {
      const res = await callback('on_publish_done', key, query);
      expect(res.status, query).toBe(403);
      expect(((await res.json()) as any).code).toBe('PERMISSION_DENIED');
    }
    // The playback name is not a key either, whoever sends it.
    const name = started.hlsUrl.split('/').pop()!.replace('.m3u8', '');
    expect((await callback('on_publish_done', name, `?secret=${secret}`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(await stream()).toMatchObject({ managed: true });
  });

  it('on_publish without the secret is refused before the key is looked at', async () => {
    const res = await callback('on_publish', key);
    expect(res.status).toBe(403);
    expect(((await res.json()) as any).message).toMatch(/Only the configured ingest/);
    expect(res.headers.get('location')).toBeNull();
  });

  it("nginx's own on_publish_done (with the secret) ends the stream: the callbacks work for our ingest", async () => {
    const res = await callback('on_publish_done', key, `?secret=${secret}`);
    expect(res.status).toBe(200);
    await eventually(async () => (await stream()) === null, 5000, 'the stream ended');
  });
});
