import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { ConfigError, parseEnv } from './app-config.js';
import type { EnvSchema } from './app-config.js';
import type { AppConfig, MediaConfig, PhoneAuthConfig, TrustProxy } from './config.types.js';
import { prepareDataDir } from './data-dir.js';
import { loadOrCreateIngestSecret, loadOrCreateSecrets } from './secrets.store.js';

/** Builds the AppConfig from an environment (process.env by default); throws ConfigError on bad input. */
export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const e = parseEnv(env);
  const phoneAuth = phoneAuthConfig(e, env.NODE_ENV);
  const store = storeConfig(e);
  // A renewal every half TTL or slower leaves one lost batch between a live owner and an expired lease.
  if (e.LEASE_RENEW_MS * 2 >= e.LEASE_TTL_MS) {
    throw new ConfigError([
      `LEASE_RENEW_MS (${e.LEASE_RENEW_MS}) must be under half of LEASE_TTL_MS (${e.LEASE_TTL_MS})`,
    ]);
  }
  // More starts in flight than one address may hold uninitialised app sockets would bring back the 429s it avoids.
  if (e.APP_STARTS_PER_APP !== undefined && e.APP_STARTS_PER_APP > e.APP_WS_PENDING_PER_ADDRESS) {
    throw new ConfigError([
      `APP_STARTS_PER_APP (${e.APP_STARTS_PER_APP}) must not exceed APP_WS_PENDING_PER_ADDRESS (${e.APP_WS_PENDING_PER_ADDRESS})`,
    ]);
  }
  const dataDir = resolve(e.DATA_DIR);
  // Always written (the webview signing key lives there even when both secrets come from the environment).
  prepareDataDir(dataDir);
  let jwtSecret = e.AUGMENTOS_AUTH_JWT_SECRET;
  let adminApiKey = e.ADMIN_API_KEY;
  let adminKeyFromDataDir = false;
  let adminKeyGenerated = false;
  if (!jwtSecret || !adminApiKey) {
    const { secrets, created } = loadOrCreateSecrets(dataDir);
    jwtSecret ??= secrets.jwtSecret;
    if (!adminApiKey) {
      adminApiKey = secrets.adminApiKey;
      adminKeyFromDataDir = true;
      adminKeyGenerated = created;
    }
  }
  if (jwtSecret === adminApiKey) {
    throw new ConfigError(['ADMIN_API_KEY must differ from AUGMENTOS_AUTH_JWT_SECRET']);
  }
  // The same secret on both sides would let a provider token open /glasses-ws as a core token, and the reverse.
  if (phoneAuth.hsSecret === jwtSecret) {
    throw new ConfigError(['SUPABASE_JWT_SECRET must differ from AUGMENTOS_AUTH_JWT_SECRET']);
  }
  const publicUrl = (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  const appWsUrl = `${publicUrl.replace(/^http/, 'ws')}/app-ws`;
  return {
    port: e.PORT,
    host: e.HOST,
    jwtSecret,
    adminApiKey,
    adminKeyFromDataDir,
    adminKeyGenerated,
    mongoUrl: e.MONGO_URL,
    ...store,
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
    clientVersions: { required: e.CLIENT_MIN_VERSION, recommended: e.CLIENT_RECOMMENDED_VERSION },
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
    maxAppRoomsPerUser: e.MAX_APP_ROOMS_PER_USER,
    simpleStorageMaxUsersPerPackage: e.SIMPLE_STORAGE_MAX_USERS_PER_PACKAGE,
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
    adminAuthFailuresPerMinute: e.ADMIN_AUTH_FAILURES_PER_MINUTE,
    coreTokenTtlSeconds: e.CORE_TOKEN_TTL_SECONDS,
    simulatorTokenTtlSeconds: e.SIMULATOR_TOKEN_TTL_SECONDS,
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    appWsInitMaxBytes: e.APP_WS_INIT_MAX_BYTES,
    appWsInitDeadlineMs: e.APP_WS_INIT_DEADLINE_MS,
    appWsPendingPerAddress: e.APP_WS_PENDING_PER_ADDRESS,
    appStartsPerApp: e.APP_STARTS_PER_APP ?? Math.min(64, Math.max(1, Math.floor(e.APP_WS_PENDING_PER_ADDRESS / 2))),
    appRestoreRetries: e.APP_RESTORE_RETRIES,
    glassesMaxFrameBytes: Math.min(e.GLASSES_MAX_FRAME_BYTES, e.MAX_FRAME_BYTES),
    glassesAudioFramesPerSecond: e.GLASSES_AUDIO_FRAMES_PER_SECOND,
    maxLanguageStreamsPerSession: e.MAX_LANGUAGE_STREAMS_PER_SESSION,
    maxWebviewTempTokensPerUser: e.MAX_WEBVIEW_TEMP_TOKENS_PER_USER,
    maxJsonBodyDepth: e.MAX_JSON_BODY_DEPTH,
    storeDelayMs: e.STORE_DELAY_MS,
    posthog: e.POSTHOG_API_KEY ? { apiKey: e.POSTHOG_API_KEY, host: e.POSTHOG_HOST.replace(/\/+$/, '') } : undefined,
    phoneAuth,
    clusterOptions: {
      leaseTtlMs: e.LEASE_TTL_MS,
      leaseRenewMs: e.LEASE_RENEW_MS,
      nodeHeartbeatMs: e.NODE_HEARTBEAT_MS,
      requestTimeoutMs: e.CLUSTER_REQUEST_TIMEOUT_MS,
      nodeId: e.CLUSTER_NODE_ID,
      nodeAddress: e.CLUSTER_NODE_ADDRESS,
    },
    streaming: {
      keepAliveMs: e.STREAM_KEEPALIVE_MS,
      ackTimeoutMs: e.STREAM_ACK_TIMEOUT_MS,
      maxMissedAcks: 3,
      managed: managedConfig(e, dataDir),
    },
  };
}

