import { Injectable, Optional, Scope } from '@nestjs/common';
import type { WebSocket } from 'ws';
import { appSessionId } from '../common/app-session-id.js';
import type { ErrorCode } from '../common/cloud-error.js';
import { MetricsService } from '../observability/metrics.service.js';
import type { AppRecord } from '../persistence/persistence.types.js';
import type { CloudToAppMessage } from '../protocol/app.types.js';
import { SessionContext } from '../session-core/session-context.js';
import { batchWrites } from '../common/write-batching.js';

export type AppState = 'loading' | 'running' | 'grace' | 'dormant' | 'stopping';
export type StartStage =
  'LOOKUP' | 'HARDWARE_CHECK' | 'LIMIT' | 'WEBHOOK' | 'INIT_REFUSED' | 'TIMEOUT' | 'CANCELLED' | 'SESSION_ENDED';

export type StartResult =
  | { ok: true; packageName: string; alreadyRunning?: boolean }
  | { ok: false; packageName: string; stage: StartStage; message: string };

export interface PendingStart {
  /** Settles after the failure bookkeeping; every concurrent start of the app awaits this one. */
  promise: Promise<StartResult>;
  settle(result: StartResult): void;
  abort: AbortController;
  /**
   * The app's init arrived: no further webhook attempt starts, but the one in flight is not aborted (it
   * ends at its own timeout at the latest), so its keep-alive connection serves the next webhook.
   */
  connected?: boolean;
  initTimer?: NodeJS.Timeout;
  /** Names this start in every log line about it (and the app socket's connect line). */
  id?: string;
  /** The request (HTTP request or glasses connection) the start was made under, for its log lines and webhook. */
  reqId?: string;
  /** Registered with PendingInits while the start waits for the app's init. */
  refuse?: (code: ErrorCode, message: string) => void;
  refusalTimer?: NodeJS.Timeout;
}

/** Runtime state of one app in one user's session. */
export interface AppRuntime {
  readonly packageName: string;
  readonly sessionId: string;
  /** `{"type":"data_stream","sessionId":"…","streamType":` built once, prepended on every relay. */
  readonly streamPrefix: string;
  app: AppRecord;
  state: AppState;
  ws: WebSocket | null;
  startedAt: number;
  connectedAt: number;
  start?: PendingStart;
  graceTimer?: NodeJS.Timeout;
  ownershipReleased: boolean;
  lastStart?: { at: string; ok: boolean; stage?: StartStage; message?: string };
}

const OPEN = 1;
const BINARY = { binary: true } as const;

/**
 * The session's table of apps and their sockets, written by AppManager, and the one way a session's code
 * sends to an app: streams, top-level messages and audio all go out here, and the send metrics are counted
 * here. Nothing is queued: a send to an app without an open socket answers false.
 */
@Injectable({ scope: Scope.REQUEST })
export class AppConnections {
  private readonly apps = new Map<string, AppRuntime>();

  constructor(
    private readonly ctx: SessionContext,
    @Optional() private readonly metrics?: MetricsService,
  ) {
    ctx.defer(this.dispose, this);
  }

  private dispose(): void {
    this.apps.clear();
  }

  create(app: AppRecord): AppRuntime {
    const sessionId = appSessionId(this.ctx.userId, app.packageName);
    const rt: AppRuntime = {
      packageName: app.packageName,
      sessionId,
      streamPrefix: `{"type":"data_stream","sessionId":${JSON.stringify(sessionId)},"streamType":`,
      app,
      state: 'loading',
      ws: null,
      startedAt: Date.now(),
      connectedAt: 0,
      ownershipReleased: false,
    };
    this.apps.set(app.packageName, rt);
    return rt;
  }

  get(packageName: string): AppRuntime | undefined {
    return this.apps.get(packageName);
  }

  delete(packageName: string): void {
    this.apps.delete(packageName);
  }

  values(): IterableIterator<AppRuntime> {
    return this.apps.values();
  }

  isRunning(packageName: string): boolean {
    const rt = this.apps.get(packageName);
    return rt !== undefined && (rt.state === 'running' || rt.state === 'grace' || rt.state === 'dormant');
  }

  packagesIn(...states: AppState[]): string[] {
    const out: string[] = [];
    for (const rt of this.apps.values()) if (states.includes(rt.state)) out.push(rt.packageName);
    return out;
  }

  /**
   * A `data_stream`: the app's precomputed prefix + the stream type's JSON + a suffix shared by every app the
   * event goes to (`,"data":…,"timestamp":…}`), so nothing is serialized per app.
   */
  sendStream(packageName: string, streamTypeJson: string, suffix: string): boolean {
    const rt = this.apps.get(packageName);
    const ws = rt?.ws;
    if (!ws || ws.readyState !== OPEN) return false;
    const frame = rt.streamPrefix + streamTypeJson + suffix;
    ws.send(frame);
    this.metrics?.relayed(streamTypeJson, frame.length);
    return true;
  }

  /** Glasses audio to an `audio_chunk` subscriber, as the binary frame received (PCM s16le 16 kHz mono). */
  sendAudio(packageName: string, pcm: Buffer): boolean {
    const ws = this.apps.get(packageName)?.ws;
    if (!ws || ws.readyState !== OPEN) return false;
    ws.send(pcm, BINARY);
    return true;
  }

  /** A top-level message (not a data_stream) to one app. */
  sendJson(packageName: string, message: CloudToAppMessage): boolean {
    const ws = this.apps.get(packageName)?.ws;
    if (!ws || ws.readyState !== OPEN) return false;
    batchWrites(ws);
    ws.send(JSON.stringify(message));
    return true;
  }

  /** A top-level message to every app with an open socket, serialized once. */
  sendToAll(message: CloudToAppMessage): void {
    const text = JSON.stringify(message);
    for (const rt of this.apps.values())
      if (rt.ws && rt.ws.readyState === OPEN) {
        batchWrites(rt.ws);
        rt.ws.send(text);
      }
  }
}
