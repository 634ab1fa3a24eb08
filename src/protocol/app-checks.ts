import type { TypedMessage } from '../common/json.util.js';
import type { Failure } from '../common/result.js';
import type { AppToCloudMessage, AppToCloudType, SubscriptionEntry } from './app.types.js';
import {
  dropUnless,
  isAnyString,
  isBoolean,
  isFiniteNumber,
  isNumber,
  isOneOf,
  isPlainObject,
  isString,
} from './checks.js';
import {
  AUDIO_STREAM_ID_BYTES,
  DASHBOARD_MODES,
  DASHBOARD_SECTIONS,
  LAYOUT_TYPES,
  LED_COLORS,
  LOCATION_TIERS,
  PHOTO_COMPRESSIONS,
  PHOTO_SIZES,
} from './vocabulary.js';

export type AppCheckCode = 'MALFORMED_MESSAGE' | 'UNSUPPORTED';

/** Why a message failed its check; a class so it can never be mistaken for a message that has an `ok` field. */
export class AppRefusal implements Failure<AppCheckCode> {
  readonly ok = false;
  constructor(
    readonly code: AppCheckCode,
    readonly message: string,
  ) {}
}

/** A check gives back the message itself, now typed (nothing is copied), or why it was refused. */
export type AppCheck<K extends AppToCloudType> = (msg: TypedMessage) => AppToCloudMessage<K> | AppRefusal;

const malformed = (message: string) => new AppRefusal('MALFORMED_MESSAGE', message);
const typed = <K extends AppToCloudType>(msg: TypedMessage) => msg as unknown as AppToCloudMessage<K>;

export const MAX_REQUEST_ID = 200;
export const MAX_ROOM_ID = 128;
export const MAX_ROOM_USERS = 10_000;
export const MAX_ROOM_METADATA_CHARS = 1_024;
const HTTP_URL = /^https?:\/\//;
const RTMP_URL = /^rtmps?:\/\/[^\s]+$/;
const AUDIO_STREAM_ID = new RegExp(`^[\\x21-\\x7e]{${AUDIO_STREAM_ID_BYTES}}$`);
const DEFAULT_DASHBOARD_MODES: readonly unknown[] = Object.freeze(['main']);
const requestId = (v: unknown): v is string => isString(v, 1, MAX_REQUEST_ID);
const nonNegative = (v: unknown) => isFiniteNumber(v) && v >= 0;

const noFields = <K extends AppToCloudType>(msg: TypedMessage) => typed<K>(msg);

function isCleanSubscriptionEntry(v: unknown): v is SubscriptionEntry {
  if (typeof v === 'string') return true;
  if (!isPlainObject(v) || typeof v.stream !== 'string') return false;
  return v.rate === undefined || typeof v.rate === 'string';
}

/** A subscription entry as the manager takes it: [] for an entry of no known shape, a rate only when a string. */
function subscriptionEntry(v: unknown): SubscriptionEntry[] {
  if (isCleanSubscriptionEntry(v)) return [v];
  if (isPlainObject(v) && typeof v.stream === 'string') return [{ stream: v.stream }];
  return [];
}

function streamOptions(msg: TypedMessage): void {
  dropUnless(msg, 'video', isPlainObject);
  dropUnless(msg, 'audio', isPlainObject);
  dropUnless(msg, 'stream', isPlainObject);
  dropUnless(msg, 'sound', isBoolean);
}

function messageId(msg: TypedMessage): void {
  dropUnless(msg, 'messageId', (v) => isString(v, 0, MAX_REQUEST_ID));
}