const TRUST_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * `TRUST_PROXY`: unset/`false`, a hop count, or proxy addresses. `true` (believe every X-Forwarded-For) is refused:
 * any client could then pick the address the per-address limits count it under.
 */
export function parseTrustProxy(value: string | undefined): TrustProxy {
  const v = value?.trim();
  if (v === undefined || v === '' || v === 'false') return false;
  if (/^\d{1,2}$/.test(v)) return Number(v) === 0 ? false : Number(v);
  if (v === 'true')
    throw new ConfigError([
      'TRUST_PROXY=true would let any client choose its address; give the number of proxies (e.g. 1) or their addresses',
    ]);
  const entries = v.split(',').map((x) => x.trim());
  const bad = entries.filter((x) => !TRUST_NAMES.has(x) && !isAddressOrSubnet(x));
  if (bad.length > 0)
    throw new ConfigError([
      `TRUST_PROXY: ${bad.map((b) => JSON.stringify(b)).join(', ')} is not false, a hop count, an address, a subnet (a.b.c.d/n) or loopback/linklocal/uniquelocal`,
    ]);
  return entries;
}

function isAddressOrSubnet(entry: string): boolean {
  const slash = entry.indexOf('/');
  const addr = slash < 0 ? entry : entry.slice(0, slash);
  const kind = isIP(addr);
  if (kind === 0) return false;
  if (slash < 0) return true;
  const mask = entry.slice(slash + 1);
  if (/^\d{1,3}$/.test(mask)) return Number(mask) <= (kind === 4 ? 32 : 128);
  return kind === 4 && isIP(mask) === 4;
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

function managedConfig(e: EnvSchema, dataDir: string): AppConfig['streaming']['managed'] {
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
    callbackSecret: e.INGEST_CALLBACK_SECRET ?? loadOrCreateIngestSecret(dataDir),
  };
}

/**
 * The store and cluster mode, checked before DATA_DIR is touched. REDIS_URL means this process is one of a
 * cluster (of one or more) sharing that Redis; then every process must read and write the same store and
 * accept the same tokens, so the embedded store (files of this process alone) and secrets generated into
 * this process's DATA_DIR are refused.
 */
function storeConfig(e: EnvSchema): Pick<AppConfig, 'store' | 'redisUrl' | 'cluster'> {
  const store = e.STORE ?? (e.MONGO_URL ? 'mongo' : 'embedded');
  const cluster = e.REDIS_URL !== undefined;
  const problems: string[] = [];
  if (store === 'mongo' && !e.MONGO_URL) problems.push('STORE=mongo needs MONGO_URL');
  if (store === 'redis' && !e.REDIS_URL) problems.push('STORE=redis needs REDIS_URL');
  if (cluster && store === 'embedded') {
    problems.push(
      'REDIS_URL is set (cluster mode) but the store is embedded: each process would keep its own apps and users. Set STORE=redis (the store in this Redis, which must run with appendonly yes) or MONGO_URL',
    );
  }
  if (cluster) {
    for (const name of ['AUGMENTOS_AUTH_JWT_SECRET', 'ADMIN_API_KEY'] as const) {
      if (!e[name])
        problems.push(
          `REDIS_URL is set (cluster mode) but ${name} is not: every process must be given the same one in the environment (a generated one would differ per process)`,
        );
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { store, redisUrl: e.REDIS_URL, cluster };
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Checked before any secret is generated: a refused configuration leaves DATA_DIR as it was. */
function phoneAuthConfig(e: EnvSchema, nodeEnv: string | undefined): PhoneAuthConfig {
  const problems: string[] = [];
  if (e.PHONE_AUTH === 'dev' && nodeEnv === 'production') {
    problems.push('PHONE_AUTH=dev signs in any email without checking it and is refused when NODE_ENV=production');
  }
  // Keys fetched over plain HTTP could be swapped on the way, and with them every sign-in: only on this machine.
  if (e.PHONE_AUTH_JWKS_URL) {
    const url = new URL(e.PHONE_AUTH_JWKS_URL);
    if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) {
      problems.push('PHONE_AUTH_JWKS_URL must be https:// (plain http only for localhost / 127.0.0.1)');
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    mode: e.PHONE_AUTH,
    hsSecret: e.SUPABASE_JWT_SECRET,
    jwksUrl: e.PHONE_AUTH_JWKS_URL,
    issuer: e.PHONE_AUTH_ISSUER,
    audience: e.PHONE_AUTH_AUDIENCE,
  };
}
