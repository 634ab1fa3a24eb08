import { Inject, Injectable, Logger } from '@nestjs/common';
import type { WebSocket } from 'ws';
import { errorMessage, type ErrorCode } from '../common/cloud-error.js';
import { isNonEmptyString, parseTypedMessage, type TypedMessage } from '../common/json.util.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import type { UserSession } from '../session/user-session.js';
import { CONTROL_GLASSES_TYPES, RELAYED_GLASSES_TYPES, type ConnectionErrorMessage } from './glasses.messages.js';

const OPEN = 1;

/**
 * Routes one glasses frame. A singleton: the session is passed in (resolved once per socket), so no
 * DI happens per message. Binary frames are audio; text frames are parsed once.
 */
@Injectable()
export class GlassesMessageHandler {
  private readonly logger = new Logger('GlassesMessages');

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  handle(session: UserSession, ws: WebSocket, data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      if (data.length > this.config.maxMessageBytes)
        return this.error(ws, 'MESSAGE_TOO_LARGE', `Audio frames are limited to ${this.config.maxMessageBytes} bytes`);
      session.audio.handleAudio(data);
      return;
    }
    if (data.length > this.config.maxMessageBytes)
      return this.error(ws, 'MESSAGE_TOO_LARGE', `Messages are limited to ${this.config.maxMessageBytes} bytes`);
    const text = data.toString('utf8');
    const parsed = parseTypedMessage(text);
    if (!parsed.ok) return this.error(ws, 'MALFORMED_MESSAGE', parsed.reason);
    const msg = parsed.msg;
    try {
      this.dispatch(session, ws, msg, text);
    } catch (err) {
      this.logger.error(`handling ${msg.type} for ${session.userId}: ${(err as Error).stack ?? String(err)}`);
      this.error(ws, 'INTERNAL_ERROR', `Failed to handle ${msg.type}`);
    }
  }

  private dispatch(session: UserSession, ws: WebSocket, msg: TypedMessage, text: string): void {
    const type = msg.type;
    if (RELAYED_GLASSES_TYPES.has(type)) {
      if (this.beforeRelay(session, msg)) session.relay.relay(type, text);
      return;
    }
    if (!CONTROL_GLASSES_TYPES.has(type))
      return this.error(ws, 'UNKNOWN_MESSAGE_TYPE', `Unknown message type: ${type.slice(0, 64)}`);
    switch (type) {
      case 'ping':
        if (ws.readyState === OPEN) ws.send('{"type":"pong"}');
        return;
      case 'pong':
        return;
      case 'connection_init':
        // The session already exists (created on open): answer as a reconnection, start nothing.
        if (ws.readyState === OPEN)
          ws.send(
            JSON.stringify({ type: 'connection_ack', sessionId: session.userId, timestamp: new Date().toISOString() }),
          );
        session.microphone.sync(true);
        return;
      case 'start_app':
      case 'stop_app': {
        const pkg = msg.packageName;
        if (!isNonEmptyString(pkg, 256))
          return this.error(ws, 'MALFORMED_MESSAGE', `${type} needs a string packageName`);
        if (type === 'stop_app') {
          void session.apps
            .stopApp(pkg, 'user_disabled')
            .catch((err) => this.logger.error(`stop_app: ${errorMessage(err)}`));
          return;
        }
        void session.apps
          .startApp(pkg)
          .then((r) => {
            if (!r.ok)
              this.error(ws, 'START_FAILED', `Could not start ${pkg}: ${r.message}`, {
                packageName: pkg,
                stage: r.stage,
              });
          })
          .catch((err) => this.logger.error(`start_app: ${errorMessage(err)}`));
        return;
      }
      case 'touch_event': {
        const gesture = typeof msg.gesture_name === 'string' ? msg.gesture_name : '';
        session.relay.relayTouch(gesture, text);
        return;
      }
      case 'audio_play_response':
        session.audio.handlePlayResponse(msg);
        return;
      case 'photo_response':
        session.photo.handleResponse(msg);
        return;
      case 'rtmp_stream_status':
      case 'stream_status':
        session.video.handleStatus(msg);
        return;
      case 'keep_alive_ack':
        session.video.handleKeepAliveAck(msg);
        return;
      default:
        return;
    }
  }

  /** Side effects some relayed events have on the session; false when the event must not be relayed. */
  private beforeRelay(session: UserSession, msg: TypedMessage): boolean {
    switch (msg.type) {
      case 'glasses_connection_state':
        session.device.handleConnectionState(msg);
        return true;
      case 'glasses_battery_update':
        session.device.handleBattery(msg);
        return true;
      case 'head_position':
        if (msg.position === 'up') session.dashboard.onHeadUp();
        return true;
      case 'location_update':
        return session.location.handleUpdate(msg);
      case 'calendar_event':
        session.calendar.handleEvent(msg);
        return true;
      case 'VAD':
        session.transcription.handleVad(msg);
        return true;
      case 'local_transcription':
        session.transcription.handleLocalTranscription(msg);
        return true;
      case 'rgb_led_control_response':
        session.phone.handleLedResponse(msg);
        return true;
      default:
        return true;
    }
  }

  error(ws: WebSocket, code: ErrorCode, message: string, details?: Record<string, unknown>): void {
    if (ws.readyState !== OPEN) return;
    const body: ConnectionErrorMessage = {
      type: 'connection_error',
      code,
      message,
      timestamp: new Date().toISOString(),
      ...(details ? { details } : {}),
    };
    ws.send(JSON.stringify(body));
  }
}
