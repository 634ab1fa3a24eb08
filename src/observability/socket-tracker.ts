import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { MetricsService, type Gateway } from './metrics.service.js';
import { newId, runWithContext, type RequestContext } from './request-context.js';
import type { Cell } from './tally.js';

type Listener = (data: Buffer, isBinary: boolean) => void;

/** What a close code says, for the close log line and the disconnect metric (a fixed set of labels). */
const CLOSE_CAUSES: Record<number, string> = {
  1000: 'normal',
  1001: 'going_away',
  1005: 'no_status',
  1006: 'connection_lost',
  1007: 'invalid_payload',
  1008: 'policy',
  1009: 'too_big',
  1011: 'server_error',
  1012: 'service_restart',
  1013: 'try_again_later',
  4000: 'replaced',
};

export function closeCause(code: number): string {
  return CLOSE_CAUSES[code] ?? (code >= 4000 && code < 5000 ? 'application' : 'other');
}

/**
 * A fixed one-second window per socket: the simplest limit that is exact enough for a socket, costs one
 * clock read and two integer operations per message and keeps no timer.
 */
export class WindowLimiter {
  private windowStart = 0;
  private count = 0;
  /** Messages dropped in the current window. */
  dropped = 0;

  constructor(readonly perSecond: number) {}

  /** True when the message may pass; 0 means no limit. */
  admit(now: number): boolean {
    if (this.perSecond <= 0) return true;
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.count = 0;
      this.dropped = 0;
    }
    if (++this.count <= this.perSecond) return true;
    this.dropped++;
    return false;
  }
}

/**
 * One WebSocket connection as the operators see it: an id that every log line of its messages carries,
 * the open-socket gauge, the per-socket message rate limit, and exactly one close line with code and cause.
 */
export class TrackedSocket {
  readonly id: string;
  readonly context: RequestContext;
  private readonly openedAt = Date.now();
  private readonly limiter: WindowLimiter;
  private readonly messages: Cell;
  private readonly limited: Cell;
  private received = 0;
  private droppedTotal = 0;
  private identity: Record<string, unknown>;
  private closed = false;
  /** An identified app socket's binary frames (SDK 3 output audio) pass unlimited, like glasses audio. */
  private binaryAdmitted = false;

  constructor(
    readonly gateway: Gateway,
    perSecond: number,
    private readonly metrics: MetricsService,
    private readonly logger: Logger,
    private readonly onLimited: (message: string) => void,
    identity: Record<string, unknown>,
  ) {
    this.id = newId(gateway === 'glasses' ? 'g' : 'a');
    this.context = { reqId: this.id };
    this.limiter = new WindowLimiter(perSecond);
    this.messages = metrics.socketMessages[gateway];
    this.limited = metrics.rateLimited[gateway];
    this.identity = identity;
    metrics.socketsOpen.inc({ gateway });
    metrics.socketsOpened.inc({ gateway });
  }

  /**
   * Wraps the socket's message listener: glasses audio (binary) passes straight through and is counted, and so
   * does an identified app's binary (output audio, whose frames come as fast as the app's encoder writes);
   * every other frame is counted, rate limited (the first one dropped in a window gets `onLimited`, the
   * rest of that window is dropped quietly) and handled with this connection's id as the request context.
   */
  wrap(listener: Listener): Listener {
    const audio = this.gateway === 'glasses' ? this.metrics.audio : null;
    return (data: Buffer, isBinary: boolean) => {
      if (isBinary && audio !== null) {
        audio.n++;
        audio.bytes += data.length;
        listener(data, isBinary);
        return;
      }
      if (isBinary && this.binaryAdmitted) {
        listener(data, isBinary);
        return;
      }
      this.messages.n++;
      this.received++;
      if (!this.limiter.admit(Date.now())) {
        this.limited.n++;
        this.droppedTotal++;
        if (this.limiter.dropped === 1) this.reportLimited();
        return;
      }
      runWithContext(this.context, listener, data, isBinary);
    };
  }

  private reportLimited(): void {
    const perSecond = this.limiter.perSecond;
    this.onLimited(`Too many messages: this socket may send ${perSecond} per second; the excess is dropped`);
    // One warning per socket; later windows only at debug (a flooding socket must not flood the log).
    const line = {
      msg: `${this.gateway} socket rate limited (${perSecond}/s)`,
      event: `${this.gateway}.rate_limited`,
      connId: this.id,
      perSecond,
      ...this.identity,
    };
    if (this.droppedTotal === 1) this.logger.warn(line);
    else this.logger.debug(line);
  }

  /** Adds who the socket speaks for once it is known (an app socket after its init). */
  identify(fields: Record<string, unknown>, message?: string): void {
    this.identity = { ...this.identity, ...fields };
    // Only after authentication: before it, binary frames stay counted and rate limited.
    if (this.gateway === 'app') this.binaryAdmitted = true;
    if (message)
      this.logger.log({ msg: message, event: `${this.gateway}.connected`, connId: this.id, ...this.identity });
  }

  opened(message: string, level: 'log' | 'debug' = 'log'): void {
    this.logger[level]({ msg: message, event: `${this.gateway}.open`, connId: this.id, ...this.identity });
  }

  /** The one close line of this connection. Idempotent. */
  close(code: number, reason: Buffer | string | undefined): void {
    if (this.closed) return;
    this.closed = true;
    const cause = closeCause(code);
    this.metrics.socketsOpen.dec({ gateway: this.gateway });
    this.metrics.disconnects.inc({ gateway: this.gateway, cause });
    const text = reason === undefined ? '' : reason.toString().slice(0, 123);
    this.logger.log({
      msg: `${this.gateway} socket closed: ${code} ${cause}${text ? ` (${text})` : ''}`,
      event: `${this.gateway}.close`,
      connId: this.id,
      code,
      cause,
      reason: text,
      durationMs: Date.now() - this.openedAt,
      messages: this.received,
      rateLimited: this.droppedTotal,
      ...this.identity,
    });
  }
}

/** Creates the TrackedSocket of each new connection (injected into both gateways). */
@Injectable()
export class SocketTracker {
  private readonly glassesLog = new Logger('GlassesSocket');
  private readonly appLog = new Logger('AppSocket');

  constructor(
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  glasses(userId: string, onLimited: (message: string) => void): TrackedSocket {
    return new TrackedSocket(
      'glasses',
      this.config.glassesSocketMessagesPerSecond,
      this.metrics,
      this.glassesLog,
      onLimited,
      { userId },
    );
  }

  app(onLimited: (message: string) => void): TrackedSocket {
    return new TrackedSocket('app', this.config.appSocketMessagesPerSecond, this.metrics, this.appLog, onLimited, {});
  }

  /** A glasses upgrade refused because MAX_SESSIONS sessions are live. */
  refused(userId: string): void {
    this.metrics.sessionsRefused.inc({ reason: 'max_sessions' });
    this.glassesLog.warn({
      msg: `refused a new session: MAX_SESSIONS (${this.config.maxSessions}) reached`,
      event: 'glasses.refused',
      userId,
      maxSessions: this.config.maxSessions,
    });
  }
}
