import { Logger } from '@nestjs/common';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { AppConnections } from '../app-connections/app-connections.js';
import type { TypedMessage } from '../common/json.util.js';
import type { AppConfig } from '../config/config.types.js';
import { DeviceManager } from '../device/device-manager.js';
import { EventRelay } from '../relay/event-relay.js';
import { SessionContext } from '../session-core/session-context.js';
import { SubscriptionManager } from '../subscriptions/subscription-manager.js';
import { IngestKeyRegistry } from './managed/ingest-keys.js';
import { ManagedStreamingManager } from './managed-streaming-manager.js';
import { VideoManager } from './video-manager.js';
import { appRecord } from '../../test/support/app-record.js';
import { useFakeClock } from '../../test/support/fake-clock.js';
import { viaBoundary } from '../../test/support/boundary.js';
import { FakeSocket } from '../../test/support/fake-socket.js';

const A = 'com.example.a';
const B = 'com.example.b';
const STREAMING = { keepAliveMs: 15_000, ackTimeoutMs: 5_000, maxMissedAcks: 3 };
const MANAGED = {
  ingestUrl: 'rtmp://ingest.invalid/live',
  hlsBaseUrl: 'http://hls.invalid',
  dashBaseUrl: 'http://dash.invalid',
  callbackSecret: 'x'.repeat(32),
};

/** The managed manager over the real VideoManager and key registry; the ingest's callbacks are called by the spec. */
function harness(managed: typeof MANAGED | null = MANAGED) {
  const ctx = new SessionContext({ userId: 'user@example.com' });
  const glasses = new FakeSocket();
  ctx.attachGlasses(glasses.ws, false);
  const config = {
    streaming: { ...STREAMING, managed: managed ?? undefined },
    emptySubscriptionGraceMs: 0,
    maxLanguageStreamsPerSession: 4,
  } as AppConfig;
  const connections = new AppConnections(ctx);
  const subscriptions = new SubscriptionManager(ctx, config);
  const device = new DeviceManager(ctx, connections);
  const video = new VideoManager(ctx, connections, device, new EventRelay(ctx, subscriptions, connections), config);
  const keys = new IngestKeyRegistry();
  const managedStreams = new ManagedStreamingManager(ctx, connections, video, keys, config);
  const app = (pkg: string) => {
    const rt = connections.create(appRecord(pkg, { permissions: [{ type: 'CAMERA' }] }));
    rt.state = 'running';
    const socket = new FakeSocket();
    rt.ws = socket.ws;
    return socket;
  };
  const request = (pkg: string) => viaBoundary('managed_stream_request', {}, (m) => managedStreams.request(pkg, m));
  /** The ingest key the glasses were told to publish to. */
  const key = () => String(glasses.ofType('start_rtmp_stream').at(-1)!.rtmpUrl).split('/').at(-1)!;
  const statuses = (socket: FakeSocket) => socket.ofType('managed_stream_status').map((m) => m.status);
  return { ctx, glasses, video, keys, managedStreams, app, request, key, statuses };
}

describe('ManagedStreamingManager', () => {
  const clock = useFakeClock();
  beforeEach(() => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  it('is refused as UNSUPPORTED when no ingest is configured', () => {
    const h = harness(null);
    h.app(A);
    expect(h.request(A)).toMatchObject({ ok: false, code: 'UNSUPPORTED' });
  });

  it('turns active, with HLS and DASH URLs, only once the ingest confirms the publisher', async () => {
    const h = harness();
    const a = h.app(A);
    expect(h.request(A)).toEqual({ ok: true });
    h.video.handleStatus({ type: 'rtmp_stream_status', status: 'active' } as TypedMessage);
    expect(h.statuses(a)).toEqual(['initializing']);
    expect(await h.keys.publish(h.key())).not.toBeNull();
    const active = a.ofType('managed_stream_status').at(-1)!;
    expect(active).toMatchObject({ status: 'active', hlsUrl: expect.stringMatching(/^http:\/\/hls\.invalid\//) });
    expect(active.dashUrl).toMatch(/^http:\/\/dash\.invalid\//);
  });

  it('shares one stream between apps and stops the glasses only when the last one lets go', () => {
    const h = harness();
    const a = h.app(A);
    const b = h.app(B);
    h.request(A);
    h.request(B);
    expect(h.glasses.ofType('start_rtmp_stream')).toHaveLength(1);
    h.managedStreams.stopRequest(A);
    expect(h.glasses.ofType('stop_rtmp_stream')).toEqual([]);
    expect(h.statuses(a).at(-1)).toBe('stopped');
    h.managedStreams.stopRequest(B);
    expect(h.glasses.ofType('stop_rtmp_stream')).toHaveLength(1);
    expect(h.statuses(b).at(-1)).toBe('stopped');
    expect(h.keys.size).toBe(0);
  });

  it('reports an error to every viewer when the glasses stop answering keep-alives', () => {
    const h = harness();
    const a = h.app(A);
    const b = h.app(B);
    h.request(A);
    h.request(B);
    h.video.handleStatus({ type: 'rtmp_stream_status', status: 'active' } as TypedMessage);
    clock.advance(STREAMING.keepAliveMs * STREAMING.maxMissedAcks + STREAMING.ackTimeoutMs);
    expect(h.statuses(a).at(-1)).toBe('error');
    expect(h.statuses(b).at(-1)).toBe('error');
    expect(h.managedStreams.statusInfo()).toBeNull();
    expect(h.keys.size).toBe(0);
  });

  it('ends the stream for everyone when the ingest reports the publisher gone', async () => {
    const h = harness();
    const a = h.app(A);
    h.request(A);
    const key = h.key();
    await h.keys.publish(key);
    await h.keys.publishDone(key);
    expect(h.statuses(a).at(-1)).toBe('stopped');
    expect(h.glasses.ofType('stop_rtmp_stream')).toHaveLength(1);
  });

  it("lets go of a stopped app's share, and removes the ingest key at session end", async () => {
    const h = harness();
    h.app(A);
    h.app(B);
    h.request(A);
    h.request(B);
    h.ctx.emit('appStopped', { packageName: A, reason: 'user_disabled' });
    expect(h.managedStreams.stopRequest(A)).toMatchObject({ ok: false, code: 'APP_NOT_RUNNING' });
    expect(h.keys.size).toBe(1);
    await h.ctx.dispose();
    expect(h.keys.size).toBe(0);
  });
});