/** The SDK's optional `roomConfig` of a join, replaced by the checked copy (only the known fields). */
function roomConfig(msg: TypedMessage): AppRefusal | null {
  const raw = msg.roomConfig;
  if (raw === undefined || raw === null) {
    msg.roomConfig = {};
    return null;
  }
  if (!isPlainObject(raw)) return malformed('roomConfig must be an object');
  const { maxUsers, isPrivate, metadata } = raw;
  const config: { maxUsers?: number; isPrivate?: boolean; metadata?: unknown } = {};
  if (maxUsers !== undefined && maxUsers !== null) {
    if (typeof maxUsers !== 'number' || !Number.isInteger(maxUsers) || maxUsers < 1 || maxUsers > MAX_ROOM_USERS)
      return malformed(`roomConfig.maxUsers must be an integer from 1 to ${MAX_ROOM_USERS}`);
    config.maxUsers = maxUsers;
  }
  if (isPrivate !== undefined && isPrivate !== null) {
    if (typeof isPrivate !== 'boolean') return malformed('roomConfig.isPrivate must be a boolean');
    config.isPrivate = isPrivate;
  }
  if (metadata !== undefined) {
    if ((JSON.stringify(metadata) ?? '').length > MAX_ROOM_METADATA_CHARS)
      return malformed(`roomConfig.metadata must be at most ${MAX_ROOM_METADATA_CHARS} characters of JSON`);
    config.metadata = metadata;
  }
  msg.roomConfig = config;
  return null;
}

function roomId(msg: TypedMessage): AppRefusal | null {
  return isString(msg.roomId, 1, MAX_ROOM_ID)
    ? null
    : malformed(`${msg.type} needs a roomId of 1-${MAX_ROOM_ID} characters`);
}

/**
 * The boundary check of every app → cloud type: the rules the managers used to apply to `Record<string, unknown>`,
 * with the same codes and messages, applied once before the owner runs.
 */
