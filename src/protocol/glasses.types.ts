/**
 * Wire types of the glasses socket (`/glasses-ws`) as spoken by @mentra/sdk 2.1.29: what the phone
 * sends (`GlassesToCloud`) and what the cloud sends back (`CloudToGlasses`). The server's handling of
 * each incoming type is declared in `glasses-inbound.ts`; the simulator re-exports these types.
 *
 * Plain string literals instead of the SDK's enums, so this file has no runtime
 * dependency and JSON read off the socket can be typed directly.
 * Fields the cloud versions disagree on (e.g. `appId` vs `packageName`) are optional.
 */

export type ViewName = 'main' | 'dashboard';

export interface TextWall {
  layoutType: 'text_wall';
  text: string;
}
export interface DoubleTextWall {
  layoutType: 'double_text_wall';
  topText: string;
  bottomText: string;
}
export interface DashboardCard {
  layoutType: 'dashboard_card';
  leftText: string;
  rightText: string;
}
export interface ReferenceCard {
  layoutType: 'reference_card';
  title: string;
  text: string;
}
export interface BitmapView {
  layoutType: 'bitmap_view';
  data: string;
}
export interface BitmapAnimation {
  layoutType: 'bitmap_animation';
  frames: string[];
  interval: number;
  repeat: boolean;
}
export interface ClearView {
  layoutType: 'clear_view';
}

export type Layout =
  TextWall | DoubleTextWall | DashboardCard | ReferenceCard | BitmapView | BitmapAnimation | ClearView;
export type LayoutType = Layout['layoutType'];

/**
 * A layout as the cloud forwards it: the type is checked, the other fields are the app's own (read leniently by
 * the display code and the simulator).
 */
export interface OpenLayout {
  layoutType: LayoutType;
  [field: string]: unknown;
}

/** Fields every message may carry (`BaseMessage`). Dates arrive as ISO strings after JSON. */
export interface BaseFields {
  timestamp?: string | number;
  sessionId?: string;
}

/** `{}` spelled so that intersections with BaseFields stay usable. */
export type NoFields = Partial<Record<never, never>>;

export type MicRequiredData = 'pcm' | 'transcription' | 'pcm_or_transcription';

export type LocationTier =
  'realtime' | 'high' | 'tenMeters' | 'hundredMeters' | 'kilometer' | 'threeKilometers' | 'reduced' | 'standard';

export type RtmpStreamStatusValue =
  | 'initializing'
  | 'connecting'
  | 'reconnecting'
  | 'streaming'
  | 'error'
  | 'stopped'
  | 'active'
  | 'stopping'
  | 'disconnected'
  | 'timeout'
  | 'reconnected'
  | 'reconnect_failed';

export type PhotoErrorCode =
  | 'CAMERA_INIT_FAILED'
  | 'CAMERA_CAPTURE_FAILED'
  | 'CAMERA_TIMEOUT'
  | 'CAMERA_BUSY'
  | 'UPLOAD_FAILED'
  | 'UPLOAD_TIMEOUT'
  | 'BLE_TRANSFER_FAILED'
  | 'BLE_TRANSFER_BUSY'
  | 'BLE_TRANSFER_FAILED_TO_START'
  | 'BLE_TRANSFER_TIMEOUT'
  | 'COMPRESSION_FAILED'
  | 'PERMISSION_DENIED'
  | 'STORAGE_FULL'
  | 'NETWORK_ERROR'
  | 'PHONE_GLASSES_NOT_CONNECTED'
  | 'PHONE_BLE_TRANSFER_FAILED'
  | 'PHONE_UPLOAD_FAILED'
  | 'PHONE_TIMEOUT'
  | 'UNKNOWN_ERROR';

export interface VideoConfig {
  width?: number;
  height?: number;
  bitrate?: number;
  frameRate?: number;
}
export interface AudioConfig {
  bitrate?: number;
  sampleRate?: number;
  echoCancellation?: boolean;
  noiseSuppression?: boolean;
}
export interface StreamConfig {
  durationLimit?: number;
}

