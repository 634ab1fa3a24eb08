import { Inject, Injectable, Scope } from '@nestjs/common';
import { AppConnections } from '../app-connections/app-connections.js';
import { appSessionId } from '../common/app-session-id.js';
import type { AppToCloudMessage, CloudToApp, CloudToAppMessage, StreamOptions } from '../protocol/app.types.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { DeviceManager } from '../device/device-manager.js';
import { EventRelay } from '../relay/event-relay.js';
import { SessionContext, type SessionEvents } from '../session-core/session-context.js';
import { hasPermission, permissionSet } from '../subscriptions/stream-types.js';
import { newStreamId, normalizeStreamStatus, StreamKeepAlive } from './stream-keepalive.js';
import type { GlassesInbound } from '../protocol/glasses-inbound.js';
import type { Result } from '../common/result.js';

export type StreamRequestResult = Result<{ streamId: string }>;

export interface ActiveStream {
  streamId: string;
  packageName: string;
  rtmpUrl: string;
  status: ReturnType<typeof normalizeStreamStatus>;
  createdAt: number;
  keepAlive: StreamKeepAlive;
  /** Set for a managed stream: status changes go to its owner instead of rtmp_stream_status. */
  onStatus?: (status: ReturnType<typeof normalizeStreamStatus>) => void;
}

/**
 * Unmanaged RTMP streaming: one stream per user, started for an app with CAMERA, to
 * an rtmp(s) URL of its choosing; glasses statuses normalised and sent to the owner as
 * `rtmp_stream_status` (never the renamed `stream_status`, which SDK 2.1.29 rejects); keep-alive with ACK
 * deadline; only the owner may stop it. The managed streaming manager starts its glasses stream here too.
 */
@Injectable({ scope: Scope.REQUEST })
export class VideoManager {
  private stream: ActiveStream | null = null;

  constructor(
    private readonly ctx: SessionContext,
    private readonly connections: AppConnections,
    private readonly device: DeviceManager,
    private readonly relay: EventRelay,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    ctx.on('appStopped', this.onAppStopped, this);
    ctx.defer(this.dispose, this);
  }

  private onAppStopped({ packageName }: SessionEvents['appStopped']): void {
    if (this.stream?.packageName === packageName && !this.stream.onStatus) this.stopCurrent('stopped');
  }

  private dispose(): void {
    this.stream?.keepAlive.stop();
    this.stream = null;
  }

  get current(): ActiveStream | null {
    return this.stream;
  }

  /** Checks shared by unmanaged and managed requests. */
  precheck(packageName: string): StreamRequestResult | null {
    const rt = this.connections.get(packageName);
    if (!rt) return { ok: false, code: 'APP_NOT_RUNNING', message: 'The app is not running' };
    if (!hasPermission(permissionSet(rt.app.permissions), 'CAMERA'))
      return { ok: false, code: 'PERMISSION_DENIED', message: 'Streaming needs the CAMERA permission' };
    if (!this.ctx.glassesOpen)
      return { ok: false, code: 'GLASSES_NOT_CONNECTED', message: 'The glasses are not connected (cloud → phone)' };
    const caps = this.device.capabilities;
    if (caps && this.device.isKnownModel && !caps.camera?.video.canStream)
      return { ok: false, code: 'HARDWARE_INCOMPATIBLE', message: `${caps.modelName} cannot stream video` };
    if (caps?.hasWifi && this.device.snapshot().wifiConnected === false)
      return { ok: false, code: 'WIFI_NOT_CONNECTED', message: 'The glasses are not on Wi-Fi' };
    return null;
  }

  request(packageName: string, msg: AppToCloudMessage<'rtmp_stream_request'>): StreamRequestResult {
    const rtmpUrl = msg.rtmpUrl;
    const refused = this.precheck(packageName);
    if (refused) return refused;
    const streamId = this.startGlassesStream(packageName, rtmpUrl, msg);
    this.sendStatus(packageName, { streamId, status: 'initializing' });
    return { ok: true, streamId };
  }

  /** Stops whatever runs and starts a new glasses stream; returns its id. */
  startGlassesStream(
    packageName: string,
    rtmpUrl: string,
    msg: StreamOptions,
    onStatus?: ActiveStream['onStatus'],
  ): string {
    if (this.stream) this.stopCurrent('stopped');
    const streamId = newStreamId();
    const keepAlive = new StreamKeepAlive(
      streamId,
      this.config.streaming,
      (m) => this.ctx.sendToGlasses(m),
      () => this.onKeepAliveTimeout(streamId),
    );
    this.stream = {
      streamId,
      packageName,
      rtmpUrl,
      status: 'initializing',
      createdAt: Date.now(),
      keepAlive,
      onStatus,
    };
    this.ctx.sendToGlasses({
      type: 'start_rtmp_stream',
      rtmpUrl,
      appId: packageName,
      streamId,
      video: msg.video ?? {},
      audio: msg.audio ?? {},
      stream: msg.stream ?? {},
      flash: true,
      // SDK 3 apps may turn the start/stop sounds off; the glasses play them unless told otherwise.
      sound: msg.sound !== false,
      timestamp: new Date().toISOString(),
    });
    return streamId;
  }

