import { describe, expect, it } from 'vitest';
import type { TypedMessage } from '../common/json.util.js';
import { APP_CHECKS, AppRefusal, MAX_ROOM_ID } from './app-checks.js';
import type { AppToCloudType } from './app.types.js';
import { VALID_APP_FIELDS, validAppMessage } from '../../test/support/app-messages.js';

const check = (type: AppToCloudType, extra: Record<string, unknown> = {}) =>
  (APP_CHECKS[type] as (m: TypedMessage) => unknown)(validAppMessage(type, extra));

/** Each case breaks one rule of one type's check; the check must refuse it with that code. */
const REFUSED: Array<[AppToCloudType, Record<string, unknown>, string, RegExp?]> = [
  ['tpa_connection_init', { apiKey: '' }, 'MALFORMED_MESSAGE'],
  ['tpa_connection_init', { sessionId: 7 }, 'MALFORMED_MESSAGE'],
  ['tpa_connection_init', { packageName: 'p'.repeat(257) }, 'MALFORMED_MESSAGE'],
  ['subscription_update', { subscriptions: 'transcription:en-US' }, 'MALFORMED_MESSAGE', /subscriptions array/],
  ['display_event', { layout: { layoutType: 'nonsense' } }, 'MALFORMED_MESSAGE', /layoutType/],
  ['display_event', { layout: [] }, 'MALFORMED_MESSAGE', /layoutType/],
  ['display_event', { view: 'side' }, 'MALFORMED_MESSAGE', /view/],
  ['display_event', { durationMs: -1 }, 'MALFORMED_MESSAGE', /durationMs/],
  ['display_event', { durationMs: '500' }, 'MALFORMED_MESSAGE', /durationMs/],
  ['dashboard_content_update', { content: 42 }, 'MALFORMED_MESSAGE', /content/],
  ['dashboard_content_update', { content: null }, 'MALFORMED_MESSAGE', /content/],
  ['dashboard_content_update', { modes: ['sideways'] }, 'MALFORMED_MESSAGE', /modes/],
  ['dashboard_content_update', { modes: [] }, 'MALFORMED_MESSAGE', /modes/],
  ['dashboard_mode_change', { mode: 'always_on' }, 'MALFORMED_MESSAGE', /mode/],
  ['dashboard_system_update', { section: 'middle' }, 'MALFORMED_MESSAGE', /section/],
  ['dashboard_system_update', { content: 5 }, 'MALFORMED_MESSAGE', /content/],
  ['audio_play_request', { requestId: '' }, 'MALFORMED_MESSAGE', /requestId/],
  ['audio_play_request', { requestId: 'r'.repeat(201) }, 'MALFORMED_MESSAGE', /requestId/],
  ['audio_play_request', { audioUrl: 'file:///etc/passwd' }, 'MALFORMED_MESSAGE', /audioUrl/],
  ['audio_stream_start', { streamId: 'short' }, 'MALFORMED_MESSAGE', /streamId/],
  ['audio_stream_start', { streamId: `${'a'.repeat(35)} ` }, 'MALFORMED_MESSAGE', /streamId/],
  ['audio_stream_start', { contentType: 'audio/wav' }, 'UNSUPPORTED', /audio\/mpeg/],
  ['rgb_led_control', { action: 'ON' }, 'MALFORMED_MESSAGE', /action/],
  ['rgb_led_control', { color: 'purple' }, 'MALFORMED_MESSAGE', /color/],
  ['rgb_led_control', { color: null }, 'MALFORMED_MESSAGE', /color/],
  ['location_poll_request', { correlationId: 42 }, 'MALFORMED_MESSAGE', /correlationId/],
  ['location_poll_request', { correlationId: '' }, 'MALFORMED_MESSAGE', /correlationId/],
  ['photo_request', { requestId: 7 }, 'MALFORMED_MESSAGE', /requestId/],
  ['rtmp_stream_request', { rtmpUrl: 'http://example.com/live' }, 'MALFORMED_MESSAGE', /rtmpUrl/],
  ['rtmp_stream_request', { rtmpUrl: `rtmp://x/${'k'.repeat(2048)}` }, 'MALFORMED_MESSAGE', /rtmpUrl/],
  ['app_broadcast_message', { roomId: 5 }, 'MALFORMED_MESSAGE', /roomId/],
  ['app_room_join', { roomId: '' }, 'MALFORMED_MESSAGE', /roomId/],
  ['app_room_join', { roomId: 'r'.repeat(MAX_ROOM_ID + 1) }, 'MALFORMED_MESSAGE', /roomId/],
  ['app_room_join', { roomConfig: [] }, 'MALFORMED_MESSAGE', /roomConfig/],
  ['app_room_join', { roomConfig: { maxUsers: 0 } }, 'MALFORMED_MESSAGE', /maxUsers/],
  ['app_room_join', { roomConfig: { isPrivate: 'yes' } }, 'MALFORMED_MESSAGE', /isPrivate/],
  ['app_room_join', { roomConfig: { metadata: 'm'.repeat(2_000) } }, 'MALFORMED_MESSAGE', /metadata/],
  ['app_room_leave', { roomId: 3 }, 'MALFORMED_MESSAGE', /roomId/],
];