export interface WifiState {
  connected: boolean;
  ssid?: string | null;
}

// ---------------------------------------------------------------------------
// Glasses (phone) → cloud
// ---------------------------------------------------------------------------

export interface GlassesToCloud {
  connection_init: { userId?: string; coreToken?: string };
  start_app: { packageName: string };
  stop_app: { packageName: string };
  glasses_connection_state: { modelName: string; status: string; wifi?: WifiState };
  /** Upper case on the wire. `status` may be a string because old phones sent "true"/"false". */
  VAD: { status: boolean | 'true' | 'false' };
  local_transcription: {
    text: string;
    isFinal: boolean;
    startTime: number;
    endTime: number;
    speakerId: number;
    transcribeLanguage: string;
    provider: string;
  };
  location_update: { lat: number; lng: number; accuracy?: number; correlationId?: string };
  calendar_event: {
    eventId: string;
    title: string;
    dtStart: string;
    dtEnd: string;
    timezone: string;
    timeStamp: string;
  };
  rtmp_stream_status: {
    streamId?: string;
    status: RtmpStreamStatusValue;
    errorDetails?: string;
    appId?: string;
    stats?: { bitrate: number; fps: number; droppedFrames: number; duration: number };
  };
  /** Post-2.1.29 name of rtmp_stream_status; listed because newer phones send it. */
  stream_status: GlassesToCloud['rtmp_stream_status'];
  keep_alive_ack: { streamId: string; ackId: string };
  photo_response: {
    requestId: string;
    success: boolean;
    photoUrl?: string;
    savedToGallery?: boolean;
    error?: { code: PhotoErrorCode; message: string; details?: Record<string, unknown> };
  };
  audio_play_response: { requestId: string; success: boolean; error?: string; duration?: number };
  rgb_led_control_response: { requestId: string; success: boolean; error?: string };
  head_position: { position: 'up' | 'down' };
  touch_event: { device_model: string; gesture_name: string; timestamp: string | number };
  button_press: { buttonId: string; pressType: 'short' | 'long' };
  glasses_battery_update: { level: number; charging: boolean; timeRemaining?: number };
  phone_battery_update: { level: number; charging: boolean; timeRemaining?: number };
  phone_notification: {
    notificationId: string;
    app: string;
    title: string;
    content: string;
    priority: 'low' | 'normal' | 'high';
  };
  phone_notification_dismissed: {
    notificationId: string;
    app: string;
    title: string;
    content: string;
    notificationKey: string;
  };
  vps_coordinates: {
    deviceModel: string;
    requestId: string;
    x: number;
    y: number;
    z: number;
    qx: number;
    qy: number;
    qz: number;
    qw: number;
    confidence: number;
  };
  /** ArrayBuffer in the SDK type; it cannot survive JSON, so anything goes here. */
  photo_taken: { photoData: unknown; mimeType: string; timestamp: string | number };
  open_dashboard: NoFields;
  dashboard_state: { isOpen: boolean };
  request_settings: { sessionId: string };
  settings_update_request: NoFields;
  core_status_update: { status: unknown; details?: Record<string, unknown> };
  livekit_init: { mode?: 'publish' | 'subscribe' };
  udp_register: { userIdHash: number };
  udp_unregister: { userIdHash: number };
  /** Sent by forked phones only (the phone subscribing for its local mini-apps); relayed, never read. */
  phone_subscription_update: Record<string, unknown>;
  /** Application-level keep-alive (not in the SDK enum). */
  ping: NoFields;
  pong: NoFields;
}

export type GlassesToCloudType = keyof GlassesToCloud;
export type GlassesToCloudMessage<K extends GlassesToCloudType = GlassesToCloudType> = {
  [T in K]: { type: T } & GlassesToCloud[T] & BaseFields;
}[K];