  stopRequest(packageName: string, msg: AppToCloudMessage<'rtmp_stream_stop'>): StreamRequestResult {
    const s = this.stream;
    if (!s || s.onStatus) return { ok: false, code: 'APP_NOT_RUNNING', message: 'No RTMP stream is running' };
    if (s.packageName !== packageName)
      return { ok: false, code: 'PERMISSION_DENIED', message: 'Only the app that started the stream may stop it' };
    if (msg.streamId !== undefined && msg.streamId !== '' && msg.streamId !== s.streamId)
      return { ok: false, code: 'MALFORMED_MESSAGE', message: `Unknown streamId ${msg.streamId}` };
    this.stopCurrent('stopped');
    return { ok: true, streamId: s.streamId };
  }

  /** Ends the current stream: glasses told to stop, owner told the final status. */
  stopCurrent(status: 'stopped' | 'timeout'): void {
    const s = this.stream;
    if (!s) return;
    this.stream = null;
    s.keepAlive.stop();
    this.ctx.sendToGlasses({
      type: 'stop_rtmp_stream',
      sessionId: this.ctx.userId,
      appId: s.packageName,
      streamId: s.streamId,
      timestamp: new Date().toISOString(),
    });
    if (s.onStatus) s.onStatus(status);
    else this.sendStatus(s.packageName, { streamId: s.streamId, status });
  }

  private onKeepAliveTimeout(streamId: string): void {
    if (this.stream?.streamId !== streamId) return;
    this.ctx.logger.warn(
      `stream ${streamId}: ${this.config.streaming.maxMissedAcks} keep-alives unanswered, timing out`,
    );
    this.stopCurrent('timeout');
  }

  /** `rtmp_stream_status` (or the newer `stream_status`) from the glasses. */
  handleStatus(msg: GlassesInbound<'rtmp_stream_status' | 'stream_status'>): void {
    const s = this.stream;
    if (!s || (msg.streamId !== undefined && msg.streamId !== s.streamId)) return;
    const status = normalizeStreamStatus(msg.status);
    s.status = status;
    if (status === 'active') s.keepAlive.start();
    if (status === 'stopped' || status === 'timeout') {
      s.keepAlive.stop();
      this.stream = null;
    }
    if (s.onStatus) {
      s.onStatus(status);
      return;
    }
    this.sendStatus(s.packageName, {
      streamId: s.streamId,
      status,
      ...(msg.errorDetails !== undefined ? { errorDetails: msg.errorDetails } : {}),
      ...(msg.stats !== undefined ? { stats: msg.stats } : {}),
    });
  }

  handleKeepAliveAck(msg: GlassesInbound<'keep_alive_ack'>): void {
    if (this.stream && (msg.streamId === undefined || msg.streamId === this.stream.streamId))
      this.stream.keepAlive.ack(msg.ackId);
  }

  statusCheck(packageName: string, managed: { streamInfo: Record<string, unknown> } | null): void {
    const s = this.stream;
    const streamInfo =
      managed?.streamInfo ??
      (s && !s.onStatus
        ? {
            type: 'unmanaged',
            streamId: s.streamId,
            status: s.status,
            createdAt: new Date(s.createdAt).toISOString(),
            rtmpUrl: s.rtmpUrl,
            requestingAppId: s.packageName,
          }
        : null);
    this.connections.sendJson(packageName, {
      type: 'stream_status_check_response',
      hasActiveStream: streamInfo !== null,
      ...(streamInfo ? { streamInfo } : {}),
      timestamp: new Date().toISOString(),
    });
  }

  private sendStatus(packageName: string, body: Omit<CloudToApp['rtmp_stream_status'], 'sessionId' | 'appId'>): void {
    const message: CloudToAppMessage<'rtmp_stream_status'> = {
      type: 'rtmp_stream_status',
      sessionId: appSessionId(this.ctx.userId, packageName),
      appId: packageName,
      ...body,
      timestamp: new Date().toISOString(),
    };
    this.connections.sendJson(packageName, message);
    // Subscribers of `rtmp_stream_status` see it as data too (upstream relays it).
    this.relay.relay('rtmp_stream_status', JSON.stringify(message));
  }
}
