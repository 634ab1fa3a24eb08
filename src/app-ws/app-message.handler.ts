import { Inject, Injectable, Logger } from '@nestjs/common';
import type { WebSocket } from 'ws';
import { AppMessagingService } from '../app-messaging/app-messaging.service.js';
import type { AppRuntime } from '../app-connections/app-connections.js';
import { type ErrorCode } from '../common/cloud-error.js';
import { parseTypedMessage, type TypedMessage } from '../common/json.util.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import type { DisplayRequest } from '../display/display.types.js';
import { frameWithoutStream } from '../audio-stream/audio-output-manager.js';
import { AppRefusal, checkAppMessage, isAppInbound, unhandled } from '../protocol/app-inbound.js';
import type { AppToCloudMessage, CloudToAppMessage } from '../protocol/app.types.js';
import type { LazyManagers, LazyName } from '../session/lazy-managers.js';
import type { UserSession } from '../session/user-session.js';
import type { Result } from '../common/result.js';

const OPEN = 1;
const OK: Result = { ok: true };

/** An app socket after a successful init: which session and app it speaks for. Never taken from messages. */
export interface BoundApp {
  session: UserSession;
  rt: AppRuntime;
  packageName: string;
}

/** Routes messages of an initialized app socket. Errors answer the message and never close the socket. */
@Injectable()
export class AppMessageHandler {
  private readonly logger = new Logger('AppMessages');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly messaging: AppMessagingService,
  ) {}

  handle(bound: BoundApp, ws: WebSocket, raw: TypedMessage): void {
    if (!isAppInbound(raw))
      return this.error(ws, 'UNKNOWN_MESSAGE_TYPE', `Unsupported message type: ${raw.type.slice(0, 64)}`);
    if (raw.type === 'tpa_connection_init')
      return this.error(
        ws,
        'ALREADY_INITIALIZED',
        'This socket is already initialized; open a new socket for another session',
      );
    const msg = checkAppMessage(raw);
    if (msg instanceof AppRefusal) return this.error(ws, msg.code, msg.message);
    const { session, packageName } = bound;
    const type = msg.type;
    switch (type) {
      case 'subscription_update': {
        const result = session.subscriptions.update(packageName, msg.subscriptions);
        if (result.newlyRejected.length > 0) {
          this.send(ws, {
            type: 'permission_error',
            message: 'Some subscriptions were rejected due to missing permissions',
            details: result.newlyRejected,
            timestamp: new Date().toISOString(),
          });
        }
        if (result.newlyOverLimit.length > 0)
          this.error(
            ws,
            'LIMIT_EXCEEDED',
            `A session may use at most ${this.config.maxLanguageStreamsPerSession} transcription languages and translation pairs; not subscribed: ${result.newlyOverLimit.join(', ').slice(0, 300)}`,
          );
        if (result.applied) session.apps.notifyGlassesAppState();
        return;
      }
      case 'display_event': {
        session.display.handleDisplayRequest(this.toDisplayRequest(packageName, msg));
        // Kept as the current view and re-sent on reconnect; the app still learns the hop is down.
        if (!session.ctx.glassesOpen)
          this.error(
            ws,
            'GLASSES_NOT_CONNECTED',
            'The glasses are not connected (cloud → phone); the display is kept and shown when they reconnect',
          );
        return;
      }
      case 'dashboard_content_update':
        return this.result(ws, session.dashboard.contentUpdate(packageName, msg.content, msg.modes));
      case 'dashboard_mode_change':
        return this.result(ws, session.dashboard.modeChange(packageName, msg.mode));
      case 'dashboard_system_update':
        return this.result(ws, session.dashboard.systemUpdate(packageName, msg.section, msg.content));
      case 'audio_play_request':
        return this.result(ws, session.audio.play(packageName, msg));
      case 'audio_stop_request':
        return this.result(ws, session.audio.stop(packageName, msg));
      case 'audio_stream_start':
        return this.lazy(ws, session, 'audioOutput', type, (m) => m.start(packageName, msg));
      case 'audio_stream_end':
        return this.lazy(ws, session, 'audioOutput', type, (m) => m.end(packageName, msg));
      case 'ping':
        // SDK 3 apps ping every 15 s; only they get a pong (SDK 2.1.29 would log it as unknown).
        return this.send(ws, { type: 'pong', timestamp: new Date().toISOString() });
      case 'rgb_led_control':
        return this.lazy(ws, session, 'phone', type, (m) => m.led(packageName, msg));
      case 'request_wifi_setup':
        return this.lazy(ws, session, 'phone', type, (m) => m.wifiSetup(packageName, msg));
      case 'location_poll_request':
        return this.result(ws, session.location.poll(packageName, msg.accuracy, msg.correlationId));
      case 'photo_request':
        return this.lazy(ws, session, 'photo', type, (m) => m.request(packageName, msg));
      case 'rtmp_stream_request':
        return this.lazy(ws, session, 'video', type, (m) => m.request(packageName, msg));
      case 'rtmp_stream_stop':
        return this.lazy(ws, session, 'video', type, (m) => m.stopRequest(packageName, msg));
      case 'managed_stream_request':
        return this.lazy(ws, session, 'managedStreaming', type, (m) => m.request(packageName, msg));
      case 'managed_stream_stop':
        return this.lazy(ws, session, 'managedStreaming', type, (m) => m.stopRequest(packageName));
      case 'app_broadcast_message':
      case 'app_direct_message':
      case 'app_room_join':
      case 'app_room_leave':
        void this.messaging.handle(session, packageName, msg).then(
          (r) => this.result(ws, r),
          (err: unknown) => {
            this.logError(err, `${msg.type} from ${packageName}`);
            this.error(ws, 'INTERNAL_ERROR', `Failed to handle ${msg.type}`);
          },
        );
        return;
      case 'stream_status_check':
        // The managed streaming manager injects the video manager: once it is built, so is the video manager.
        return this.lazy(ws, session, 'managedStreaming', type, (managed) => {
          session.built('video')!.statusCheck(packageName, managed.statusInfo());
          return OK;
        });
      case 'ownership_release':
        session.apps.handleOwnershipRelease(packageName, ws);
        return;
      case 'tpa_connection_init':
        return; // answered above, before the check
      default:
        return unhandled(type);
    }
  }

  /** A binary frame of an initialized app: output audio (SDK 3), the only binary an app sends. */
  binary(bound: BoundApp, ws: WebSocket, data: Buffer): void {
    const { session, packageName } = bound;
    const output = session.built('audioOutput');
    if (output !== undefined) return this.result(ws, output.frame(packageName, data));
    // Behind an audio_stream_start whose build is pending: after it. Otherwise no stream exists to write to.
    if (session.building('audioOutput'))
      return this.lazy(ws, session, 'audioOutput', 'binary frame', (m) => m.frame(packageName, data));
    this.result(ws, frameWithoutStream(data));
  }

  private result(ws: WebSocket, r: Result): void {
    if (!r.ok) this.error(ws, r.code, r.message);
  }

  /**
   * A request for a manager built on first use: handled at once when it is built, else once its build is done.
   * Every message waiting for one build is handled in arrival order (they wait on one memoised promise, and
   * messages arriving later find the manager built).
   */
  private lazy<K extends LazyName>(
    ws: WebSocket,
    session: UserSession,
    name: K,
    what: string,
    call: (manager: LazyManagers[K]) => Result,
  ): void {
    const manager = session.built(name);
    if (manager !== undefined) return this.result(ws, call(manager));
    session
      .use(name)
      .then((m) => this.result(ws, call(m)))
      .catch((err: unknown) => {
        this.logError(err, what);
        this.error(ws, 'INTERNAL_ERROR', `Failed to handle ${what}`);
      });
  }

  private toDisplayRequest(packageName: string, msg: AppToCloudMessage<'display_event'>): DisplayRequest {
    return {
      type: 'display_event',
      packageName,
      view: msg.view ?? 'main',
      layout: msg.layout,
      ...(typeof msg.durationMs === 'number' ? { durationMs: msg.durationMs } : {}),
      ...(msg.forceDisplay === true ? { forceDisplay: true } : {}),
      timestamp: new Date().toISOString(),
    };
  }

  parse(ws: WebSocket, data: Buffer, isBinary: boolean): TypedMessage | null {
    if (isBinary) {
      this.error(ws, 'MALFORMED_MESSAGE', 'Binary frames are accepted on /app-ws only after init (output audio)');
      return null;
    }
    if (data.length > this.config.maxMessageBytes) {
      this.error(ws, 'MESSAGE_TOO_LARGE', `Messages are limited to ${this.config.maxMessageBytes} bytes`);
      return null;
    }
    const parsed = parseTypedMessage(data.toString('utf8'));
    if (!parsed.ok) {
      this.error(ws, 'MALFORMED_MESSAGE', parsed.reason);
      return null;
    }
    return parsed.msg;
  }

  send(ws: WebSocket, message: CloudToAppMessage): void {
    if (ws.readyState === OPEN) ws.send(JSON.stringify(message));
  }

  error(ws: WebSocket, code: ErrorCode, message: string): void {
    this.send(ws, { type: 'tpa_connection_error', code, message, timestamp: new Date().toISOString() });
  }

  logError(err: unknown, where: string): void {
    this.logger.error(`${where}: ${(err as Error)?.stack ?? String(err)}`);
  }
}
