import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { Cell, LabeledCells } from './tally.js';

export type Gateway = 'glasses' | 'app';

/** What the scrape-time gauges read; wired by MetricsSources (kept apart so this file imports no session code). */
export interface SessionView {
  connections: { values(): Iterable<{ state: string }> };
  transcription: { describe(): { streams: Array<{ provider: string | null; state: string }> } };
  translation: { describe(): { streams: Array<{ provider: string | null; state: string }> } };
}

export interface MetricsSourceFns {
  sessionCount(): number;
  sessions(): Iterable<SessionView>;
  providers(): Array<{ name: string; coolingOff: boolean; failures: number }>;
}

const APP_STATES = ['loading', 'running', 'grace', 'dormant', 'stopping'] as const;

/** Metric names, for the README, the e2e test and dashboards. */
export const METRIC = {
  sessions: 'mentra_sessions',
  sessionsRefused: 'mentra_sessions_refused_total',
  sockets: 'mentra_websocket_connections',
  socketsOpened: 'mentra_websocket_connections_total',
  disconnects: 'mentra_websocket_disconnects_total',
  socketMessages: 'mentra_websocket_messages_total',
  rateLimited: 'mentra_websocket_rate_limited_total',
  apps: 'mentra_apps',
  relayMessages: 'mentra_relay_messages_total',
  relayBytes: 'mentra_relay_bytes_total',
  audioFrames: 'mentra_audio_frames_total',
  audioBytes: 'mentra_audio_bytes_total',
  audioDropped: 'mentra_audio_frames_dropped_total',
  providerStreams: 'mentra_provider_streams_open',
  providerRestarts: 'mentra_provider_stream_restarts_total',
  providerCooling: 'mentra_provider_cooling_off',
  appStarts: 'mentra_app_starts_total',
  appStartDuration: 'mentra_app_start_duration_seconds',
  httpRequests: 'mentra_http_requests_total',
  sessionsEnded: 'mentra_sessions_ended_total',
  sessionDuration: 'mentra_session_duration_seconds',
  sessionPhase: 'mentra_session_phase_seconds',
} as const;

/**
 * The steps that bring a session and its apps up, timed one by one so a mass reconnect (a restart, a failover)
 * can be broken down: the glasses upgrade's authentication (token check and token-version read), the build of
 * the session, store reads and writes, webhook POSTs (with their retries) and app inits (tpa_connection_init
 * received → acknowledged or refused).
 */
export type SessionPhase = 'auth' | 'session_build' | 'store_read' | 'store_write' | 'webhook' | 'init';

/**
 * The service's Prometheus registry (one per app instance, so several clouds in one process never mix).
 * Hot paths (audio frames, relayed messages, socket messages) only bump plain numbers in cells; the cells
 * move into their counters when `/metrics` is scraped, and the gauges are computed then from the live
 * sessions, so nothing is updated per event that can be read at scrape time instead.
 */
@Injectable()
export class MetricsService implements OnModuleDestroy {
  readonly registry = new Registry();
  private sources: MetricsSourceFns | null = null;

  // ------------------------------------------------------------ hot-path cells (bumped in place)
  /** Glasses audio: `n` frames, `bytes` bytes. */
  readonly audio = new Cell();
  /** Glasses audio frames dropped by GLASSES_AUDIO_FRAMES_PER_SECOND. */
  readonly audioDropped = new Cell();
  readonly socketMessages: Record<Gateway, Cell> = { glasses: new Cell(), app: new Cell() };
  readonly rateLimited: Record<Gateway, Cell> = { glasses: new Cell(), app: new Cell() };
  /** Keyed by the JSON text of the stream type each relay already holds (`"button_press"`): no string is built per message. */
  readonly relay = new LabeledCells<string>(jsonLabel);

  // ------------------------------------------------------------ per-event metrics (not hot)
  readonly socketsOpen: Gauge<'gateway'>;
  readonly socketsOpened: Counter<'gateway'>;
  readonly disconnects: Counter<'gateway' | 'cause'>;
  readonly sessionsRefused: Counter<'reason'>;
  readonly appStarts: Counter<'outcome'>;
  readonly appStartDuration: Histogram<'result'>;
  readonly httpRequests: Counter<'status'>;
  readonly sessionsEnded: Counter<'reason'>;
  readonly sessionDuration: Histogram<'reason'>;
  readonly sessionPhase: Histogram<'phase'>;