// ---------------------------------------------------------------------------
// Cloud → glasses (phone)
// ---------------------------------------------------------------------------

export interface CloudToGlasses {
  connection_ack: {
    sessionId: string;
    udpHost?: string;
    udpPort?: number;
    livekit?: { url: string; roomName: string; token: string };
    env?: string;
    udpEncryption?: { key: string; algorithm: string };
    /** Only the June 2025 cloud sent a session snapshot here. */
    userSession?: unknown;
  };
  connection_error: { code?: string; message: string; details?: Record<string, unknown> };
  auth_error: { message: string };
  display_event: {
    packageName?: string;
    /** Absent only from very old senders; treated as 'main'. */
    view?: ViewName;
    layout: Layout | OpenLayout;
    durationMs?: number;
    forceDisplay?: boolean;
  };
  app_state_change: { error?: string; userSession?: unknown };
  microphone_state_change: {
    isMicrophoneEnabled: boolean;
    requiredData?: MicRequiredData[];
    bypassVad?: boolean;
  };
  settings_update: { settings: Record<string, unknown> };
  photo_request: {
    requestId: string;
    appId: string;
    webhookUrl?: string;
    authToken?: string;
    size?: 'small' | 'medium' | 'large' | 'full';
    compress?: 'none' | 'medium' | 'heavy';
    saveToGallery?: boolean;
    flash?: boolean;
    sound?: boolean;
  };
  audio_play_request: {
    requestId: string;
    appId?: string;
    packageName?: string;
    audioUrl: string;
    volume?: number;
    stopOtherAudio?: boolean;
    trackId?: number;
  };
  audio_stop_request: { appId?: string; packageName?: string; trackId?: number };
  rgb_led_control: {
    /** Absent when the app sent none (its answer then goes nowhere). */
    requestId?: string;
    appId?: string;
    packageName?: string;
    action: 'on' | 'off';
    color?: 'red' | 'green' | 'blue' | 'orange' | 'white';
    ontime?: number;
    offtime?: number;
    count?: number;
  };
  show_wifi_setup: { reason?: string; appPackageName?: string };
  start_rtmp_stream: {
    rtmpUrl: string;
    appId: string;
    streamId?: string;
    video?: VideoConfig;
    audio?: AudioConfig;
    stream?: StreamConfig;
    flash?: boolean;
    sound?: boolean;
  };
  stop_rtmp_stream: { appId: string; streamId?: string };
  keep_rtmp_stream_alive: { streamId: string; ackId: string };
  /** Post-2.1.29 names of the three stream commands. */
  start_stream: Omit<CloudToGlasses['start_rtmp_stream'], 'rtmpUrl'> & {
    streamUrl?: string;
    rtmpUrl?: string;
  };
  stop_stream: CloudToGlasses['stop_rtmp_stream'];
  keep_stream_alive: CloudToGlasses['keep_rtmp_stream_alive'];
  set_location_tier: { tier: LocationTier };
  request_single_location: { accuracy: string; correlationId: string };
  dashboard_mode_change: { mode?: string };
  dashboard_always_on_change: { enabled?: boolean };
  websocket_error: { code?: string; message?: string };
  livekit_info: { url: string; roomName: string; token: string };
  udp_ping_ack: NoFields;
  ping: NoFields;
  pong: NoFields;
}

export type CloudToGlassesType = keyof CloudToGlasses;
export type CloudToGlassesMessage<K extends CloudToGlassesType = CloudToGlassesType> = {
  [T in K]: { type: T } & CloudToGlasses[T] & BaseFields;
}[K];

export type ConnectionAck = CloudToGlassesMessage<'connection_ack'>;
export type DisplayEvent = CloudToGlassesMessage<'display_event'>;
export type MicrophoneStateChange = CloudToGlassesMessage<'microphone_state_change'>;
export type PhotoRequest = CloudToGlassesMessage<'photo_request'>;
