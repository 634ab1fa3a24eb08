import { Inject, Injectable, Logger } from '@nestjs/common';
import type { WebSocket } from 'ws';
import { errorMessage, type ErrorCode } from '../common/cloud-error.js';
import { parseTypedMessage, type TypedMessage } from '../common/json.util.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import type { UserSession } from '../session/user-session.js';
import {
  GLASSES_INBOUND,
  GLASSES_INBOUND_TYPES,
  type GlassesHandledType,
  type GlassesInbound,
  type GlassesInboundRow,
} from '../protocol/glasses-inbound.js';
import type { CloudToGlassesMessage } from '../protocol/glasses.types.js';

const OPEN = 1;

type GlassesHandler<K extends GlassesHandledType> = (
  session: UserSession,
  msg: GlassesInbound<K>,
  ws: WebSocket,
  text: string,
) => boolean | void;

/** One handler per handled type: a row marked `handled` without its handler does not compile. */
export type GlassesHandlers = { readonly [K in GlassesHandledType]: GlassesHandler<K> };

interface Route {
  relay: boolean;
  handle: ((session: UserSession, msg: never, ws: WebSocket, text: string) => boolean | void) | null;
  valid: GlassesInboundRow['valid'];
  invalid: string | undefined;
}

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
    const route = this.routes.get(msg.type);
    if (route === undefined)
      return this.error(ws, 'UNKNOWN_MESSAGE_TYPE', `Unknown message type: ${msg.type.slice(0, 64)}`);
    if (route.handle !== null) {
      if (route.valid !== undefined && !route.valid(msg)) {
        if (route.invalid !== undefined) return this.error(ws, 'MALFORMED_MESSAGE', route.invalid);
      } else if (route.handle(session, msg as never, ws, text) === false) return;
    }
    if (route.relay) session.relay.relay(msg.type, text);
  }

  /** The `connection_ack` of a new connection (the gateway) or of a `connection_init` on a live one. */
  ack(ws: WebSocket, sessionId: string): void {
    if (ws.readyState !== OPEN) return;
    const body: CloudToGlassesMessage<'connection_ack'> = {
      type: 'connection_ack',
      sessionId,
      timestamp: new Date().toISOString(),
    };
    ws.send(JSON.stringify(body));
  }

  /**
   * What the cloud does with each type the table marks `handled`, typed by the message it receives. A
   * handler answering false stops the relay of that message.
   */
  private readonly handlers: GlassesHandlers = {
    connection_init: (session, _msg, ws) => {
      // The session already exists (created on open): answer as a reconnection, start nothing.
      this.ack(ws, session.userId);
      session.microphone.sync(true);
    },
    ping: (_session, _msg, ws) => {
      if (ws.readyState === OPEN) ws.send('{"type":"pong"}');
    },
    start_app: (session, msg, ws) => {
      const pkg = msg.packageName;
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
    },
    stop_app: (session, msg) => {
      void session.apps
        .stopApp(msg.packageName, 'user_disabled')
        .catch((err) => this.logger.error(`stop_app: ${errorMessage(err)}`));
    },
    touch_event: (session, msg, _ws, text) => {
      session.relay.relayTouch(msg.gesture_name ?? '', text);
    },
    audio_play_response: (session, msg) => session.audio.handlePlayResponse(msg),
    // Answers to requests of managers built on first use: one that is not built asked nothing, so there is
    // nothing to answer (the glasses' request went out after the build).
    photo_response: (session, msg) => session.built('photo')?.handleResponse(msg),
    rtmp_stream_status: (session, msg) => session.built('video')?.handleStatus(msg),
    stream_status: (session, msg) => session.built('video')?.handleStatus(msg),
    keep_alive_ack: (session, msg) => session.built('video')?.handleKeepAliveAck(msg),
    glasses_connection_state: (session, msg) => session.device.handleConnectionState(msg),
    glasses_battery_update: (session, msg) => session.device.handleBattery(msg),
    head_position: (session, msg) => {
      if (msg.position === 'up') session.dashboard.onHeadUp();
    },
    location_update: (session, msg) => session.location.handleUpdate(msg),
    calendar_event: (session, msg, ws, text) => {
      const calendar = session.built('calendar');
      if (calendar !== undefined) return calendar.handleEvent(msg);
      // The first one builds the calendar; it is cached, then relayed (as when built), and the events arriving
      // meanwhile wait for the same build, in order.
      session
        .use('calendar')
        .then((c) => {
          c.handleEvent(msg);
          session.relay.relay(msg.type, text);
        })
        .catch((err: unknown) => {
          this.logger.error(`handling calendar_event for ${session.userId}: ${errorMessage(err)}`);
          this.error(ws, 'INTERNAL_ERROR', 'Failed to handle calendar_event');
        });
      return false;
    },
    VAD: (session, msg) => session.transcription.handleVad(msg),
    local_transcription: (session, msg) => session.transcription.handleLocalTranscription(msg),
    rgb_led_control_response: (session, msg) => session.built('phone')?.handleLedResponse(msg),
  };

  /** The table and the handlers joined once, so a message costs one map lookup. */
  private readonly routes = new Map<string, Route>(
    GLASSES_INBOUND_TYPES.map((type) => {
      const row = GLASSES_INBOUND[type] as GlassesInboundRow;
      const handle = row.handled ? (this.handlers[type as GlassesHandledType] as Route['handle']) : null;
      return [type, { relay: row.relay, handle, valid: row.valid, invalid: row.invalid }];
    }),
  );

  error(ws: WebSocket, code: ErrorCode, message: string, details?: Record<string, unknown>): void {
    if (ws.readyState !== OPEN) return;
    const body: CloudToGlassesMessage<'connection_error'> = {
      type: 'connection_error',
      code,
      message,
      timestamp: new Date().toISOString(),
      ...(details ? { details } : {}),
    };
    ws.send(JSON.stringify(body));
  }
}
