import { resolve } from 'node:path';
import { ConfigError, parseEnv } from './app-config.js';
import type { AppConfig } from './config.types.js';
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
  };
}
