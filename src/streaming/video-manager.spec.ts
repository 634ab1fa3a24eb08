import { Logger } from '@nestjs/common';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { AppConnections } from '../app-connections/app-connections.js';
import type { AppConfig } from '../config/config.types.js';
import { DeviceManager } from '../device/device-manager.js';
import type { AppPermission } from '../persistence/persistence.types.js';
import { EventRelay } from '../relay/event-relay.js';
import { SessionContext } from '../session-core/session-context.js';
import { SubscriptionManager } from '../subscriptions/subscription-manager.js';
import { VideoManager } from './video-manager.js';
import { appRecord } from '../../test/support/app-record.js';
import { useFakeClock } from '../../test/support/fake-clock.js';
import { viaBoundary, viaGlassesBoundary } from '../../test/support/boundary.js';
import { FakeSocket } from '../../test/support/fake-socket.js';

const PKG = 'com.example.streamer';
const URL = 'rtmp://ingest.invalid/live/key';
const STREAMING = { keepAliveMs: 15_000, ackTimeoutMs: 5_000, maxMissedAcks: 3 };

function harness() {
  const ctx = new SessionContext({ userId: 'user@example.com' });
  const glasses = new FakeSocket();
  ctx.attachGlasses(glasses.ws, false);
  const config = { streaming: STREAMING, emptySubscriptionGraceMs: 0, maxLanguageStreamsPerSession: 4 } as AppConfig;
  const connections = new AppConnections(ctx);
  const subscriptions = new SubscriptionManager(ctx, config);
  const device = new DeviceManager(ctx, connections);
  const relay = new EventRelay(ctx, subscriptions, connections);
  const video = new VideoManager(ctx, connections, device, relay, config);
  const app = (pkg = PKG, permissions: AppPermission[] = [{ type: 'CAMERA' }]) => {
    const rt = connections.create(appRecord(pkg, { permissions }));
    rt.state = 'running';
    const socket = new FakeSocket();
    rt.ws = socket.ws;
    return socket;
  };
  const start = (pkg = PKG) => {
    const r = viaBoundary('rtmp_stream_request', { rtmpUrl: URL }, (m) => video.request(pkg, m));
    if (!r.ok) throw new Error(r.message);
    return r.streamId;
  };
  const status = (streamId: string, s: string) =>
    viaGlassesBoundary({ type: 'rtmp_stream_status', streamId, status: s }, (m) => video.handleStatus(m));
  const pings = () => glasses.ofType('keep_rtmp_stream_alive');
  const statuses = (socket: FakeSocket) => socket.ofType('rtmp_stream_status').map((m) => m.status);
  return { ctx, glasses, video, app, start, status, pings, statuses };
}

describe('VideoManager', () => {
  const clock = useFakeClock();
  beforeEach(() => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  it('asks the glasses to start the stream and tells the owner it is initializing', () => {
    const h = harness();
    const owner = h.app();
    const streamId = h.start();
    expect(h.glasses.ofType('start_rtmp_stream')).toEqual([expect.objectContaining({ rtmpUrl: URL, streamId })]);
    expect(h.statuses(owner)).toEqual(['initializing']);
  });

  it('sends a keep-alive every period once the stream is active, and none before', () => {
    const h = harness();
    h.app();
    const id = h.start();
    h.status(id, 'initializing');
    clock.advance(STREAMING.keepAliveMs * 2);
    expect(h.pings()).toEqual([]);
    h.status(id, 'streaming');
    clock.advance(STREAMING.keepAliveMs - 1);
    expect(h.pings()).toEqual([]);
    clock.advance(1);
    expect(h.pings()).toEqual([expect.objectContaining({ streamId: id, ackId: expect.any(String) })]);
  });

  it(`times the stream out after ${STREAMING.maxMissedAcks} unanswered keep-alives in a row`, () => {
    const h = harness();
    const owner = h.app();
    const id = h.start();
    h.status(id, 'active');
    clock.advance(STREAMING.keepAliveMs * STREAMING.maxMissedAcks + STREAMING.ackTimeoutMs - 1);
    expect(h.video.current?.streamId).toBe(id);
    clock.advance(1);
    expect(h.video.current).toBeNull();
    expect(h.glasses.ofType('stop_rtmp_stream')).toEqual([expect.objectContaining({ streamId: id })]);
    expect(h.statuses(owner).at(-1)).toBe('timeout');
    expect(clock.pending()).toBe(0);
  });

  it('an answered keep-alive resets the count of misses', () => {
    const h = harness();
    h.app();
    const id = h.start();
    h.status(id, 'active');
    // Every other keep-alive goes unanswered: never two misses in a row, but many in total.
    for (let i = 0; i < 10; i++) {
      clock.advance(STREAMING.keepAliveMs);
      const ping = h.pings().at(-1)!;
      if (i % 2 === 1)
        viaGlassesBoundary({ type: 'keep_alive_ack', streamId: id, ackId: ping.ackId }, (m) =>
          h.video.handleKeepAliveAck(m),
        );
    }
    expect(h.video.current?.streamId).toBe(id);
  });

  it('only the app that started the stream may stop it', () => {
    const h = harness();
    h.app();
    h.app('com.example.other');
    h.start();
    expect(viaBoundary('rtmp_stream_stop', {}, (m) => h.video.stopRequest('com.example.other', m))).toMatchObject({
      ok: false,
      code: 'PERMISSION_DENIED',
    });
    expect(viaBoundary('rtmp_stream_stop', {}, (m) => h.video.stopRequest(PKG, m))).toMatchObject({ ok: true });
    expect(h.glasses.ofType('stop_rtmp_stream')).toHaveLength(1);
  });

  it('ends the stream (and its keep-alive) when its app stops, and at session end', async () => {
    const h = harness();
    h.app();
    const id = h.start();
    h.status(id, 'active');
    clock.advance(STREAMING.keepAliveMs); // one keep-alive waits for its ack
    h.ctx.emit('appStopped', { packageName: PKG, reason: 'user_disabled' });
    expect(h.video.current).toBeNull();
    expect(clock.pending()).toBe(0);
    const again = h.start();
    h.status(again, 'active');
    clock.advance(STREAMING.keepAliveMs);
    await h.ctx.dispose();
    expect(clock.pending()).toBe(0);
  });

  it('refuses without CAMERA, with no glasses, or with a URL that is not rtmp(s)', () => {
    const h = harness();
    h.app('com.example.nocam', []);
    h.app();
    const req = (pkg: string, rtmpUrl: unknown) =>
      viaBoundary('rtmp_stream_request', { rtmpUrl }, (m) => h.video.request(pkg, m));
    expect(req('com.example.nocam', URL)).toMatchObject({ ok: false, code: 'PERMISSION_DENIED' });
    expect(req(PKG, 'http://x.invalid')).toMatchObject({ ok: false, code: 'MALFORMED_MESSAGE' });
    h.glasses.drop();
    expect(req(PKG, URL)).toMatchObject({ ok: false, code: 'GLASSES_NOT_CONNECTED' });
  });

  it('a status for another stream id is ignored', () => {
    const h = harness();
    const owner = h.app();
    const id = h.start();
    h.status('someone-else', 'stopped');
    expect(h.video.current?.streamId).toBe(id);
    expect(h.statuses(owner)).toEqual(['initializing']);
  });
});
