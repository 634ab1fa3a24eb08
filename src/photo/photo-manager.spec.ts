import { Logger } from '@nestjs/common';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { AppConnections } from '../app-connections/app-connections.js';
import type { AppConfig } from '../config/config.types.js';
import { DeviceManager } from '../device/device-manager.js';
import { SessionContext } from '../session-core/session-context.js';
import { PhotoManager } from './photo-manager.js';
import { appRecord } from '../../test/support/app-record.js';
import { useFakeClock } from '../../test/support/fake-clock.js';
import { viaBoundary, viaGlassesBoundary } from '../../test/support/boundary.js';
import { FakeSocket } from '../../test/support/fake-socket.js';

const PKG = 'com.example.camera';
const TIMEOUT_MS = 30_000;

function harness() {
  const ctx = new SessionContext({ userId: 'user@example.com' });
  const glasses = new FakeSocket();
  ctx.attachGlasses(glasses.ws, false);
  const connections = new AppConnections(ctx);
  const device = new DeviceManager(ctx, connections);
  const photos = new PhotoManager(ctx, connections, device, { photoTimeoutMs: TIMEOUT_MS } as AppConfig);
  /** The photo_error reports the cloud POSTs to the SDK's /photo-upload. */
  const reports: Array<{ url: string; body: Record<string, unknown> }> = [];
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (url, init) => {
    reports.push({ url: String(url), body: JSON.parse(String(init?.body)) });
    return new Response('');
  });
  const app = (pkg = PKG, permissions = [{ type: 'CAMERA' as const }]) => {
    const rt = connections.create(appRecord(pkg, { permissions, publicUrl: 'http://camera.invalid/' }));
    rt.state = 'running';
    const socket = new FakeSocket();
    rt.ws = socket.ws;
    return socket;
  };
  const request = (pkg: string, fields: Record<string, unknown>) =>
    viaBoundary('photo_request', { ...fields }, (m) => photos.request(pkg, m));
  return { ctx, glasses, photos, reports, app, request, connections };
}

describe('PhotoManager', () => {
  const clock = useFakeClock();
  beforeEach(() => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  it('asks the glasses for the photo with the SDK upload URL and keeps the request pending', () => {
    const h = harness();
    h.app();
    expect(h.request(PKG, { requestId: 'r1', size: 'large' })).toEqual({ ok: true });
    const [sent] = h.glasses.ofType('photo_request');
    expect(sent).toMatchObject({
      requestId: 'r1',
      appId: PKG,
      webhookUrl: 'http://camera.invalid/photo-upload',
      size: 'large',
      compress: 'none',
    });
    expect(h.photos.pendingCount).toBe(1);
  });

  it('reports PHONE_TIMEOUT to the SDK when no photo arrives within the timeout, and not a moment before', async () => {
    const h = harness();
    h.app();
    h.request(PKG, { requestId: 'r1' });
    clock.advance(TIMEOUT_MS - 1);
    expect(h.reports).toEqual([]);
    expect(h.photos.pendingCount).toBe(1);
    await clock.advanceAsync(1);
    expect(h.photos.pendingCount).toBe(0);
    expect(h.reports).toEqual([
      {
        url: 'http://camera.invalid/photo-upload',
        body: expect.objectContaining({ requestId: 'r1', type: 'photo_error', errorCode: 'PHONE_TIMEOUT' }),
      },
    ]);
  });

  it("relays the glasses' answer to the app and cancels the timeout", async () => {
    const h = harness();
    const app = h.app();
    h.request(PKG, { requestId: 'r1' });
    viaGlassesBoundary({ type: 'photo_response', requestId: 'r1', success: true }, (m) => h.photos.handleResponse(m));
    expect(app.ofType('photo_response')).toEqual([expect.objectContaining({ requestId: 'r1', success: true })]);
    await clock.advanceAsync(TIMEOUT_MS * 2);
    expect(h.reports).toEqual([]);
    expect(clock.pending()).toBe(0);
  });

  it("passes the glasses' failure to the SDK at once with the glasses' own code", () => {
    const h = harness();
    h.app();
    h.request(PKG, { requestId: 'r1' });
    viaGlassesBoundary(
      {
        type: 'photo_response',
        requestId: 'r1',
        success: false,
        error: { code: 'CAMERA_BUSY', message: 'busy' },
      },
      (m) => h.photos.handleResponse(m),
    );
    expect(h.reports.map((r) => r.body.errorCode)).toEqual(['CAMERA_BUSY']);
  });

  it('refuses without the CAMERA permission and tells the SDK so', () => {
    const h = harness();
    h.app(PKG, []);
    expect(h.request(PKG, { requestId: 'r1' })).toMatchObject({ ok: false, code: 'PERMISSION_DENIED' });
    expect(h.glasses.ofType('photo_request')).toEqual([]);
    expect(h.reports.map((r) => r.body.errorCode)).toEqual(['PERMISSION_DENIED']);
  });

  it('refuses while the glasses are not connected', () => {
    const h = harness();
    h.app();
    h.glasses.drop();
    expect(h.request(PKG, { requestId: 'r1' })).toMatchObject({ ok: false, code: 'GLASSES_NOT_CONNECTED' });
    expect(h.photos.pendingCount).toBe(0);
  });

  it('keeps a requestId pending for one app from being taken by another app', () => {
    const h = harness();
    const owner = h.app();
    const other = h.app('com.example.other');
    h.request(PKG, { requestId: 'shared' });
    expect(h.request('com.example.other', { requestId: 'shared' })).toMatchObject({ ok: false, code: 'CONFLICT' });
    viaGlassesBoundary({ type: 'photo_response', requestId: 'shared', success: true }, (m) =>
      h.photos.handleResponse(m),
    );
    expect(owner.ofType('photo_response')).toHaveLength(1);
    expect(other.ofType('photo_response')).toEqual([]);
  });

  it("forgets an app's pending photos (and their timers) when the app stops", () => {
    const h = harness();
    h.app();
    h.request(PKG, { requestId: 'r1' });
    h.ctx.emit('appStopped', { packageName: PKG, reason: 'user_disabled' });
    expect(h.photos.pendingCount).toBe(0);
    expect(clock.pending()).toBe(0);
  });

  it('clears every pending photo timer when the session is disposed', async () => {
    const h = harness();
    h.app();
    h.request(PKG, { requestId: 'r1' });
    h.request(PKG, { requestId: 'r2' });
    await h.ctx.dispose();
    expect(h.photos.pendingCount).toBe(0);
    expect(clock.pending()).toBe(0);
  });

  it('rejects a request without a string requestId as malformed', () => {
    const h = harness();
    h.app();
    expect(h.request(PKG, { requestId: 7 })).toMatchObject({ ok: false, code: 'MALFORMED_MESSAGE' });
  });
});
