import { describe, expect, it } from 'vitest';
import type { TypedMessage } from '../common/json.util.js';
import { GLASSES_CHECKS, type GlassesCheckedType } from './glasses-checks.js';
import { GLASSES_INBOUND, GLASSES_INBOUND_TYPES } from './glasses-inbound.js';

const run = (type: GlassesCheckedType, fields: Record<string, unknown>) => {
  const msg: TypedMessage = { type, ...fields };
  return { passed: (GLASSES_CHECKS[type] as (m: TypedMessage) => boolean)(msg), msg };
};

/** The smallest message of each checked type its handler runs for. */
const VALID: { [K in GlassesCheckedType]: Record<string, unknown> } = {
  start_app: { packageName: 'com.example' },
  stop_app: { packageName: 'com.example' },
  touch_event: { gesture_name: 'single_tap' },
  audio_play_response: { requestId: 'r1', success: true },
  rgb_led_control_response: { requestId: 'r1', success: true },
  photo_response: { requestId: 'r1', success: true },
  rtmp_stream_status: { streamId: 's1', status: 'active' },
  stream_status: { status: 'active' },
  keep_alive_ack: { ackId: 'a1', streamId: 's1' },
  glasses_connection_state: { status: 'CONNECTED', modelName: 'Even Realities G1', wifi: { connected: true } },
  glasses_battery_update: { level: 80, charging: false },
  head_position: { position: 'up' },
  location_update: { lat: 52.5, lng: 13.4 },
  calendar_event: { eventId: 'e1' },
  VAD: { status: true },
  local_transcription: { text: 'hello', isFinal: true, transcribeLanguage: 'en-US' },
};

/** Each case breaks the one rule that makes a handler skip the message. */
const SKIPPED: Array<[GlassesCheckedType, Record<string, unknown>]> = [
  ['start_app', { packageName: '' }],
  ['start_app', { packageName: 'p'.repeat(257) }],
  ['stop_app', { packageName: 7 }],
  ['audio_play_response', { requestId: 7 }],
  ['rgb_led_control_response', {}],
  ['photo_response', { requestId: null }],
  ['keep_alive_ack', { ackId: 1 }],
  ['keep_alive_ack', { ackId: 'a1', streamId: 5 }],
  ['head_position', { position: 'sideways' }],
  ['location_update', { lat: 'north', lng: 2 }],
  ['location_update', { lat: Number.NaN, lng: 2 }],
  ['location_update', { lat: 1 }],
  ['calendar_event', { eventId: { id: 1 } }],
  ['calendar_event', {}],
  ['local_transcription', { text: 5 }],
];

/** Optional fields a handler ignored when of the wrong type: dropped (undefined), the message still handled. */
const DROPPED: Array<[GlassesCheckedType, string, unknown]> = [
  ['touch_event', 'gesture_name', 3],
  ['audio_play_response', 'success', 'true'],
  ['audio_play_response', 'duration', '5'],
  ['rgb_led_control_response', 'error', { why: 'x' }],
  ['photo_response', 'success', 1],
  ['rtmp_stream_status', 'streamId', 9],
  ['rtmp_stream_status', 'stats', 'fast'],
  ['stream_status', 'stats', null],
  ['glasses_connection_state', 'status', true],
  ['glasses_connection_state', 'modelName', ''],
  ['glasses_connection_state', 'modelName', 'm'.repeat(129)],
  ['glasses_connection_state', 'wifi', 'on'],
  ['glasses_battery_update', 'level', 'high'],
  ['glasses_battery_update', 'charging', 'yes'],
  ['location_update', 'accuracy', '5m'],
  ['location_update', 'correlationId', 1],
  ['VAD', 'status', 'maybe'],
  ['local_transcription', 'isFinal', 'false'],
  ['local_transcription', 'transcribeLanguage', 'english'],
  ['local_transcription', 'speakerId', '1'],
  ['local_transcription', 'startTime', '0'],
  ['local_transcription', 'endTime', null],
  ['local_transcription', 'provider', 4],
];

describe('glasses boundary checks', () => {
  it('every row of a checked type carries its check, and only handled rows have one', () => {
    for (const type of Object.keys(GLASSES_CHECKS) as GlassesCheckedType[]) {
      const row = GLASSES_INBOUND[type] as { valid?: unknown; handled: boolean };
      expect(row.valid, type).toBe(GLASSES_CHECKS[type]);
      expect(row.handled, type).toBe(true);
    }
    for (const type of GLASSES_INBOUND_TYPES)
      if (!GLASSES_INBOUND[type].handled) expect('valid' in GLASSES_INBOUND[type], type).toBe(false);
  });

  it.each(Object.keys(VALID) as GlassesCheckedType[])('%s: a valid message passes unchanged', (type) => {
    const { passed, msg } = run(type, structuredClone(VALID[type]));
    expect(passed).toBe(true);
    expect(msg).toEqual({ type, ...VALID[type] });
  });

  it.each(SKIPPED)('%s with %j is skipped', (type, fields) => {
    expect(run(type, fields).passed).toBe(false);
  });

  it.each(DROPPED)('%s: a %s of the wrong type is dropped, the message passes', (type, field, value) => {
    const { passed, msg } = run(type, { ...structuredClone(VALID[type]), [field]: value });
    expect(passed).toBe(true);
    expect(msg[field]).toBeUndefined();
  });

  it('wifi fields of the wrong type are dropped, the right ones kept', () => {
    const { msg } = run('glasses_connection_state', { status: 'CONNECTED', wifi: { connected: 'yes', ssid: 'home' } });
    expect(msg.wifi).toEqual({ connected: undefined, ssid: 'home' });
  });

  it("a photo_response's error keeps its string code and message; other shapes are dropped", () => {
    const failed = { requestId: 'r1', success: false };
    expect(run('photo_response', { ...failed, error: { code: 'CAMERA_BUSY', message: 'busy' } }).msg.error).toEqual({
      code: 'CAMERA_BUSY',
      message: 'busy',
    });
    expect(run('photo_response', { ...failed, error: { code: 3, message: 'm' } }).msg.error).toEqual({
      code: undefined,
      message: 'm',
    });
    const odd = run('photo_response', { ...failed, error: 'camera busy' });
    expect(odd.passed).toBe(true);
    expect(odd.msg.error).toBeUndefined();
  });

  it('accepts the phone spellings the handlers accept', () => {
    expect(run('VAD', { status: 'false' }).msg.status).toBe('false');
    expect(run('calendar_event', { eventId: 42 }).passed).toBe(true);
    expect(run('location_update', { lat: 0, lng: 0, accuracy: 5, correlationId: 'c' }).msg).toMatchObject({
      accuracy: 5,
      correlationId: 'c',
    });
  });
});
