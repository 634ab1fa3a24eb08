import 'reflect-metadata'; // class-transformer's @Type reads design metadata; loadConfig must work without Nest loaded
import { plainToInstance, Transform, Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  validateSync,
  type ValidationError,
} from 'class-validator';

const emptyToUndefined = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/**
 * Every environment variable the service reads, validated once at boot. Secrets are optional here only
 * because a missing one is generated and kept in DATA_DIR (see secrets.store.ts); a set one must be strong.
 */
export class EnvSchema {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT: number = 8002;

  @IsOptional()
  @IsString()
  HOST: string = '0.0.0.0';

  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  @MinLength(16, { message: 'AUGMENTOS_AUTH_JWT_SECRET must be at least 16 characters' })
  AUGMENTOS_AUTH_JWT_SECRET?: string;

  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  @MinLength(16, { message: 'ADMIN_API_KEY must be at least 16 characters' })
  ADMIN_API_KEY?: string;

  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^mongodb(\+srv)?:\/\//, { message: 'MONGO_URL must start with mongodb:// or mongodb+srv://' })
  MONGO_URL?: string;

  /** Where apps, users, running apps and simple storage live; unset: mongo when MONGO_URL is set, else embedded. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsIn(['embedded', 'mongo', 'redis'], { message: 'STORE must be embedded, mongo or redis' })
  STORE?: 'embedded' | 'mongo' | 'redis';

  /** The cluster's Redis (and the store's, with STORE=redis). Setting it turns on cluster mode. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsUrl(
    { require_tld: false, protocols: ['redis', 'rediss'], require_protocol: true },
    { message: 'REDIS_URL must be a redis:// or rediss:// URL' },
  )
  REDIS_URL?: string;

  @IsOptional()
  @IsString()
  @MinLength(1)
  DATA_DIR: string = './data';

  @IsOptional()
  @Transform(emptyToUndefined)
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  PUBLIC_URL?: string;

  @IsOptional()
  @IsIn(['fatal', 'error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'log' | 'debug' | 'verbose' = 'log';

  /** One JSON object per line, or human-readable lines; unset: json when NODE_ENV=production, else pretty. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsIn(['json', 'pretty'])
  LOG_FORMAT?: 'json' | 'pretty';

  /** A Bearer token that may read /metrics (the admin key always may); unset: only the admin key. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  @MinLength(16, { message: 'METRICS_TOKEN must be at least 16 characters' })
  METRICS_TOKEN?: string;

  /** How long a user session outlives its glasses socket. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  GLASSES_GRACE_MS: number = 60_000;

  /** How long an app socket may be gone before the app is resurrected. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  APP_GRACE_MS: number = 5_000;

  /** How long an app has to send tpa_connection_init after its webhook was accepted. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(100)
  APP_INIT_TIMEOUT_MS: number = 5_000;

  /** Per-attempt timeout of a webhook POST. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(100)
  WEBHOOK_TIMEOUT_MS: number = 10_000;

  /** Total time a start keeps retrying a webhook that answers 5xx or refuses connections. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  WEBHOOK_RETRY_WINDOW_MS: number = 40_000;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(10)
  WEBHOOK_RETRY_BASE_MS: number = 1_000;

  /** Protocol ping period on both gateways. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(100)
  HEARTBEAT_INTERVAL_MS: number = 10_000;

  /** Largest JSON message either gateway accepts; larger ones get an error and are dropped. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1024)
  MAX_MESSAGE_BYTES: number = 1_048_576;

  /** Frames above this are refused by the socket layer itself (close 1009). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1024)
  MAX_FRAME_BYTES: number = 16 * 1_048_576;

  /** Live user sessions; a glasses connection that would open one more is refused at the upgrade (503). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  MAX_SESSIONS: number = 10_000;

  /** Apps one user may have running or starting at once (the system dashboard not counted); a start beyond fails at LIMIT. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  MAX_APPS_PER_USER: number = 16;

  /** Text messages one glasses socket may send per second (binary audio is not counted); the excess gets RATE_LIMITED and is dropped. 0 disables. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  GLASSES_SOCKET_MESSAGES_PER_SECOND: number = 200;

  /** Messages one app socket may send per second; the excess gets RATE_LIMITED and is dropped. 0 disables. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  APP_SOCKET_MESSAGES_PER_SECOND: number = 100;

  /** Ignore an app's empty subscription list for this long after it (re)connects. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  EMPTY_SUBSCRIPTION_GRACE_MS: number = 8_000;

  /** Ordered cloud transcription providers, e.g. `soniox,vosk`; default: every configured one. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^(soniox|vosk)(,(soniox|vosk))*$/, { message: 'TRANSCRIPTION_PROVIDERS is a comma list of soniox, vosk' })
  TRANSCRIPTION_PROVIDERS?: string;

  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  @MinLength(8)
  SONIOX_API_KEY?: string;

  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['ws', 'wss'], require_protocol: true })
  SONIOX_URL: string = 'wss://stt-rt.soniox.com/transcribe-websocket';

  @IsOptional()
  @IsString()
  @MinLength(1)
  SONIOX_MODEL: string = 'stt-rt-v3';

  /** `en-US=ws://host:2700,de-DE=ws://host:2701` */
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^[a-zA-Z-]+=wss?:\/\/[^,\s]+(,[a-zA-Z-]+=wss?:\/\/[^,\s]+)*$/, {
    message: 'VOSK_URLS is a comma list of <locale>=ws://host:port',
  })
  VOSK_URLS?: string;

  @IsOptional()
  @Transform(emptyToUndefined)
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  LIBRETRANSLATE_URL?: string;

  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  LIBRETRANSLATE_API_KEY?: string;

  /** A provider stream without speech for this long (VAD silent, no bypass) is closed. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(100)
  TRANSCRIPTION_IDLE_CLOSE_MS: number = 20_000;

  /** A stream that returns nothing while this much audio time flows is restarted. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(100)
  TRANSCRIPTION_STALL_MS: number = 15_000;

  /** After this many consecutive failures a provider is skipped for PROVIDER_COOLDOWN_MS (for every session). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  PROVIDER_FAILURE_THRESHOLD: number = 3;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(100)
  PROVIDER_COOLDOWN_MS: number = 60_000;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(10)
  STREAM_RESTART_BASE_MS: number = 1_000;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(10)
  STREAM_RESTART_MAX_MS: number = 30_000;

  /** A photo request not answered by then is failed to the app (the SDK itself gives up at 30 s). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(100)
  PHOTO_TIMEOUT_MS: number = 25_000;

  /** Bytes of an app's output audio stream kept for the phone's player (oldest dropped past it); also a slow player's backlog limit. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(16_384)
  @Max(64 * 1024 * 1024)
  AUDIO_STREAM_BUFFER_BYTES: number = 1024 * 1024;

  /** An app output audio stream that receives no frame for this long is ended (the app or its socket went away). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(100)
  AUDIO_STREAM_IDLE_MS: number = 60_000;

  /** How long an admin tool call waits for the app's `/tool` answer. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(100)
  TOOL_CALL_TIMEOUT_MS: number = 20_000;

  /** Managed streaming through nginx-rtmp: where the glasses publish (`rtmp://host:1935/live`). */
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^rtmps?:\/\/[^\s]+$/, { message: 'MANAGED_RTMP_INGEST_URL must be an rtmp:// or rtmps:// URL' })
  MANAGED_RTMP_INGEST_URL?: string;

  /** Where players fetch `<key>.m3u8` (nginx-rtmp `hls_path` served over HTTP). */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  MANAGED_HLS_BASE_URL?: string;

  /** Where players fetch `<key>.mpd`. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  MANAGED_DASH_BASE_URL?: string;

  /**
   * Secret in the URL of nginx-rtmp's on_publish / on_publish_done callbacks, so only our ingest can call them.
   * Unset while managed streaming is configured: generated once into DATA_DIR/ingest-callback-secret.
   */
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^[A-Za-z0-9_-]{32,256}$/, {
    message: 'INGEST_CALLBACK_SECRET must be 32 to 256 characters of A-Z, a-z, 0-9, _ or -',
  })
  INGEST_CALLBACK_SECRET?: string;

  /** RTMP keep-alive period, ACK deadline and misses before a stream times out. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(50)
  STREAM_KEEPALIVE_MS: number = 15_000;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(50)
  STREAM_ACK_TIMEOUT_MS: number = 10_000;

  /** App-to-app messages one app socket may send per second; the excess gets RATE_LIMITED. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  APP_MESSAGES_PER_SECOND: number = 20;

  /** App-to-app rooms one user may be a member of in one package; a join beyond gets RATE_LIMITED. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  MAX_APP_ROOMS_PER_USER: number = 20;

  /** Users one package may keep simple storage for (each up to 1 MB); a new user's first write beyond gets 413. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  SIMPLE_STORAGE_MAX_USERS_PER_PACKAGE: number = 10_000;

  /**
   * Seconds of recent audio kept per streaming session (readable through the admin API); 0 disables.
   * Off by default: the ring costs 32 KB of memory per second per streaming user and a copy of every
   * frame, a quarter of the audio relay's CPU in the benchmark, for a diagnostic most clouds never read.
   */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(60)
  RECENT_AUDIO_SECONDS: number = 0;

  @IsOptional()
  @IsString()
  @Matches(/^[a-zA-Z0-9._-]+$/)
  SYSTEM_DASHBOARD_PACKAGE_NAME: string = 'system.augmentos.dashboard';

  /** The oldest MentraOS phone app version this cloud serves (`GET /api/client/min-version`); older apps ask for an update. */
  @IsOptional()
  @Matches(/^\d{1,4}\.\d{1,4}\.\d{1,4}$/, { message: 'CLIENT_MIN_VERSION must look like 2.1.16' })
  CLIENT_MIN_VERSION: string = '0.0.0';

  /** The phone app version this cloud recommends; older apps suggest an update. */
  @IsOptional()
  @Matches(/^\d{1,4}\.\d{1,4}\.\d{1,4}$/, { message: 'CLIENT_RECOMMENDED_VERSION must look like 2.1.16' })
  CLIENT_RECOMMENDED_VERSION: string = '0.0.0';

  /** On SIGTERM: sockets get close 1012 (reconnect), state is flushed, and the process exits within this time. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(60_000)
  SHUTDOWN_DRAIN_MS: number = 10_000;

  /** Failed admin authentications one client IP may make per minute; past that every admin call from it gets 429 for a minute. 0 disables. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  ADMIN_AUTH_FAILURES_PER_MINUTE: number = 10;

  /** PostHog project API key: session-ended events also go to PostHog when set. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  @MinLength(8)
  POSTHOG_API_KEY?: string;

  /** PostHog's ingestion host (its capture API), e.g. https://eu.i.posthog.com or a self-hosted instance. */
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  POSTHOG_HOST: string = 'https://us.i.posthog.com';

  /**
   * How the phone's `POST /auth/exchange-token` checks the identity provider's token: `jwt` verifies it with
   * SUPABASE_JWT_SECRET and/or PHONE_AUTH_JWKS_URL; `dev` signs in any email unverified (refused in production).
   */
  @IsOptional()
  @IsIn(['jwt', 'dev'])
  PHONE_AUTH: 'jwt' | 'dev' = 'jwt';

  /** HS256 secret of the identity provider's tokens (upstream's variable; Supabase's "JWT secret"). */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  @MinLength(32, { message: 'SUPABASE_JWT_SECRET must be at least 32 characters' })
  SUPABASE_JWT_SECRET?: string;

  /** JWKS of a provider that signs with asymmetric keys (e.g. https://<ref>.supabase.co/auth/v1/.well-known/jwks.json). */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsUrl(
    { require_tld: false, protocols: ['http', 'https'], require_protocol: true },
    { message: 'PHONE_AUTH_JWKS_URL must be an http(s) URL' },
  )
  PHONE_AUTH_JWKS_URL?: string;

  /** When set, the provider token's `iss` must equal it. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  @MaxLength(512)
  PHONE_AUTH_ISSUER?: string;

  /** When set, the provider token's `aud` must contain it (Supabase: `authenticated`). */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  @MaxLength(512)
  PHONE_AUTH_AUDIENCE?: string;

  /**
   * Lifetime of the core tokens this cloud mints (admin API, phone sign-in). Long, because the phone app gets its
   * token at sign-in and reuses it; revoking (POST /api/admin/users/:userId/token/revoke) is the short way out.
   */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(60)
  @Max(31_536_000)
  CORE_TOKEN_TTL_SECONDS: number = 2_592_000;

  /** Lifetime of the /glasses-ws-only core tokens a simulator link hands out (each connect asks for a new one). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(10)
  @Max(3600)
  SIMULATOR_TOKEN_TTL_SECONDS: number = 300;

  /**
   * Which proxies in front of the service to believe about the client address (X-Forwarded-For), for the
   * per-address limits of HTTP requests and socket upgrades alike: unset or `false` (none), a hop count, or a
   * comma list of proxy addresses/subnets (`loopback`, `linklocal`, `uniquelocal` are names for those ranges).
   */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  TRUST_PROXY?: string;

  /** Largest frame an app socket may send before its tpa_connection_init succeeded (an init is ~1.5 KB at most). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(2048)
  @Max(1_048_576)
  APP_WS_INIT_MAX_BYTES: number = 4096;

  /** An app socket that has sent no tpa_connection_init this long after it opened is closed (1008). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(60_000)
  APP_WS_INIT_DEADLINE_MS: number = 5_000;

  /** App sockets one client address may hold open before their init succeeded; more get 429 at the upgrade. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  APP_WS_PENDING_PER_ADDRESS: number = 256;

  /**
   * Webhook starts of one app in flight at once in this process (the rest wait their turn, the wait not counted
   * against APP_INIT_TIMEOUT_MS). Unset: 64, or half of APP_WS_PENDING_PER_ADDRESS when that is lower.
   */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  APP_STARTS_PER_APP?: number;

  /** Retries, with backoff, of restoring a running app after a transient failure (init timeout, webhook 5xx). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(20)
  APP_RESTORE_RETRIES: number = 4;

  /** Largest frame (text or binary audio) a glasses socket may send; larger ones close it (1009). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(4096)
  GLASSES_MAX_FRAME_BYTES: number = 262_144;

  /** Binary audio frames one glasses socket may send per second; the excess is dropped and counted. 0 disables. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  GLASSES_AUDIO_FRAMES_PER_SECOND: number = 250;

  /** Distinct transcription languages and translation pairs (each may be a paid provider stream) per session. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  MAX_LANGUAGE_STREAMS_PER_SESSION: number = 4;

  /** Unused webview temporary tokens one user may hold at once. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  MAX_WEBVIEW_TEMP_TOKENS_PER_USER: number = 20;

  /** Deepest nesting of objects and arrays a JSON request body may have; deeper bodies get 400 BODY_TOO_DEEP. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(4)
  @Max(512)
  MAX_JSON_BODY_DEPTH: number = 32;

  /** Test knob (fault suite): every store call is delayed this long. Never set it in production. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10_000)
  STORE_DELAY_MS: number = 0;

  /** Cluster mode (with REDIS_URL): how long a user's lease lives without renewal; a dead process's users wait at most this long. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1_000)
  @Max(300_000)
  LEASE_TTL_MS: number = 10_000;

  /** Cluster mode: period of the one batched renewal of every lease this process holds (under half of LEASE_TTL_MS). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(100)
  LEASE_RENEW_MS: number = 3_000;

  /** Cluster mode: period of this process's presence heartbeat; it counts as gone after three missed ones. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(60_000)
  NODE_HEARTBEAT_MS: number = 2_000;

  /** Cluster mode: how long a call routed to another process (e.g. an admin call to a user's owner) may take. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(120_000)
  CLUSTER_REQUEST_TIMEOUT_MS: number = 5_000;

  /** Cluster mode: this process's id in the node list and its leases; default `<hostname>-<pid>-<random>`. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^[A-Za-z0-9._:-]{1,100}$/, { message: 'CLUSTER_NODE_ID is 1-100 of A-Z a-z 0-9 . _ : -' })
  CLUSTER_NODE_ID?: string;

  /** Cluster mode: the address this process answers on, shown in the node list; default `http://<hostname>:<PORT>`. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  CLUSTER_NODE_ADDRESS?: string;
}

export const ENV_KEYS = [
  'PORT',
  'HOST',
  'AUGMENTOS_AUTH_JWT_SECRET',
  'ADMIN_API_KEY',
  'MONGO_URL',
  'STORE',
  'REDIS_URL',
  'DATA_DIR',
  'PUBLIC_URL',
  'LOG_LEVEL',
  'LOG_FORMAT',
  'METRICS_TOKEN',
  'MAX_SESSIONS',
  'MAX_APPS_PER_USER',
  'GLASSES_SOCKET_MESSAGES_PER_SECOND',
  'APP_SOCKET_MESSAGES_PER_SECOND',
  'GLASSES_GRACE_MS',
  'APP_GRACE_MS',
  'APP_INIT_TIMEOUT_MS',
  'WEBHOOK_TIMEOUT_MS',
  'WEBHOOK_RETRY_WINDOW_MS',
  'WEBHOOK_RETRY_BASE_MS',
  'HEARTBEAT_INTERVAL_MS',
  'MAX_MESSAGE_BYTES',
  'MAX_FRAME_BYTES',
  'EMPTY_SUBSCRIPTION_GRACE_MS',
  'RECENT_AUDIO_SECONDS',
  'SYSTEM_DASHBOARD_PACKAGE_NAME',
  'CLIENT_MIN_VERSION',
  'CLIENT_RECOMMENDED_VERSION',
  'TRANSCRIPTION_PROVIDERS',
  'SONIOX_API_KEY',
  'SONIOX_URL',
  'SONIOX_MODEL',
  'VOSK_URLS',
  'LIBRETRANSLATE_URL',
  'LIBRETRANSLATE_API_KEY',
  'TRANSCRIPTION_IDLE_CLOSE_MS',
  'TRANSCRIPTION_STALL_MS',
  'PROVIDER_FAILURE_THRESHOLD',
  'PROVIDER_COOLDOWN_MS',
  'STREAM_RESTART_BASE_MS',
  'STREAM_RESTART_MAX_MS',
  'PHOTO_TIMEOUT_MS',
  'AUDIO_STREAM_BUFFER_BYTES',
  'AUDIO_STREAM_IDLE_MS',
  'TOOL_CALL_TIMEOUT_MS',
  'MANAGED_RTMP_INGEST_URL',
  'MANAGED_HLS_BASE_URL',
  'MANAGED_DASH_BASE_URL',
  'STREAM_KEEPALIVE_MS',
  'STREAM_ACK_TIMEOUT_MS',
  'APP_MESSAGES_PER_SECOND',
  'MAX_APP_ROOMS_PER_USER',
  'SIMPLE_STORAGE_MAX_USERS_PER_PACKAGE',
  'INGEST_CALLBACK_SECRET',
  'SHUTDOWN_DRAIN_MS',
  'ADMIN_AUTH_FAILURES_PER_MINUTE',
  'CORE_TOKEN_TTL_SECONDS',
  'SIMULATOR_TOKEN_TTL_SECONDS',
  'TRUST_PROXY',
  'APP_WS_INIT_MAX_BYTES',
  'APP_WS_INIT_DEADLINE_MS',
  'APP_WS_PENDING_PER_ADDRESS',
  'APP_STARTS_PER_APP',
  'APP_RESTORE_RETRIES',
  'GLASSES_MAX_FRAME_BYTES',
  'GLASSES_AUDIO_FRAMES_PER_SECOND',
  'MAX_LANGUAGE_STREAMS_PER_SESSION',
  'MAX_WEBVIEW_TEMP_TOKENS_PER_USER',
  'MAX_JSON_BODY_DEPTH',
  'STORE_DELAY_MS',
  'LEASE_TTL_MS',
  'LEASE_RENEW_MS',
  'NODE_HEARTBEAT_MS',
  'CLUSTER_REQUEST_TIMEOUT_MS',
  'CLUSTER_NODE_ID',
  'CLUSTER_NODE_ADDRESS',
  'POSTHOG_API_KEY',
  'POSTHOG_HOST',
  'PHONE_AUTH',
  'SUPABASE_JWT_SECRET',
  'PHONE_AUTH_JWKS_URL',
  'PHONE_AUTH_ISSUER',
  'PHONE_AUTH_AUDIENCE',
] as const satisfies readonly (keyof EnvSchema)[];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

function flatten(errors: ValidationError[]): string[] {
  return errors.flatMap((e) =>
    Object.values(e.constraints ?? {}).map((m) => (m.startsWith(e.property) ? m : `${e.property}: ${m}`)),
  );
}

/** Validates the raw environment; throws ConfigError listing every problem at once. */
export function parseEnv(env: Record<string, string | undefined>): EnvSchema {
  // An empty or blank variable (`PORT=` in a .env file or compose) means unset, not 0 or "".
  const known = Object.fromEntries(
    ENV_KEYS.filter((k) => env[k] !== undefined && env[k]!.trim() !== '').map((k) => [k, env[k]]),
  );
  const parsed = plainToInstance(EnvSchema, known, { exposeDefaultValues: true });
  const errors = validateSync(parsed, { whitelist: true, forbidUnknownValues: true });
  if (errors.length > 0) throw new ConfigError(flatten(errors));
  return parsed;
}
