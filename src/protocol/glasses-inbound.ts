import type { TypedMessage } from '../common/json.util.js';
import type { PermissionType } from '../persistence/persistence.types.js';
import { GLASSES_CHECKS as CHECK, type GlassesChecked } from './glasses-checks.js';
import type { GlassesToCloud, GlassesToCloudType } from './glasses.types.js';

export type { GlassesChecked };

/**
 * A glasses message as it arrives: parsed into an object with a string `type`, its fields not yet trusted
 * (typed `unknown`: the handler checks what it reads). The field names come from `GlassesToCloud`.
 */
export type GlassesReceived<K extends GlassesToCloudType> = TypedMessage & {
  readonly [F in keyof GlassesToCloud[K]]?: unknown;
};

/**
 * What the handler of type K receives: the message with the fields its check (`glasses-checks.ts`) vouches for
 * typed; any other field stays `unknown`.
 */
export type GlassesInbound<K extends GlassesToCloudType> = GlassesReceived<K> &
  (K extends keyof GlassesChecked ? GlassesChecked[K] : unknown);

/** A row whose type has checked fields must carry the guard that checks them (from `GLASSES_CHECKS`). */
type RowOf<K extends GlassesToCloudType> = K extends keyof GlassesChecked
  ? GlassesInboundRow & { readonly valid: (msg: TypedMessage) => msg is TypedMessage & GlassesChecked[K] }
  : GlassesInboundRow;

/** How the cloud treats one glasses → cloud message type. */
export interface GlassesInboundRow {
  /**
   * Relayed as a `data_stream` whose stream type is the message type, to the apps subscribed to it; the phone's
   * JSON text goes out unchanged as `data`.
   */
  readonly relay: boolean;
  /**
   * Handled by the cloud (the gateway's handler table names the manager): before the relay when both are set;
   * a handler answering false stops the relay of that message.
   */
  readonly handled: boolean;
  /** What an app needs to receive this type as a stream; null when any app may. */
  readonly permission: PermissionType | null;
  /** Checks the fields the handler reads. When it fails the handler is skipped; the relay is not. */
  readonly valid?: (msg: TypedMessage) => boolean;
  /** Sent back as MALFORMED_MESSAGE when `valid` fails; without it an invalid message is skipped quietly. */
  readonly invalid?: string;
}

const relayed = { relay: true, handled: false, permission: null } as const;
const control = { relay: false, handled: true, permission: null } as const;

/**
 * Every type the glasses may send, and what the cloud does with it. Adding a glasses event is one row here
 * and one type in `GlassesToCloud`: the compiler then asks for a handler when the row says `handled`.
 * Types not in this table get an UNKNOWN_MESSAGE_TYPE error.
 */
export const GLASSES_INBOUND = {
  // Relayed only.
  button_press: relayed,
  phone_battery_update: relayed,
  phone_notification: { ...relayed, permission: 'READ_NOTIFICATIONS' },
  phone_notification_dismissed: { ...relayed, permission: 'READ_NOTIFICATIONS' },
  vps_coordinates: relayed,
  photo_taken: { ...relayed, permission: 'CAMERA' },
  open_dashboard: relayed,
  dashboard_state: relayed,
  request_settings: relayed,
  settings_update_request: relayed,
  core_status_update: relayed,
  livekit_init: relayed,
  udp_register: relayed,
  udp_unregister: relayed,
  phone_subscription_update: relayed,
  // Relayed, and seen by a manager first.
  head_position: { relay: true, handled: true, permission: null, valid: CHECK.head_position },
  glasses_battery_update: { relay: true, handled: true, permission: null, valid: CHECK.glasses_battery_update },
  glasses_connection_state: { relay: true, handled: true, permission: null, valid: CHECK.glasses_connection_state },
  location_update: { relay: true, handled: true, permission: 'LOCATION', valid: CHECK.location_update },
  calendar_event: { relay: true, handled: true, permission: 'CALENDAR', valid: CHECK.calendar_event },
  VAD: { relay: true, handled: true, permission: 'MICROPHONE', valid: CHECK.VAD },
  local_transcription: { relay: true, handled: true, permission: null, valid: CHECK.local_transcription },
  rgb_led_control_response: { relay: true, handled: true, permission: null, valid: CHECK.rgb_led_control_response },
  // Handled by the cloud, never relayed as is.
  connection_init: control,
  start_app: { ...control, valid: CHECK.start_app, invalid: 'start_app needs a string packageName' },
  stop_app: { ...control, valid: CHECK.stop_app, invalid: 'stop_app needs a string packageName' },
  ping: control,
  pong: { relay: false, handled: false, permission: null },
  /** Relayed by its handler to `touch_event:<gesture>` and `touch_event` subscribers. */
  touch_event: { ...control, valid: CHECK.touch_event },
  audio_play_response: { ...control, valid: CHECK.audio_play_response },
  /** Answered to the asking app; as a stream type it needs the camera like the photos themselves. */
  photo_response: { ...control, permission: 'CAMERA', valid: CHECK.photo_response },
  rtmp_stream_status: { ...control, valid: CHECK.rtmp_stream_status },
  stream_status: { ...control, valid: CHECK.stream_status },
  keep_alive_ack: { ...control, valid: CHECK.keep_alive_ack },
} as const satisfies { readonly [K in GlassesToCloudType]: RowOf<K> };

export type GlassesInboundType = GlassesToCloudType;

/** The types a handler must exist for: the rows with `handled: true`. */
export type GlassesHandledType = {
  [K in GlassesInboundType]: (typeof GLASSES_INBOUND)[K]['handled'] extends true ? K : never;
}[GlassesInboundType];

export const GLASSES_INBOUND_TYPES = Object.keys(GLASSES_INBOUND) as GlassesInboundType[];

const ROWS = new Map<string, GlassesInboundRow>(Object.entries(GLASSES_INBOUND));

/** The row of a type read off the socket; undefined for a type the glasses may not send. */
export function glassesInboundRow(type: string): GlassesInboundRow | undefined {
  return ROWS.get(type);
}
