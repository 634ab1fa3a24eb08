/**
 * Wire types of the app socket (`/app-ws`) as spoken by @mentra/sdk 2.1.29 (plus SDK 3's ping and output audio):
 * what an app sends once the boundary checks of `app-checks.ts` passed (`AppToCloud`), and what the cloud sends
 * an app (`CloudToApp`). The handling of each incoming type is declared in `app-inbound.ts`.
 *
 * `AppToCloud` is the checked shape, not the SDK's declaration: a field the cloud does not read is absent, and an
 * optional field the cloud used to ignore when it had the wrong type arrives `undefined`. Fields an app puts in
 * every message (`packageName`, `sessionId`) are never trusted: the socket's binding says who speaks.
 */
import type { PermissionType } from '../persistence/persistence.types.js';
import type { AudioConfig, BaseFields, NoFields, OpenLayout, StreamConfig, VideoConfig } from './glasses.types.js';
import type {
  DashboardMode,
  DashboardSection,
  LedColor,
  LocationTierName,
  PhotoCompression,
  PhotoSize,
} from './vocabulary.js';

/** A layout as an app sends it: its type is checked, its fields are read leniently by the display code. */
export type AppLayout = OpenLayout;

export interface RestreamDestination {
  url: string;
  name?: string;
}

/** Fields of the SDK's stream requests that are passed to the glasses (objects, their fields unchecked). */
export interface StreamOptions {
  video?: VideoConfig;
  audio?: AudioConfig;
  stream?: StreamConfig;
  /** SDK 3: false turns the glasses' start/stop sounds off. */
  sound?: boolean;
}

// ---------------------------------------------------------------------------
// App → cloud (after the boundary check)
// ---------------------------------------------------------------------------

/** One subscription as the SDK sends it: a stream name, or `{ stream, rate }` (the rate of `location_stream`). */
export type SubscriptionEntry = string | { stream: string; rate?: string };

export interface AppToCloud {
  /** Only a socket's first message (the gateway checks it); afterwards it is ALREADY_INITIALIZED. */
  tpa_connection_init: { packageName: string; sessionId: string; apiKey: string };
  /** Entries of another shape are dropped at the boundary (`app-checks.ts`). */
  subscription_update: { subscriptions: readonly SubscriptionEntry[] };
  display_event: {
    layout: AppLayout;
    view?: 'main' | 'dashboard';
    durationMs?: number | null;
    forceDisplay?: boolean;
  };
  /** `modes` defaults to `['main']`; entries besides main/expanded are ignored (`always_on` alone is a no-op). */
  dashboard_content_update: { content: string | { readonly [field: string]: unknown }; modes: readonly unknown[] };
  dashboard_mode_change: { mode: DashboardMode };
  dashboard_system_update: { section: DashboardSection; content: string };
  audio_play_request: {
    requestId: string;
    audioUrl: string;
    volume?: number;
    stopOtherAudio?: boolean;
    trackId?: number;
  };
  audio_stop_request: { trackId?: number };
  audio_stream_start: { streamId: string; contentType?: 'audio/mpeg' };
  audio_stream_end: { streamId?: string };
  ping: NoFields;
  rgb_led_control: {
    action: 'on' | 'off';
    color?: LedColor;
    /** Kept only up to 200 characters; a longer one is dropped (the answer then goes nowhere). */
    requestId?: string;
    ontime?: number;
    offtime?: number;
    count?: number;
  };
  request_wifi_setup: { reason?: string };
  location_poll_request: { accuracy?: LocationTierName; correlationId: string };
  photo_request: {
    requestId: string;
    /** http(s) only; anything else is dropped and the photo goes to the SDK's own upload route. */
    customWebhookUrl?: string;
    authToken?: string;
    size?: PhotoSize;
    compress?: PhotoCompression;
    saveToGallery?: boolean;
    sound?: boolean;
  };
  rtmp_stream_request: StreamOptions & { rtmpUrl: string };
  rtmp_stream_stop: { streamId?: string };
  stream_status_check: NoFields;
  managed_stream_request: StreamOptions & { restreamDestinations?: readonly RestreamDestination[] };
  managed_stream_stop: NoFields;
  /** `roomId` absent or null: every user running the package; a string: the members of that room. */
  app_broadcast_message: { payload?: unknown; messageId?: string; roomId?: string | null };
  app_direct_message: { payload?: unknown; messageId?: string; targetUserId: string };
  /** `roomConfig` is the checked copy (only the known fields; `{}` when the app sent none). */
  app_room_join: {
    roomId: string;
    roomConfig: { maxUsers?: number; isPrivate?: boolean; metadata?: unknown };
    messageId?: string;
  };
  app_room_leave: { roomId: string; messageId?: string };
  ownership_release: { reason?: string };
}

