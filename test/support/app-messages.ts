import type { AppToCloudType } from '../../src/protocol/app.types.js';

/** The smallest message of each app → cloud type that passes its boundary check (`src/protocol/app-checks.ts`). */
export const VALID_APP_FIELDS: { readonly [K in AppToCloudType]: Readonly<Record<string, unknown>> } = {
  tpa_connection_init: { packageName: 'com.example', sessionId: 'user@example.com-com.example', apiKey: 'k' },
  subscription_update: { subscriptions: [] },
  display_event: { layout: { layoutType: 'text_wall', text: 'hi' } },
  dashboard_content_update: { content: 'hi' },
  dashboard_mode_change: { mode: 'expanded' },
  dashboard_system_update: { section: 'topLeft', content: 'hi' },
  audio_play_request: { requestId: 'r1', audioUrl: 'https://example.com/a.mp3' },
  audio_stop_request: {},
  audio_stream_start: { streamId: 'a'.repeat(36) },
  audio_stream_end: { streamId: 'a'.repeat(36) },
  ping: {},
  rgb_led_control: { action: 'on' },
  request_wifi_setup: {},
  location_poll_request: { correlationId: 'c1' },
  photo_request: { requestId: 'p1' },
  rtmp_stream_request: { rtmpUrl: 'rtmp://example.com/live/key' },
  rtmp_stream_stop: {},
  stream_status_check: {},
  managed_stream_request: {},
  managed_stream_stop: {},
  app_broadcast_message: { payload: { hello: 1 } },
  app_direct_message: { targetUserId: 'other@example.com', payload: 1 },
  app_room_join: { roomId: 'room' },
  app_room_leave: { roomId: 'room' },
  ownership_release: { reason: 'clean_shutdown' },
};

/** A fresh valid message of `type` (the checks may rewrite fields in place, so never share one object). */
export function validAppMessage<K extends AppToCloudType>(type: K, extra: Record<string, unknown> = {}) {
  return { ...structuredClone(VALID_APP_FIELDS[type]), ...extra, type };
}
