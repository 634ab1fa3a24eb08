import type { EnvSchema } from './app-config.js';

/** The one typed configuration object every module reads (injected with APP_CONFIG). */
export interface AppConfig {
  port: number;
  host: string;
  jwtSecret: string;
  adminApiKey: string;
  /** True when the admin key came from DATA_DIR rather than the environment (it is printed at boot). */
  adminKeyFromDataDir: boolean;
  mongoUrl?: string;
  dataDir: string;
  /** Base URL apps and phones reach this service at, without a trailing slash. */
  publicUrl: string;
  /** The WebSocket URL given to apps in session_request webhooks. */
  appWsUrl: string;
  logLevel: EnvSchema['LOG_LEVEL'];
  logFormat: 'json' | 'pretty';
  /** Bearer token accepted by /metrics besides the admin key. */
  metricsToken?: string;
  maxSessions: number;
  maxAppsPerUser: number;
  /** Per-socket message rate limits (0: none); glasses audio frames are not counted. */
  glassesSocketMessagesPerSecond: number;
  appSocketMessagesPerSecond: number;
  systemDashboardPackage: string;
  glassesGraceMs: number;
  appGraceMs: number;
  appInitTimeoutMs: number;
  webhookTimeoutMs: number;
  webhookRetryWindowMs: number;
  webhookRetryBaseMs: number;
  heartbeatIntervalMs: number;
  maxMessageBytes: number;
  maxFrameBytes: number;
  emptySubscriptionGraceMs: number;
  recentAudioSeconds: number;
  media: MediaConfig;
  photoTimeoutMs: number;
  /** Per app output audio stream: bytes kept for players, and a slow player's backlog limit. */
  audioStreamBufferBytes: number;
  audioStreamIdleMs: number;
  toolCallTimeoutMs: number;
  appMessagesPerSecond: number;
  /** Upper bound of a graceful shutdown (SIGTERM → exit). */
  shutdownDrainMs: number;
  /** Failed admin authentications per client IP per minute before 429; 0 disables. */
  adminAuthFailuresPerMinute: number;
  /** Test knob: artificial delay of every store call (0 in production). */
  storeDelayMs: number;
  streaming: {
    keepAliveMs: number;
    ackTimeoutMs: number;
    maxMissedAcks: number;
    /** Set when managed streaming is configured (nginx-rtmp). */
    managed?: { ingestUrl: string; hlsBaseUrl: string; dashBaseUrl: string };
  };
}

export interface MediaConfig {
  /** Ordered; empty means phone-side transcription only. */
  transcriptionProviders: Array<'soniox' | 'vosk'>;
  soniox?: { apiKey: string; url: string; model: string };
  /** locale (or two-letter language) → Vosk server URL */
  voskUrls: Map<string, string>;
  libreTranslate?: { url: string; apiKey?: string };
  idleCloseMs: number;
  stallMs: number;
  failureThreshold: number;
  cooldownMs: number;
  restartBaseMs: number;
  restartMaxMs: number;
}

export const APP_CONFIG = Symbol('APP_CONFIG');
