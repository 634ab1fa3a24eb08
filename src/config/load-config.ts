import { resolve } from 'node:path';
import { ConfigError, parseEnv } from './app-config.js';
import type { EnvSchema } from './app-config.js';
import type { AppConfig, MediaConfig } from './config.types.js';
import { loadOrCreateSecrets } from './secrets.store.js';

/** Builds the AppConfig from an environment (process.env by default); throws ConfigError on bad input. */
export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const e = parseEnv(env);
  const dataDir = resolve(e.DATA_DIR);
  let jwtSecret = e.AUGMENTOS_AUTH_JWT_SECRET;
  let adminApiKey = e.ADMIN_API_KEY;
  let adminKeyFromDataDir = false;
  if (!jwtSecret || !adminApiKey) {
    const { secrets } = loadOrCreateSecrets(dataDir);
    jwtSecret ??= secrets.jwtSecret;
    if (!adminApiKey) {
      adminApiKey = secrets.adminApiKey;
      adminKeyFromDataDir = true;
    }
  }
  if (jwtSecret === adminApiKey) {
    throw new ConfigError(['ADMIN_API_KEY must differ from AUGMENTOS_AUTH_JWT_SECRET']);
  }
  const publicUrl = (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  const appWsUrl = `${publicUrl.replace(/^http/, 'ws')}/app-ws`;
  return {
    port: e.PORT,
    host: e.HOST,
    jwtSecret,
    adminApiKey,
    adminKeyFromDataDir,
    mongoUrl: e.MONGO_URL,
    dataDir,
    publicUrl,
    appWsUrl,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT ?? (env.NODE_ENV === 'production' ? 'json' : 'pretty'),
    metricsToken: e.METRICS_TOKEN,
    maxSessions: e.MAX_SESSIONS,
    maxAppsPerUser: e.MAX_APPS_PER_USER,
    glassesSocketMessagesPerSecond: e.GLASSES_SOCKET_MESSAGES_PER_SECOND,
    appSocketMessagesPerSecond: e.APP_SOCKET_MESSAGES_PER_SECOND,
    systemDashboardPackage: e.SYSTEM_DASHBOARD_PACKAGE_NAME,
    glassesGraceMs: e.GLASSES_GRACE_MS,
    appGraceMs: e.APP_GRACE_MS,
    appInitTimeoutMs: e.APP_INIT_TIMEOUT_MS,
    webhookTimeoutMs: e.WEBHOOK_TIMEOUT_MS,
    webhookRetryWindowMs: e.WEBHOOK_RETRY_WINDOW_MS,
    webhookRetryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
    heartbeatIntervalMs: e.HEARTBEAT_INTERVAL_MS,
    maxMessageBytes: e.MAX_MESSAGE_BYTES,
    maxFrameBytes: e.MAX_FRAME_BYTES,
    emptySubscriptionGraceMs: e.EMPTY_SUBSCRIPTION_GRACE_MS,
    recentAudioSeconds: e.RECENT_AUDIO_SECONDS,
    media: mediaConfig(e),
    photoTimeoutMs: e.PHOTO_TIMEOUT_MS,
    audioStreamBufferBytes: e.AUDIO_STREAM_BUFFER_BYTES,
    audioStreamIdleMs: e.AUDIO_STREAM_IDLE_MS,
    toolCallTimeoutMs: e.TOOL_CALL_TIMEOUT_MS,
    appMessagesPerSecond: e.APP_MESSAGES_PER_SECOND,
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
    adminAuthFailuresPerMinute: e.ADMIN_AUTH_FAILURES_PER_MINUTE,
    storeDelayMs: e.STORE_DELAY_MS,
    streaming: {
      keepAliveMs: e.STREAM_KEEPALIVE_MS,
      ackTimeoutMs: e.STREAM_ACK_TIMEOUT_MS,
      maxMissedAcks: 3,
      managed: managedConfig(e),
    },
  };
}

function mediaConfig(e: EnvSchema): MediaConfig {
  const voskUrls = new Map<string, string>();
  for (const pair of (e.VOSK_URLS ?? '').split(',').filter(Boolean)) {
    const i = pair.indexOf('=');
    voskUrls.set(pair.slice(0, i), pair.slice(i + 1));
  }
  const soniox = e.SONIOX_API_KEY ? { apiKey: e.SONIOX_API_KEY, url: e.SONIOX_URL, model: e.SONIOX_MODEL } : undefined;
  const configured: Array<'soniox' | 'vosk'> = [
    ...(soniox ? ['soniox' as const] : []),
    ...(voskUrls.size > 0 ? ['vosk' as const] : []),
  ];
  const wanted = e.TRANSCRIPTION_PROVIDERS
    ? (e.TRANSCRIPTION_PROVIDERS.split(',') as Array<'soniox' | 'vosk'>)
    : configured;
  for (const p of wanted) {
    if (!configured.includes(p))
      throw new Error(
        `Invalid configuration: TRANSCRIPTION_PROVIDERS names ${p}, which is not configured (${p === 'soniox' ? 'SONIOX_API_KEY' : 'VOSK_URLS'} is missing)`,
      );
  }
  return {
    transcriptionProviders: [...new Set(wanted)],
    soniox,
    voskUrls,
    libreTranslate: e.LIBRETRANSLATE_URL
      ? { url: e.LIBRETRANSLATE_URL.replace(/\/+$/, ''), apiKey: e.LIBRETRANSLATE_API_KEY }
      : undefined,
    idleCloseMs: e.TRANSCRIPTION_IDLE_CLOSE_MS,
    stallMs: e.TRANSCRIPTION_STALL_MS,
    failureThreshold: e.PROVIDER_FAILURE_THRESHOLD,
    cooldownMs: e.PROVIDER_COOLDOWN_MS,
    restartBaseMs: e.STREAM_RESTART_BASE_MS,
    restartMaxMs: e.STREAM_RESTART_MAX_MS,
  };
}

function managedConfig(e: EnvSchema): AppConfig['streaming']['managed'] {
  const parts = [e.MANAGED_RTMP_INGEST_URL, e.MANAGED_HLS_BASE_URL, e.MANAGED_DASH_BASE_URL];
  if (parts.every((p) => !p)) return undefined;
  if (parts.some((p) => !p)) {
    throw new Error(
      'Invalid configuration: managed streaming needs MANAGED_RTMP_INGEST_URL, MANAGED_HLS_BASE_URL and MANAGED_DASH_BASE_URL together',
    );
  }
  const trim = (u: string) => u.replace(/\/+$/, '');
  return {
    ingestUrl: trim(e.MANAGED_RTMP_INGEST_URL!),
    hlsBaseUrl: trim(e.MANAGED_HLS_BASE_URL!),
    dashBaseUrl: trim(e.MANAGED_DASH_BASE_URL!),
  };
}
