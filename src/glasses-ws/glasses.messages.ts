/**
 * Glasses → cloud message types of SDK 2.1.29 (glasses.md §3). Types outside this list get an
 * UNKNOWN_MESSAGE_TYPE error instead of being relayed (upstream relayed anything).
 */
export const RELAYED_GLASSES_TYPES = new Set([
  'button_press',
  'head_position',
  'glasses_battery_update',
  'phone_battery_update',
  'glasses_connection_state',
  'phone_notification',
  'phone_notification_dismissed',
  'location_update',
  'calendar_event',
  'vps_coordinates',
  'photo_taken',
  'open_dashboard',
  'dashboard_state',
  'VAD',
  'local_transcription',
  'rgb_led_control_response',
  'request_settings',
  'settings_update_request',
  'core_status_update',
  'livekit_init',
  'udp_register',
  'udp_unregister',
  'phone_subscription_update',
]);

/** Handled by the cloud itself, never relayed. */
export const CONTROL_GLASSES_TYPES = new Set([
  'connection_init',
  'start_app',
  'stop_app',
  'ping',
  'pong',
  'touch_event',
  'audio_play_response',
  'photo_response',
  'rtmp_stream_status',
  'stream_status',
  'keep_alive_ack',
]);

export interface ConnectionAck {
  type: 'connection_ack';
  sessionId: string;
  timestamp: string;
}

export interface ConnectionErrorMessage {
  type: 'connection_error';
  code: string;
  message: string;
  timestamp: string;
  details?: Record<string, unknown>;
}