/** Optional fields the managers used to ignore when of the wrong type: the check drops them (undefined). */
const DROPPED: Array<[AppToCloudType, string, unknown]> = [
  ['display_event', 'forceDisplay', 'yes'],
  ['audio_play_request', 'volume', '0.5'],
  ['audio_play_request', 'stopOtherAudio', 'false'],
  ['audio_play_request', 'trackId', '1'],
  ['audio_stop_request', 'trackId', '1'],
  ['audio_stream_end', 'streamId', 7],
  ['rgb_led_control', 'requestId', 'r'.repeat(201)],
  ['rgb_led_control', 'ontime', -1],
  ['rgb_led_control', 'offtime', Infinity],
  ['rgb_led_control', 'count', '3'],
  ['request_wifi_setup', 'reason', 5],
  ['location_poll_request', 'accuracy', 'whatever'],
  ['photo_request', 'customWebhookUrl', 'ftp://example.com/'],
  ['photo_request', 'authToken', 5],
  ['photo_request', 'size', 'huge'],
  ['photo_request', 'compress', 'max'],
  ['photo_request', 'saveToGallery', 'true'],
  ['photo_request', 'sound', 0],
  ['rtmp_stream_request', 'video', 'hd'],
  ['rtmp_stream_request', 'audio', []],
  ['rtmp_stream_request', 'stream', 1],
  ['rtmp_stream_request', 'sound', 'off'],
  ['rtmp_stream_stop', 'streamId', 1],
  ['managed_stream_request', 'restreamDestinations', 'rtmp://x'],
  ['app_broadcast_message', 'messageId', 'm'.repeat(201)],
  ['app_direct_message', 'messageId', 9],
  ['ownership_release', 'reason', 1],
];

describe('app boundary checks', () => {
  it.each(Object.keys(VALID_APP_FIELDS) as AppToCloudType[])(
    '%s: a valid message passes and comes back as the same object',
    (type) => {
      const msg = validAppMessage(type);
      expect((APP_CHECKS[type] as (m: TypedMessage) => unknown)(msg)).toBe(msg);
    },
  );

  it.each(REFUSED)('%s with %j is refused with %s', (type, extra, code, message) => {
    const r = check(type, extra);
    expect(r).toBeInstanceOf(AppRefusal);
    expect(r).toMatchObject({ ok: false, code });
    if (message) expect((r as AppRefusal).message).toMatch(message);
  });

  it.each(DROPPED)('%s: a %s of the wrong type is dropped, the message passes', (type, field, value) => {
    const r = check(type, { [field]: value }) as Record<string, unknown>;
    expect(r).not.toBeInstanceOf(AppRefusal);
    expect(r[field]).toBeUndefined();
  });

  it('keeps optional fields of the right type as sent', () => {
    expect(check('photo_request', { size: 'large', customWebhookUrl: 'https://x.example/u' })).toMatchObject({
      size: 'large',
      customWebhookUrl: 'https://x.example/u',
    });
    expect(check('location_poll_request', { accuracy: 'kilometer' })).toMatchObject({ accuracy: 'kilometer' });
    expect(check('rgb_led_control', { ontime: 0, count: 2, color: 'red' })).toMatchObject({ ontime: 0, count: 2 });
    expect(check('display_event', { durationMs: null, view: 'dashboard' })).toMatchObject({ view: 'dashboard' });
  });

  it('fills the defaults the managers rely on', () => {
    expect(check('dashboard_content_update')).toMatchObject({ modes: ['main'] });
    expect(check('dashboard_content_update', { modes: 'main' })).toMatchObject({ modes: ['main'] });
    expect(check('dashboard_content_update', { modes: ['always_on'] })).not.toBeInstanceOf(AppRefusal);
    expect(check('app_direct_message', { targetUserId: 5 })).toMatchObject({ targetUserId: '' });
    expect(check('app_room_join')).toMatchObject({ roomConfig: {} });
  });

  it('keeps only the known room config fields, and only destinations with a url', () => {
    expect(
      check('app_room_join', { roomConfig: { maxUsers: 3, isPrivate: true, metadata: { a: 1 }, owner: 'x' } }),
    ).toMatchObject({ roomConfig: { maxUsers: 3, isPrivate: true, metadata: { a: 1 } } });
    expect((check('app_room_join', { roomConfig: { owner: 'x' } }) as { roomConfig: object }).roomConfig).toEqual({});
    expect(
      check('managed_stream_request', { restreamDestinations: [{ url: 'rtmp://a' }, { name: 'no url' }, null, 'x'] }),
    ).toMatchObject({ restreamDestinations: [{ url: 'rtmp://a' }] });
  });

  it('keeps subscription entries that are names or { stream, rate }, drops others and a rate that is not a string', () => {
    const clean = ['button_press', { stream: 'location_stream', rate: 'high' }];
    const msg = check('subscription_update', { subscriptions: clean }) as { subscriptions: unknown[] };
    expect(msg.subscriptions).toBe(clean);
    expect(
      check('subscription_update', {
        subscriptions: ['audio_chunk', 42, null, { stream: 7 }, { stream: 'location_stream', rate: 5 }, ['x']],
      }),
    ).toMatchObject({ subscriptions: ['audio_chunk', { stream: 'location_stream' }] });
  });
});
