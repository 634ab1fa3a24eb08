import type { TypedMessage } from '../common/json.util.js';
import { APP_CHECKS, AppRefusal } from './app-checks.js';
import type { AppToCloudMessage, AppToCloudType } from './app.types.js';

/** Which part of the session an app message goes to (a manager, the messaging service, or the gateway itself). */
export type AppMessageOwner =
  | 'subscriptions'
  | 'display'
  | 'dashboard'
  | 'audio'
  | 'audioOutput'
  | 'phone'
  | 'location'
  | 'photo'
  | 'video'
  | 'managedStreaming'
  | 'messaging'
  | 'apps'
  | 'gateway';

export interface AppInboundRow {
  readonly owner: AppMessageOwner;
}

/**
 * Every type an initialized app may send on `/app-ws` (SDK 2.1.29, plus SDK 3's ping) and who handles it. The
 * app handler switches over these types with an exhaustive `never` default, so a row without its case does not
 * compile. Types not in this table get an UNKNOWN_MESSAGE_TYPE error. The fields of each type are in `AppToCloud`
 * (`app.types.ts`) and checked once by `checkAppMessage` (its rules in `app-checks.ts`) before the owner runs.
 */
export const APP_INBOUND = {
  subscription_update: { owner: 'subscriptions' },
  display_event: { owner: 'display' },
  dashboard_content_update: { owner: 'dashboard' },
  dashboard_mode_change: { owner: 'dashboard' },
  dashboard_system_update: { owner: 'dashboard' },
  audio_play_request: { owner: 'audio' },
  audio_stop_request: { owner: 'audio' },
  audio_stream_start: { owner: 'audioOutput' },
  audio_stream_end: { owner: 'audioOutput' },
  ping: { owner: 'gateway' },
  rgb_led_control: { owner: 'phone' },
  request_wifi_setup: { owner: 'phone' },
  location_poll_request: { owner: 'location' },
  photo_request: { owner: 'photo' },
  rtmp_stream_request: { owner: 'video' },
  rtmp_stream_stop: { owner: 'video' },
  stream_status_check: { owner: 'video' },
  managed_stream_request: { owner: 'managedStreaming' },
  managed_stream_stop: { owner: 'managedStreaming' },
  app_broadcast_message: { owner: 'messaging' },
  app_direct_message: { owner: 'messaging' },
  app_room_join: { owner: 'messaging' },
  app_room_leave: { owner: 'messaging' },
  ownership_release: { owner: 'apps' },
  /** Only valid as a socket's first message (the gateway handles it); afterwards it is an error. */
  tpa_connection_init: { owner: 'gateway' },
} as const satisfies { readonly [K in AppToCloudType]: AppInboundRow };

export type AppInboundType = keyof typeof APP_INBOUND;
export type AppInboundMessage = TypedMessage & { type: AppInboundType };

export const APP_INBOUND_TYPES = Object.keys(APP_INBOUND) as AppInboundType[];

const TYPES = new Set<string>(APP_INBOUND_TYPES);

export function isAppInbound(msg: TypedMessage): msg is AppInboundMessage {
  return TYPES.has(msg.type);
}

/**
 * The boundary check of an app message of a known type: the message itself, typed (nothing copied), or why it
 * was refused (a MALFORMED_MESSAGE or UNSUPPORTED code and a message for the app's developer).
 */
export function checkAppMessage(msg: AppInboundMessage): AppToCloudMessage | AppRefusal {
  return (APP_CHECKS[msg.type] as (m: TypedMessage) => AppToCloudMessage | AppRefusal)(msg);
}

export { AppRefusal };

/** The default of an exhaustive switch: a type added to a table without its case fails to compile here. */
export function unhandled(type: never): never {
  throw new Error(`No case for message type ${String(type)}`);
}