export const APP_CHECKS: { readonly [K in AppToCloudType]: AppCheck<K> } = {
  tpa_connection_init: (msg) =>
    isString(msg.sessionId, 1, 600) && isString(msg.packageName, 1, 256) && isString(msg.apiKey, 1, 512)
      ? typed(msg)
      : malformed('tpa_connection_init needs string sessionId, packageName and apiKey'),
  subscription_update: (msg) => {
    const list = msg.subscriptions;
    if (!Array.isArray(list)) return malformed('subscription_update needs a subscriptions array');
    // Entries of another shape were always ignored rather than refused; the manager sees only the two shapes.
    if (!list.every(isCleanSubscriptionEntry)) msg.subscriptions = list.flatMap(subscriptionEntry);
    return typed(msg);
  },
  display_event: (msg) => {
    const layout = msg.layout;
    if (!isPlainObject(layout) || !isOneOf(LAYOUT_TYPES, layout.layoutType))
      return malformed(`display_event needs a layout with layoutType one of ${LAYOUT_TYPES.join(', ')}`);
    if (msg.view !== undefined && msg.view !== 'main' && msg.view !== 'dashboard')
      return malformed('view must be "main" or "dashboard"');
    const duration = msg.durationMs;
    if (duration !== undefined && duration !== null && !nonNegative(duration))
      return malformed('durationMs must be a non-negative number');
    dropUnless(msg, 'forceDisplay', isBoolean);
    return typed(msg);
  },
  dashboard_content_update: (msg) => {
    const content = msg.content;
    if (typeof content !== 'string' && (content === null || typeof content !== 'object'))
      return malformed('dashboard_content_update needs string content');
    if (!Array.isArray(msg.modes)) msg.modes = DEFAULT_DASHBOARD_MODES;
    const modes = msg.modes as readonly unknown[];
    const some = modes.some((m) => isOneOf(DASHBOARD_MODES, m));
    // `always_on` entries are accepted and ignored (the always-on view was never rendered).
    if (!some && !(modes.length > 0 && modes.every((m) => m === 'always_on')))
      return malformed('modes must include "main" or "expanded"');
    return typed(msg);
  },
  dashboard_mode_change: (msg) =>
    isOneOf(DASHBOARD_MODES, msg.mode) ? typed(msg) : malformed('mode must be "main" or "expanded"'),
  dashboard_system_update: (msg) => {
    if (!isOneOf(DASHBOARD_SECTIONS, msg.section))
      return malformed(`section must be one of ${DASHBOARD_SECTIONS.join(', ')}`);
    if (typeof msg.content !== 'string') return malformed('content must be a string');
    return typed(msg);
  },
  audio_play_request: (msg) => {
    if (!requestId(msg.requestId)) return malformed('audio_play_request needs a string requestId');
    if (typeof msg.audioUrl !== 'string' || !HTTP_URL.test(msg.audioUrl))
      return malformed('audio_play_request needs an http(s) audioUrl');
    dropUnless(msg, 'volume', isNumber);
    dropUnless(msg, 'stopOtherAudio', isBoolean);
    dropUnless(msg, 'trackId', isNumber);
    return typed(msg);
  },
  audio_stop_request: (msg) => {
    dropUnless(msg, 'trackId', isNumber);
    return typed(msg);
  },
  audio_stream_start: (msg) => {
    if (typeof msg.streamId !== 'string' || !AUDIO_STREAM_ID.test(msg.streamId))
      return malformed(`audio_stream_start needs a streamId of ${AUDIO_STREAM_ID_BYTES} printable ASCII characters`);
    if (msg.contentType !== undefined && msg.contentType !== 'audio/mpeg')
      return new AppRefusal('UNSUPPORTED', 'Output audio streams carry audio/mpeg (MP3) only');
    return typed(msg);
  },
  audio_stream_end: (msg) => {
    dropUnless(msg, 'streamId', isAnyString);
    return typed(msg);
  },
  ping: noFields,
  rgb_led_control: (msg) => {
    if (msg.action !== 'on' && msg.action !== 'off') return malformed('rgb_led_control needs action "on" or "off"');
    if (msg.color !== undefined && !isOneOf(LED_COLORS, msg.color))
      return malformed(`color must be one of ${LED_COLORS.join(', ')}`);
    dropUnless(msg, 'requestId', (v) => isString(v, 0, MAX_REQUEST_ID));
    dropUnless(msg, 'ontime', nonNegative);
    dropUnless(msg, 'offtime', nonNegative);
    dropUnless(msg, 'count', nonNegative);
    return typed(msg);
  },
  request_wifi_setup: (msg) => {
    dropUnless(msg, 'reason', isAnyString);
    return typed(msg);
  },
  location_poll_request: (msg) => {
    if (!requestId(msg.correlationId)) return malformed('location_poll_request needs a string correlationId');
    dropUnless(msg, 'accuracy', (v) => isOneOf(LOCATION_TIERS, v));
    return typed(msg);
  },
  photo_request: (msg) => {
    if (!requestId(msg.requestId)) return malformed('photo_request needs a string requestId');
    dropUnless(msg, 'customWebhookUrl', (v) => typeof v === 'string' && HTTP_URL.test(v));
    dropUnless(msg, 'authToken', isAnyString);
    dropUnless(msg, 'size', (v) => isOneOf(PHOTO_SIZES, v));
    dropUnless(msg, 'compress', (v) => isOneOf(PHOTO_COMPRESSIONS, v));
    dropUnless(msg, 'saveToGallery', isBoolean);
    dropUnless(msg, 'sound', isBoolean);
    return typed(msg);
  },
  rtmp_stream_request: (msg) => {
    const url = msg.rtmpUrl;
    if (typeof url !== 'string' || !RTMP_URL.test(url) || url.length > 2048)
      return malformed('rtmp_stream_request needs an rtmp:// or rtmps:// rtmpUrl');
    streamOptions(msg);
    return typed(msg);
  },
  rtmp_stream_stop: (msg) => {
    dropUnless(msg, 'streamId', isAnyString);
    return typed(msg);
  },
  stream_status_check: noFields,
  managed_stream_request: (msg) => {
    streamOptions(msg);
    const list = msg.restreamDestinations;
    msg.restreamDestinations = Array.isArray(list)
      ? list.filter((d) => isPlainObject(d) && typeof d.url === 'string')
      : undefined;
    return typed(msg);
  },
  managed_stream_stop: noFields,
  app_broadcast_message: (msg) => {
    const room = msg.roomId;
    if (room !== undefined && room !== null && typeof room !== 'string')
      return malformed('roomId must be a string (or absent to reach every user of the app)');
    messageId(msg);
    return typed(msg);
  },
  app_direct_message: (msg) => {
    if (typeof msg.targetUserId !== 'string') msg.targetUserId = '';
    messageId(msg);
    return typed(msg);
  },
  app_room_join: (msg) => {
    const refused = roomId(msg) ?? roomConfig(msg);
    if (refused) return refused;
    messageId(msg);
    return typed(msg);
  },
  app_room_leave: (msg) => {
    const refused = roomId(msg);
    if (refused) return refused;
    messageId(msg);
    return typed(msg);
  },
  ownership_release: (msg) => {
    dropUnless(msg, 'reason', isAnyString);
    return typed(msg);
  },
};
