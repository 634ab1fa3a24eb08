import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { MetricsService, type Gateway } from './metrics.service.js';
import { newId, runWithContext, type RequestContext } from './request-context.js';
import type { Cell } from './tally.js';

type Listener = (data: Buffer, isBinary: boolean) => void;

/**
 * A glasses socket whose audio arrives at more than this many times its per-second limit within one second is
 * closed (1008): well past what any backlog after a network stall explains. Below it the excess is only dropped.
 */
export const AUDIO_FLOOD_FACTOR = 10;

/** The per-second limit of a glasses socket's binary audio frames, and what to do with a flood. */
export interface AudioLimit<P = unknown> {
  perSecond: number;
  onFlood: (message: string, peer: P) => void;
}

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
  4001: 'token_revoked',
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

/** Admits everything and keeps no state, so every socket without an audio limit shares this one. */
const UNLIMITED = new WindowLimiter(0);

/**
 * One WebSocket connection as the operators see it: an id that every log line of its messages carries,
 * the open-socket gauge, the per-socket message rate limit, and exactly one close line with code and cause.
 */
export class TrackedSocket<P = unknown> {
  readonly id: string;
  readonly context: RequestContext;
  private readonly openedAt = Date.now();
  private readonly limiter: WindowLimiter;
  private readonly messages: Cell;
  private readonly limited: Cell;
  private received = 0;
  private droppedTotal = 0;
  private readonly audioLimiter: WindowLimiter;
  private readonly audioFloodAt: number;
  private readonly onFlood: ((message: string, peer: P) => void) | null;
  private audioDroppedTotal = 0;
  private flooded = false;
  private identity: Record<string, unknown>;
  private closed = false;
  /** An identified app socket's binary frames (SDK 3 output audio) pass unlimited, like glasses audio. */
  private binaryAdmitted = false;

  constructor(
    readonly gateway: Gateway,
    perSecond: number,
    private readonly metrics: MetricsService,
    private readonly logger: Logger,
    /**
     * Called with `peer` (the gateway's socket), so that a gateway passes one function for all its sockets
     * rather than a closure per socket.
     */
    private readonly onLimited: (message: string, peer: P) => void,
    identity: Record<string, unknown>,
    audioLimit?: AudioLimit<P>,
    private readonly peer: P = undefined as P,
  ) {
    this.id = newId(gateway === 'glasses' ? 'g' : 'a');
    this.context = { reqId: this.id };
    this.limiter = new WindowLimiter(perSecond);
    this.audioLimiter = audioLimit && audioLimit.perSecond > 0 ? new WindowLimiter(audioLimit.perSecond) : UNLIMITED;
    this.onFlood = audioLimit?.onFlood ?? null;
    this.audioFloodAt = AUDIO_FLOOD_FACTOR * this.audioLimiter.perSecond;
    this.messages = metrics.socketMessages[gateway];
    this.limited = metrics.rateLimited[gateway];
    this.identity = identity;
    metrics.socketsOpen.inc({ gateway });
    metrics.socketsOpened.inc({ gateway });
  }

  /**
   * Wraps the socket's message listener: glasses audio (binary) is limited to its own per-second rate (the excess
   * is dropped and counted, a flood closes the socket), counted and passed straight on; an identified app's binary
   * (output audio, whose frames come as fast as the app's encoder writes) passes straight on; every other frame is
   * counted, rate limited (the first one dropped in a window gets `onLimited`, the rest of that window is dropped
   * quietly) and handled with this connection's id as the request context.
   */
  wrap(listener: Listener): Listener {
    const audio = this.gateway === 'glasses' ? this.metrics.audio : null;
    const audioDropped = this.metrics.audioDropped;
    return (data: Buffer, isBinary: boolean) => {
      if (isBinary && audio !== null) {
        if (!this.audioLimiter.admit(Date.now())) {
          audioDropped.n++;
          if (++this.audioDroppedTotal === 1 || this.audioLimiter.dropped > this.audioFloodAt) this.audioExcess();
          return;
        }
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

  /** The first audio frame a socket has dropped (one warning and one notice), or a flood (the socket is closed). */
  private audioExcess(): void {
    const perSecond = this.audioLimiter.perSecond;
    if (this.audioLimiter.dropped <= this.audioFloodAt) {
      this.onLimited(
        `Too many audio frames: this socket may send ${perSecond} per second; the excess is dropped`,
        this.peer,
      );
      this.logger.warn({
        msg: `glasses socket audio limited (${perSecond} frames/s)`,
        event: 'glasses.audio_limited',
        connId: this.id,
        perSecond,
        ...this.identity,
      });
      return;
    }
    if (this.flooded) return;
    this.flooded = true;
    this.logger.warn({
      msg: `glasses socket closed for an audio flood (over ${this.audioFloodAt} frames in a second)`,
      event: 'glasses.audio_flood',
      connId: this.id,
      perSecond,
      ...this.identity,
    });
    this.onFlood?.(`Audio frames far above ${perSecond} per second`, this.peer);
  }

  private reportLimited(): void {
    const perSecond = this.limiter.perSecond;
    this.onLimited(`Too many messages: this socket may send ${perSecond} per second; the excess is dropped`, this.peer);
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
      ...(this.audioDroppedTotal > 0 ? { audioDropped: this.audioDroppedTotal } : {}),
      ...this.identity,
    });
  }
}

/** An app socket's identity until its init (identify() replaces it, never changes it). */
const NO_IDENTITY: Record<string, unknown> = Object.freeze({});

/** Creates the TrackedSocket of each new connection (injected into both gateways). */
@Injectable()
export class SocketTracker {
  private readonly glassesLog = new Logger('GlassesSocket');
  private readonly appLog = new Logger('AppSocket');

  constructor(
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** `onLimited` and `onAudioFlood` get `peer`: one function of the gateway's serves all its sockets. */
  glasses<P>(
    userId: string,
    peer: P,
    onLimited: (message: string, peer: P) => void,
    onAudioFlood: (message: string, peer: P) => void,
  ): TrackedSocket<P> {
    return new TrackedSocket(
      'glasses',
      this.config.glassesSocketMessagesPerSecond,
      this.metrics,
      this.glassesLog,
      onLimited,
      { userId },
      { perSecond: this.config.glassesAudioFramesPerSecond, onFlood: onAudioFlood },
      peer,
    );
  }

  app<P>(peer: P, onLimited: (message: string, peer: P) => void): TrackedSocket<P> {
    return new TrackedSocket(
      'app',
      this.config.appSocketMessagesPerSecond,
      this.metrics,
      this.appLog,
      onLimited,
      NO_IDENTITY,
      undefined,
      peer,
    );
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