  constructor() {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });

    new Gauge({
      name: METRIC.sessions,
      help: 'Live user sessions (glasses connected or within their grace period)',
      registers,
      collect: function (this: Gauge) {
        this.set(self.sources?.sessionCount() ?? 0);
      },
    });
    this.sessionsRefused = new Counter({
      name: METRIC.sessionsRefused,
      help: 'Glasses connections refused at the upgrade because MAX_SESSIONS sessions were live',
      labelNames: ['reason'],
      registers,
    });
    this.socketsOpen = new Gauge({
      name: METRIC.sockets,
      help: 'Open WebSocket connections by gateway',
      labelNames: ['gateway'],
      registers,
    });
    this.socketsOpened = new Counter({
      name: METRIC.socketsOpened,
      help: 'WebSocket connections accepted by gateway',
      labelNames: ['gateway'],
      registers,
    });
    this.disconnects = new Counter({
      name: METRIC.disconnects,
      help: 'WebSocket closes by gateway and cause (from the close code)',
      labelNames: ['gateway', 'cause'],
      registers,
    });
    for (const g of ['glasses', 'app'] as const) {
      this.socketsOpen.set({ gateway: g }, 0);
      this.socketsOpened.inc({ gateway: g }, 0);
    }

    new Counter({
      name: METRIC.socketMessages,
      help: 'Messages received on WebSocket connections (glasses: text messages, audio is counted apart; apps: every frame)',
      labelNames: ['gateway'],
      registers,
      collect: function (this: Counter<'gateway'>) {
        for (const g of ['glasses', 'app'] as const) this.inc({ gateway: g }, self.socketMessages[g].take());
      },
    });
    new Counter({
      name: METRIC.rateLimited,
      help: 'Messages dropped by the per-socket rate limit (GLASSES_/APP_SOCKET_MESSAGES_PER_SECOND)',
      labelNames: ['gateway'],
      registers,
      collect: function (this: Counter<'gateway'>) {
        for (const g of ['glasses', 'app'] as const) this.inc({ gateway: g }, self.rateLimited[g].take());
      },
    });
    new Counter({
      name: METRIC.audioFrames,
      help: 'Binary audio frames received from glasses',
      registers,
      collect: function (this: Counter) {
        this.inc(self.audio.take());
      },
    });
    new Counter({
      name: METRIC.audioBytes,
      help: 'Bytes of audio (PCM) received from glasses',
      registers,
      collect: function (this: Counter) {
        this.inc(self.audio.takeBytes());
      },
    });
    new Counter({
      name: METRIC.audioDropped,
      help: 'Binary audio frames from glasses dropped by the per-socket limit (GLASSES_AUDIO_FRAMES_PER_SECOND)',
      registers,
      collect: function (this: Counter) {
        this.inc(self.audioDropped.take());
      },
    });
    new Counter({
      name: METRIC.relayMessages,
      help: 'data_stream messages sent to apps, by stream type (one per receiving app)',
      labelNames: ['type'],
      registers,
      collect: function (this: Counter<'type'>) {
        self.relay.flushInto(this, 'type');
      },
    });
    new Counter({
      name: METRIC.relayBytes,
      help: 'Size of the data_stream messages sent to apps, by stream type (JSON text length: bytes for ASCII)',
      labelNames: ['type'],
      registers,
      collect: function (this: Counter<'type'>) {
        self.relay.flushInto(this, 'type', 'bytes');
      },
    });

    new Gauge({
      name: METRIC.apps,
      help: 'Apps of live sessions by state (running, loading, grace: socket gone briefly, dormant: waiting for the glasses, stopping)',
      labelNames: ['state'],
      registers,
      collect: function (this: Gauge<'state'>) {
        const counts = new Map<string, number>(APP_STATES.map((s) => [s, 0]));
        for (const s of self.sources?.sessions() ?? [])
          for (const rt of s.connections.values()) counts.set(rt.state, (counts.get(rt.state) ?? 0) + 1);
        for (const [state, n] of counts) this.set({ state }, n);
      },
    });
    new Gauge({
      name: METRIC.providerStreams,
      help: 'Open transcription/translation provider streams by provider',
      labelNames: ['provider'],
      registers,
      collect: function (this: Gauge<'provider'>) {
        const counts = new Map<string, number>((self.sources?.providers() ?? []).map((p) => [p.name, 0]));
        for (const s of self.sources?.sessions() ?? []) {
          for (const st of [...s.transcription.describe().streams, ...s.translation.describe().streams]) {
            if (st.state === 'open' && st.provider) counts.set(st.provider, (counts.get(st.provider) ?? 0) + 1);
          }
        }
        this.reset();
        for (const [provider, n] of counts) this.set({ provider }, n);
      },
    });
    new Counter({
      name: METRIC.providerRestarts,
      help: 'Provider stream failures (error, stall, closed by the provider); each one restarts the stream with backoff or fails it over',
      labelNames: ['provider'],
      registers,
      collect: function (this: Counter<'provider'>) {
        this.reset();
        for (const p of self.sources?.providers() ?? []) this.inc({ provider: p.name }, p.failures);
      },
    });
    new Gauge({
      name: METRIC.providerCooling,
      help: '1 while a provider is skipped after repeated failures (PROVIDER_COOLDOWN_MS)',
      labelNames: ['provider'],
      registers,
      collect: function (this: Gauge<'provider'>) {
        this.reset();
        for (const p of self.sources?.providers() ?? []) this.set({ provider: p.name }, p.coolingOff ? 1 : 0);
      },
    });

    this.appStarts = new Counter({
      name: METRIC.appStarts,
      help: 'App starts by outcome: ok, or the stage that failed (LOOKUP, HARDWARE_CHECK, LIMIT, WEBHOOK, INIT_REFUSED, TIMEOUT, CANCELLED, SESSION_ENDED)',
      labelNames: ['outcome'],
      registers,
    });
    this.appStarts.inc({ outcome: 'ok' }, 0);
    this.appStartDuration = new Histogram({
      name: METRIC.appStartDuration,
      help: 'Time from a start request to the app connected (ok) or the start failed',
      labelNames: ['result'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 45, 90],
      registers,
    });
    this.httpRequests = new Counter({
      name: METRIC.httpRequests,
      help: 'HTTP requests by status class',
      labelNames: ['status'],
      registers,
    });
    this.sessionsEnded = new Counter({
      name: METRIC.sessionsEnded,
      help: 'Ended user sessions by reason (glasses_disconnected: the grace period ran out, admin, phone_goodbye, shutdown)',
      labelNames: ['reason'],
      registers,
    });
    this.sessionDuration = new Histogram({
      name: METRIC.sessionDuration,
      help: 'Length of ended user sessions, from their start to their end',
      labelNames: ['reason'],
      buckets: [10, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400],
      registers,
    });
    this.sessionPhase = new Histogram({
      name: METRIC.sessionPhase,
      help: 'Duration of the steps that bring sessions and apps up: auth (glasses upgrade), session_build, store_read, store_write, webhook (POST with retries), init (app init received → answered)',
      labelNames: ['phase'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
  }

  /** Called once by MetricsSources with the live registries. */
  setSources(sources: MetricsSourceFns): void {
    this.sources = sources;
  }

  /** A finished app start (joiners of a single-flight start are not counted again). */
  recordAppStart(outcome: string, ms: number): void {
    this.appStarts.inc({ outcome });
    this.appStartDuration.observe({ result: outcome === 'ok' ? 'ok' : 'failed' }, ms / 1000);
  }

  /** One step of bringing a session or an app up (see SessionPhase); per session or store call, not per message. */
  recordPhase(phase: SessionPhase, ms: number): void {
    this.sessionPhase.observe({ phase }, ms / 1000);
  }

  /** A user session ended (SessionEvents' metric sink). */
  recordSessionEnd(reason: string, ms: number): void {
    this.sessionsEnded.inc({ reason });
    this.sessionDuration.observe({ reason }, ms / 1000);
  }

  /** One data_stream frame sent to an app; `streamTypeJson` is the JSON text of its stream type. */
  relayed(streamTypeJson: string, length: number): void {
    const cell = this.relay.get(streamTypeJson);
    cell.n++;
    cell.bytes += length;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  onModuleDestroy(): void {
    this.sources = null;
    this.registry.clear();
  }
}

/** `"button_press"` → `button_press`; anything that is not a JSON string is kept as it is. */
function jsonLabel(key: string): string {
  try {
    const v: unknown = JSON.parse(key);
    return typeof v === 'string' ? v.slice(0, 100) : key.slice(0, 100);
  } catch {
    return key.slice(0, 100);
  }
}
