import type { TypedMessage } from '../common/json.util.js';
import { dropUnless, isAnyString, isBoolean, isFiniteNumber, isNumber, isPlainObject, isString } from './checks.js';
import type { RtmpStreamStatusValue } from './glasses.types.js';

/**
 * The fields of each handled glasses → cloud type as its handler receives them, after its row's `valid` check
 * (`GLASSES_CHECKS` below). Fields not named here are passed on unread (typed `unknown` by `GlassesReceived`).
 * An optional field the managers ignored when it had the wrong type arrives `undefined`.
 */
export interface GlassesChecked {
  start_app: { packageName: string };
  stop_app: { packageName: string };
  touch_event: { gesture_name?: string };
  audio_play_response: { requestId: string; success?: boolean; duration?: number };
  rgb_led_control_response: { requestId: string; success?: boolean; error?: string };
  photo_response: { requestId: string; success?: boolean; error?: { code?: string; message?: string } };
  rtmp_stream_status: {
    /** Absent: the current stream. */
    streamId?: string;
    status?: RtmpStreamStatusValue | string;
    stats?: object;
  };
  stream_status: GlassesChecked['rtmp_stream_status'];
  keep_alive_ack: { ackId: string; streamId?: string };
  glasses_connection_state: {
    status?: string;
    /** 1–128 characters. */
    modelName?: string;
    wifi?: { connected?: boolean; ssid?: string };
  };
  glasses_battery_update: { level?: number; charging?: boolean };
  head_position: { position: 'up' | 'down' };
  location_update: { lat: number; lng: number; accuracy?: number; correlationId?: string };
  calendar_event: { eventId: string | number };
  VAD: { status?: boolean | 'true' | 'false' };
  local_transcription: {
    text: string;
    isFinal?: boolean;
    /** BCP-47 with a region (`en-US`). */
    transcribeLanguage?: string;
    speakerId?: number;
    startTime?: number;
    endTime?: number;
    provider?: string;
  };
}

export type GlassesCheckedType = keyof GlassesChecked;
type Guard<K extends GlassesCheckedType> = (msg: TypedMessage) => msg is TypedMessage & GlassesChecked[K];

const MAX_PACKAGE_NAME = 256;
const MAX_MODEL_NAME = 128;
export const TRANSCRIBE_LANGUAGE = /^[a-z]{2,3}-[A-Z]{2}$/;
const VAD_STATUS: readonly unknown[] = [true, false, 'true', 'false'];

const hasPackageName = (msg: TypedMessage) => isString(msg.packageName, 1, MAX_PACKAGE_NAME);
const hasRequestId = (msg: TypedMessage) => typeof msg.requestId === 'string';
const isObject = (v: unknown): v is object => v !== null && typeof v === 'object';

function streamStatus(msg: TypedMessage): boolean {
  dropUnless(msg, 'streamId', isAnyString);
  dropUnless(msg, 'stats', isObject);
  return true;
}

/**
 * One guard per handled type that reads fields. A guard answering false skips the handler (the row's `invalid`
 * text, if any, goes back as MALFORMED_MESSAGE); a relayed type is still relayed. Relay-only rows have none.
 */
export const GLASSES_CHECKS: { readonly [K in GlassesCheckedType]: Guard<K> } = {
  start_app: (msg): msg is TypedMessage & GlassesChecked['start_app'] => hasPackageName(msg),
  stop_app: (msg): msg is TypedMessage & GlassesChecked['stop_app'] => hasPackageName(msg),
  touch_event: (msg): msg is TypedMessage & GlassesChecked['touch_event'] => {
    dropUnless(msg, 'gesture_name', isAnyString);
    return true;
  },
  audio_play_response: (msg): msg is TypedMessage & GlassesChecked['audio_play_response'] => {
    if (!hasRequestId(msg)) return false;
    dropUnless(msg, 'success', isBoolean);
    dropUnless(msg, 'duration', isNumber);
    return true;
  },
  rgb_led_control_response: (msg): msg is TypedMessage & GlassesChecked['rgb_led_control_response'] => {
    if (!hasRequestId(msg)) return false;
    dropUnless(msg, 'success', isBoolean);
    dropUnless(msg, 'error', isAnyString);
    return true;
  },
  photo_response: (msg): msg is TypedMessage & GlassesChecked['photo_response'] => {
    if (!hasRequestId(msg)) return false;
    dropUnless(msg, 'success', isBoolean);
    dropUnless(msg, 'error', isPlainObject);
    if (msg.error !== undefined) {
      dropUnless(msg.error as TypedMessage, 'code', isAnyString);
      dropUnless(msg.error as TypedMessage, 'message', isAnyString);
    }
    return true;
  },
  rtmp_stream_status: (msg): msg is TypedMessage & GlassesChecked['rtmp_stream_status'] => streamStatus(msg),
  stream_status: (msg): msg is TypedMessage & GlassesChecked['stream_status'] => streamStatus(msg),
  keep_alive_ack: (msg): msg is TypedMessage & GlassesChecked['keep_alive_ack'] =>
    typeof msg.ackId === 'string' && (msg.streamId === undefined || typeof msg.streamId === 'string'),
  glasses_connection_state: (msg): msg is TypedMessage & GlassesChecked['glasses_connection_state'] => {
    dropUnless(msg, 'status', isAnyString);
    dropUnless(msg, 'modelName', (v) => isString(v, 1, MAX_MODEL_NAME));
    const wifi = msg.wifi;
    if (isPlainObject(wifi)) {
      dropUnless(wifi as TypedMessage, 'connected', isBoolean);
      dropUnless(wifi as TypedMessage, 'ssid', isAnyString);
    } else msg.wifi = undefined;
    return true;
  },
  glasses_battery_update: (msg): msg is TypedMessage & GlassesChecked['glasses_battery_update'] => {
    dropUnless(msg, 'level', isNumber);
    dropUnless(msg, 'charging', isBoolean);
    return true;
  },
  head_position: (msg): msg is TypedMessage & GlassesChecked['head_position'] =>
    msg.position === 'up' || msg.position === 'down',
  location_update: (msg): msg is TypedMessage & GlassesChecked['location_update'] => {
    if (!isFiniteNumber(msg.lat) || !isFiniteNumber(msg.lng)) return false;
    dropUnless(msg, 'accuracy', isNumber);
    dropUnless(msg, 'correlationId', isAnyString);
    return true;
  },
  calendar_event: (msg): msg is TypedMessage & GlassesChecked['calendar_event'] =>
    typeof msg.eventId === 'string' || typeof msg.eventId === 'number',
  VAD: (msg): msg is TypedMessage & GlassesChecked['VAD'] => {
    dropUnless(msg, 'status', (v) => VAD_STATUS.includes(v));
    return true;
  },
  local_transcription: (msg): msg is TypedMessage & GlassesChecked['local_transcription'] => {
    if (typeof msg.text !== 'string') return false;
    dropUnless(msg, 'isFinal', isBoolean);
    dropUnless(msg, 'transcribeLanguage', (v) => typeof v === 'string' && TRANSCRIBE_LANGUAGE.test(v));
    dropUnless(msg, 'speakerId', isNumber);
    dropUnless(msg, 'startTime', isNumber);
    dropUnless(msg, 'endTime', isNumber);
    dropUnless(msg, 'provider', isAnyString);
    return true;
  },
};