export type AppToCloudType = keyof AppToCloud;
export type AppToCloudMessage<K extends AppToCloudType = AppToCloudType> = {
  [T in K]: { type: T } & AppToCloud[T] & BaseFields;
}[K];

// ---------------------------------------------------------------------------
// Cloud → app
// ---------------------------------------------------------------------------

/** Every top-level message the cloud sends an app (a `data_stream` is built by `EventRelay`). */
export interface CloudToApp {
  tpa_connection_ack: {
    sessionId: string;
    settings: unknown;
    mentraosSettings: unknown;
    augmentosSettings: unknown;
    capabilities: unknown;
  };
  tpa_connection_error: { code: string; message: string; details?: unknown };
  permission_error: { message: string; details: unknown };
  app_stopped: NoFields;
  settings_update: { packageName: string; sessionId: string; settings: unknown };
  augmentos_settings_update: { sessionId: string; settings: unknown };
  device_state_update: { state: object; fullSnapshot: boolean };
  capabilities_update: { capabilities: unknown; modelName: string | null };
  dashboard_mode_changed: { mode: DashboardMode; sessionId: string };
  audio_play_response: {
    sessionId: string;
    requestId: string;
    success: boolean;
    error?: unknown;
    duration?: number;
  };
  audio_stream_ready: { sessionId: string; streamId: string; streamUrl: string };
  rgb_led_control_response: { requestId: string; success: boolean; error?: string };
  photo_response: {
    sessionId: string;
    requestId?: unknown;
    success?: unknown;
    photoUrl?: unknown;
    savedToGallery?: unknown;
    error?: unknown;
    [field: string]: unknown;
  };
  rtmp_stream_status: {
    sessionId: string;
    appId: string;
    streamId?: string;
    status: string;
    errorDetails?: unknown;
    stats?: unknown;
  };
  managed_stream_status: {
    sessionId: string;
    status: string;
    streamId?: string;
    hlsUrl?: string;
    dashUrl?: string;
    outputs?: unknown;
    message?: string;
  };
  stream_status_check_response: { hasActiveStream: boolean; streamInfo?: unknown };
  app_message_received: {
    payload: unknown;
    messageId: string;
    senderUserId: string;
    senderSessionId: string;
    roomId?: string;
  };
  app_direct_message_response: {
    messageId: string;
    success: boolean;
    targetUserId: string;
    error?: string;
  };
  app_user_joined: { userId: string; sessionId: string; roomId: string; joinedAt: string };
  app_user_left: { userId: string; sessionId: string; roomId: string; leftAt: string };
  app_room_updated: { roomId: string; updateType: 'user_joined' | 'user_left'; roomData: unknown };
  request_telemetry: { sessionId: string; incidentId: string; uploadToken: string; windowMs: number };
  pong: NoFields;
}

export type CloudToAppType = keyof CloudToApp;
export type CloudToAppMessage<K extends CloudToAppType = CloudToAppType> = {
  [T in K]: { type: T } & CloudToApp[T] & BaseFields;
}[K];

/** `permission_error.details`: the subscriptions a missing permission refused. */
export interface RejectedSubscription {
  stream: string;
  requiredPermission: PermissionType;
  message?: string;
}
