import { Inject, Injectable, Scope } from '@nestjs/common';
import { AppConnections } from '../app-connections/app-connections.js';
import { appSessionId } from '../common/app-session-id.js';
import type { AppToCloudMessage } from '../protocol/app.types.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { SessionContext, type SessionEvents } from '../session-core/session-context.js';
import { IngestKeyRegistry } from './managed/ingest-keys.js';
import {
  NginxRtmpProvider,
  type Ingest,
  type ManagedStreamProvider,
  type OutputView,
} from './managed/managed-provider.js';
import { VideoManager } from './video-manager.js';
import type { Result } from '../common/result.js';

type ManagedStatus = 'initializing' | 'preparing' | 'active' | 'stopping' | 'stopped' | 'error';
export type ManagedResult = Result;

interface ManagedStream {
  ingest: Ingest;
  streamId: string;
  viewers: Set<string>;
  status: ManagedStatus;
  outputs: OutputView[];
  createdAt: number;
}

/**
 * Managed streaming: the cloud provisions an ingest, has the glasses publish to it, and
 * tells apps `managed_stream_status`; the stream turns `active` (with HLS and DASH URLs, the SDK's
 * condition) only when the ingest confirms the publisher. Several apps share one stream; it stops when
 * the last lets go.
 */
@Injectable({ scope: Scope.REQUEST })
export class ManagedStreamingManager {
  private stream: ManagedStream | null = null;
  private readonly provider: ManagedStreamProvider | null;

  constructor(
    private readonly ctx: SessionContext,
    private readonly connections: AppConnections,
    private readonly video: VideoManager,
    private readonly keys: IngestKeyRegistry,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.provider = config.streaming.managed ? new NginxRtmpProvider(config.streaming.managed) : null;
    ctx.on('appStopped', this.onAppStopped, this);
    ctx.defer(this.dispose, this);
  }

  private onAppStopped({ packageName }: SessionEvents['appStopped']): void {
    if (this.stream?.viewers.has(packageName)) this.release(packageName, false);
  }

  private dispose(): void {
    if (this.stream) this.keys.remove(this.stream.ingest.key);
    this.stream = null;
  }

  request(packageName: string, msg: AppToCloudMessage<'managed_stream_request'>): ManagedResult {
    if (!this.provider)
      return {
        ok: false,
        code: 'UNSUPPORTED',
        message:
          'Managed streaming is not configured on this cloud (MANAGED_RTMP_INGEST_URL, MANAGED_HLS_BASE_URL, MANAGED_DASH_BASE_URL)',
      };
    const refused = this.video.precheck(packageName);
    if (refused && !refused.ok) return { ok: false, code: refused.code, message: refused.message };
    if (this.stream) {
      this.stream.viewers.add(packageName);
      this.sendStatus(packageName, this.stream.status);
      return { ok: true };
    }
    const destinations = msg.restreamDestinations ?? [];
    const ingest = this.provider.provision(this.ctx.userId);
    const streamId = this.video.startGlassesStream(packageName, ingest.rtmpUrl, msg, (status) =>
      this.onGlassesStatus(streamId, status),
    );
    const stream: ManagedStream = {
      ingest,
      streamId,
      viewers: new Set([packageName]),
      status: 'initializing',
      outputs: this.provider.outputs(destinations),
      createdAt: Date.now(),
    };
    this.stream = stream;
    this.keys.add(ingest.key, {
      userId: this.ctx.userId,
      playbackName: ingest.playbackName,
      onPublish: () => this.onPublish(stream),
      onPublishDone: () => this.onPublishDone(stream),
    });
    this.broadcast('initializing');
    return { ok: true };
  }

  stopRequest(packageName: string): ManagedResult {
    if (!this.stream?.viewers.has(packageName))
      return { ok: false, code: 'APP_NOT_RUNNING', message: 'This app has no managed stream' };
    this.release(packageName, true);
    return { ok: true };
  }

  private release(packageName: string, tell: boolean): void {
    const s = this.stream;
    if (!s) return;
    s.viewers.delete(packageName);
    if (tell) this.sendStatus(packageName, 'stopped');
    if (s.viewers.size === 0) this.end(s, 'stopped', undefined, false);
  }

  private onPublish(s: ManagedStream): void {
    if (this.stream !== s) return;
    this.broadcast('active');
  }

  private onPublishDone(s: ManagedStream): void {
    if (this.stream !== s) return;
    this.end(s, 'stopped', 'The stream ended', true);
  }

  private onGlassesStatus(
    streamId: string,
    status: 'initializing' | 'active' | 'stopping' | 'stopped' | 'timeout',
  ): void {
    const s = this.stream;
    if (!s || s.streamId !== streamId) return;
    if (status === 'stopped' || status === 'timeout') {
      this.stream = null;
      this.keys.remove(s.ingest.key);
      this.broadcastTo(
        s,
        status === 'timeout' ? 'error' : 'stopped',
        status === 'timeout' ? 'The glasses stopped answering keep-alives' : undefined,
      );
    } else if (status === 'stopping' && s.status !== 'stopping') {
      this.broadcast('stopping');
    }
  }

  private end(s: ManagedStream, status: ManagedStatus, message: string | undefined, glassesToo: boolean): void {
    this.stream = null;
    this.keys.remove(s.ingest.key);
    if (this.video.current?.streamId === s.streamId) this.video.stopCurrent('stopped');
    if (glassesToo || s.viewers.size > 0) this.broadcastTo(s, status, message);
  }

  private broadcast(status: ManagedStatus, message?: string): void {
    if (this.stream) this.broadcastTo(this.stream, status, message);
  }

  private broadcastTo(s: ManagedStream, status: ManagedStatus, message?: string): void {
    s.status = status;
    for (const pkg of s.viewers) this.sendStatus(pkg, status, message, s);
  }

  private sendStatus(
    packageName: string,
    status: ManagedStatus,
    message?: string,
    s: ManagedStream | null = this.stream,
  ): void {
    this.connections.sendJson(packageName, {
      type: 'managed_stream_status',
      sessionId: appSessionId(this.ctx.userId, packageName),
      status,
      ...(s ? { streamId: s.streamId } : {}),
      ...(s && status === 'active' ? { hlsUrl: s.ingest.hlsUrl, dashUrl: s.ingest.dashUrl } : {}),
      ...(s && s.outputs.length > 0 ? { outputs: s.outputs } : {}),
      ...(message ? { message } : {}),
      timestamp: new Date().toISOString(),
    });
  }

  statusInfo(): { streamInfo: Record<string, unknown> } | null {
    const s = this.stream;
    if (!s) return null;
    return {
      streamInfo: {
        type: 'managed',
        streamId: s.streamId,
        status: s.status,
        createdAt: new Date(s.createdAt).toISOString(),
        hlsUrl: s.ingest.hlsUrl,
        dashUrl: s.ingest.dashUrl,
      },
    };
  }
}
