import type {
  BaseFields,
  CloudToGlassesMessage,
  CloudToGlassesType,
  ConnectionAck,
  GlassesToCloud,
  GlassesToCloudMessage,
  GlassesToCloudType,
  WifiState,
} from './glasses-protocol.types.js';
import type { PhotoUploadResult } from './photo-upload.js';

export interface AutoAnswerOptions {
  /** Server JSON `{"type":"ping"}` → `{"type":"pong"}`. */
  pings?: boolean;
  /** `keep_rtmp_stream_alive` → `keep_alive_ack`. */
  keepAlive?: boolean;
  /** `photo_request` → upload this JPEG to the webhook; `false` → `photo_response` CAMERA_BUSY. */
  photos?: { jpeg: Buffer } | false;
  /** `start_rtmp_stream` → `rtmp_stream_status: active`, `stop_rtmp_stream` → `stopped`. */
  rtmp?: boolean;
  /** `request_single_location` → `location_update` at the last `setLocation()` fix. */
  location?: boolean;
  /** `audio_play_request` → `audio_play_response {success:true, duration:1000}`. */
  audio?: boolean;
  /** `rgb_led_control` → `rgb_led_control_response {success:true}`. */
  led?: boolean;
}

export interface SimulatedGlassesOptions {
  /** `http(s)://host:port[/base]`; `ws(s)://` is accepted as well. */
  cloudUrl: string;
  token: string;
  /** Model name or alias (see device-models.ts). */
  model?: string;
  tokenIn?: 'header' | 'query';
  autoAnswer?: AutoAnswerOptions;
  /** Send `glasses_connection_state` right after the socket opens (default true). */
  sendConnectionState?: boolean;
  /** Send `connection_init` after open like the old Android client (default false; the cloud does not need it). */
  sendConnectionInit?: boolean;
  /** Overrides the Wi-Fi block reported in `glasses_connection_state`. */
  wifi?: WifiState;
  /** Extra upgrade query parameters, e.g. `{ livekit: 'true' }`. */
  query?: Record<string, string>;
  /** Extra upgrade headers. */
  headers?: Record<string, string>;
  /** Default for `connect()` and every wait (default 5000 ms). */
  timeoutMs?: number;
  /** How many received messages `received` retains (default 10,000). */
  maxReceived?: number;
  /**
   * Reconnect by itself, as the phone does, when the cloud closes the socket or it drops (any close but 1000,
   * 1008, 4000 "replaced" and 4001 "token revoked"), and after a failed attempt, with exponential backoff and
   * jitter. Off by default; `disconnect()`/`drop()` stop it. Each success emits `reconnected`.
   */
  autoReconnect?: AutoReconnectOptions;
}

export interface AutoReconnectOptions {
  /** First delay (default 500 ms); doubled after each failed attempt up to `maxDelayMs` (default 8000 ms). */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

export interface StreamPcmResult {
  bytesSent: number;
  frames: number;
  /** True when the socket closed, `disconnect()` ran or the signal fired before the end. */
  aborted: boolean;
}

/** The upgrade was answered with an HTTP error instead of 101. */
export class UpgradeRefusedError extends Error {
  constructor(
    readonly status: number,
    /** Parsed JSON when the body is JSON, else the raw text. */
    readonly body: unknown,
    readonly headers: Record<string, string | string[] | undefined>,
  ) {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    super(`WebSocket upgrade refused: HTTP ${status} ${text}`);
    this.name = 'UpgradeRefusedError';
  }
}

type MessageEvents = {
  [K in CloudToGlassesType as `msg:${K}`]: [message: CloudToGlassesMessage<K>];
};

export type SimulatedGlassesEvents = MessageEvents & {
  open: [];
  ack: [ack: ConnectionAck];
  /** Every parsed JSON message, including types this file does not know. */
  message: [message: CloudToGlassesMessage];
  binary: [data: Buffer];
  /** A text frame that is not a JSON object with a string `type`. */
  unparsed: [text: string];
  sent: [message: GlassesToCloudMessage];
  close: [info: CloseInfo];
  /** Not named 'error' on purpose: an unhandled 'error' event would crash the test process. */
  'socket-error': [error: Error];
  'photo-upload': [result: PhotoUploadResult];
  /** autoReconnect: a new socket was acknowledged after the previous one closed. */
  reconnected: [ack: ConnectionAck, attempts: number];
};

export type PayloadArgs<K extends GlassesToCloudType> =
  Partial<Record<never, never>> extends GlassesToCloud[K]
    ? [payload?: GlassesToCloud[K] & BaseFields]
    : [payload: GlassesToCloud[K] & BaseFields];
