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

/** TrackedSocket flags, one small integer rather than three fields per socket. */
const CLOSED = 1;
const FLOODED = 2;
/** An identified app socket's binary frames (SDK 3 output audio) pass unlimited, like glasses audio. */
const BINARY_ADMITTED = 4;

/**
 * What every socket of one gateway shares: its limits, metrics, logger and callbacks. SocketTracker builds one
 * per gateway, so a socket holds one reference to it instead of a copy of each.
 */
export class SocketKind<P = unknown> {
  readonly messages: Cell;
  readonly limited: Cell;
  /** Glasses audio frames and bytes; null on app sockets, whose binary frames are not glasses audio. */
  readonly audio: Cell | null;
  readonly audioDropped: Cell;
  /** The per-second limit of binary audio frames (glasses only); 0 means no limit. */
  readonly audioPerSecond: number;
  readonly audioFloodAt: number;
  readonly onFlood: ((message: string, peer: P) => void) | null;

  constructor(
    readonly gateway: Gateway,
    readonly perSecond: number,
    readonly metrics: MetricsService,
    readonly logger: Logger,
    /** Called with the socket's `peer`, so that one function of the gateway serves all its sockets. */
    readonly onLimited: (message: string, peer: P) => void,
    audioLimit?: AudioLimit<P>,
  ) {
    this.messages = metrics.socketMessages[gateway];
    this.limited = metrics.rateLimited[gateway];
    this.audio = gateway === 'glasses' ? metrics.audio : null;
    this.audioDropped = metrics.audioDropped;
    this.audioPerSecond = audioLimit && audioLimit.perSecond > 0 ? audioLimit.perSecond : 0;
    this.audioFloodAt = AUDIO_FLOOD_FACTOR * this.audioPerSecond;
    this.onFlood = audioLimit?.onFlood ?? null;
  }
}

/**
 * One WebSocket connection as the operators see it: an id that every log line of its messages carries,
 * the open-socket gauge, the per-socket message rate limit, and exactly one close line with code and cause.
 * It is its own request context (`reqId`), and its two fixed one-second windows (messages, audio; one clock
 * read and two integer operations a message, no timer) are its own fields: thousands of idle sessions each
 * hold one, so every object and field counts.
 */
export class TrackedSocket<P = unknown> implements RequestContext {
  readonly reqId: string;
  private readonly openedAt = Date.now();
  private received = 0;
  private droppedTotal = 0;
  private audioDroppedTotal = 0;
  private flags = 0;
  private windowStart = 0;
  private windowCount = 0;
  private windowDropped = 0;
  private audioWindowStart = 0;
  private audioWindowCount = 0;
  private audioWindowDropped = 0;
  private identity: Record<string, unknown>;

  constructor(
    private readonly kind: SocketKind<P>,
    identity: Record<string, unknown>,
    private readonly peer: P = undefined as P,
  ) {
    this.reqId = newId(kind.gateway === 'glasses' ? 'g' : 'a');
    this.identity = identity;
    kind.metrics.socketsOpen.inc({ gateway: kind.gateway });
    kind.metrics.socketsOpened.inc({ gateway: kind.gateway });
  }

  get id(): string {
    return this.reqId;
  }

  get gateway(): Gateway {
    return this.kind.gateway;
  }

  /** The request context of this connection's messages (the socket itself). */
  get context(): RequestContext {
    return this;
  }

  /** True when a message may pass this socket's message window; 0 per second means no limit. */
  private admit(now: number): boolean {
    const perSecond = this.kind.perSecond;
    if (perSecond <= 0) return true;
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.windowCount = 0;
      this.windowDropped = 0;
    }
    if (++this.windowCount <= perSecond) return true;
    this.windowDropped++;
    return false;
  }

  /** The same for this socket's audio window. */
  private admitAudio(now: number): boolean {
    const perSecond = this.kind.audioPerSecond;
    if (perSecond <= 0) return true;
    if (now - this.audioWindowStart >= 1000) {
      this.audioWindowStart = now;
      this.audioWindowCount = 0;
      this.audioWindowDropped = 0;
    }
    if (++this.audioWindowCount <= perSecond) return true;
    this.audioWindowDropped++;
    return false;
  }

  /**
   * Wraps the socket's message listener: glasses audio (binary) is limited to its own per-second rate (the excess
   * is dropped and counted, a flood closes the socket), counted and passed straight on; an identified app's binary
   * (output audio, whose frames come as fast as the app's encoder writes) passes straight on; every other frame is
   * counted, rate limited (the first one dropped in a window gets `onLimited`, the rest of that window is dropped
   * quietly) and handled with this connection's id as the request context.
   */
  wrap(listener: Listener): Listener {
    const kind = this.kind;
    const audio = kind.audio;
    return (data: Buffer, isBinary: boolean) => {
      if (isBinary && audio !== null) {
        if (!this.admitAudio(Date.now())) {
          kind.audioDropped.n++;
          if (++this.audioDroppedTotal === 1 || this.audioWindowDropped > kind.audioFloodAt) this.audioExcess();
          return;
        }
        audio.n++;
        audio.bytes += data.length;
        listener(data, isBinary);
        return;
      }
      if (isBinary && (this.flags & BINARY_ADMITTED) !== 0) {
        listener(data, isBinary);
        return;
      }
      kind.messages.n++;
      this.received++;
      if (!this.admit(Date.now())) {
        kind.limited.n++;
        this.droppedTotal++;
        if (this.windowDropped === 1) this.reportLimited();
        return;
      }
      runWithContext(this, listener, data, isBinary);
    };
  }

  /** The first audio frame a socket has dropped (one warning and one notice), or a flood (the socket is closed). */
  private audioExcess(): void {
    const kind = this.kind;
    const perSecond = kind.audioPerSecond;
    if (this.audioWindowDropped <= kind.audioFloodAt) {
      kind.onLimited(
        `Too many audio frames: this socket may send ${perSecond} per second; the excess is dropped`,
        this.peer,
      );
      kind.logger.warn({
        msg: `glasses socket audio limited (${perSecond} frames/s)`,
        event: 'glasses.audio_limited',
        connId: this.reqId,
        perSecond,
        ...this.identity,
      });
      return;
    }
    if ((this.flags & FLOODED) !== 0) return;
    this.flags |= FLOODED;
    kind.logger.warn({
      msg: `glasses socket closed for an audio flood (over ${kind.audioFloodAt} frames in a second)`,
      event: 'glasses.audio_flood',
      connId: this.reqId,
      perSecond,
      ...this.identity,
    });
    kind.onFlood?.(`Audio frames far above ${perSecond} per second`, this.peer);
  }

  private reportLimited(): void {
    const { perSecond, gateway } = this.kind;
    this.kind.onLimited(
      `Too many messages: this socket may send ${perSecond} per second; the excess is dropped`,
      this.peer,
    );
    // One warning per socket; later windows only at debug (a flooding socket must not flood the log).
    const line = {
      msg: `${gateway} socket rate limited (${perSecond}/s)`,
      event: `${gateway}.rate_limited`,
      connId: this.reqId,
      perSecond,
      ...this.identity,
    };
    if (this.droppedTotal === 1) this.kind.logger.warn(line);
    else this.kind.logger.debug(line);
  }

  /** Adds who the socket speaks for once it is known (an app socket after its init). */
  identify(fields: Record<string, unknown>, message?: string): void {
    const gateway = this.kind.gateway;
    this.identity = { ...this.identity, ...fields };
    // Only after authentication: before it, binary frames stay counted and rate limited.
    if (gateway === 'app') this.flags |= BINARY_ADMITTED;
    if (message)
      this.kind.logger.log({ msg: message, event: `${gateway}.connected`, connId: this.reqId, ...this.identity });
  }

  opened(message: string, level: 'log' | 'debug' = 'log'): void {
    const gateway = this.kind.gateway;
    this.kind.logger[level]({ msg: message, event: `${gateway}.open`, connId: this.reqId, ...this.identity });
  }

  /** The one close line of this connection. Idempotent. */
  close(code: number, reason: Buffer | string | undefined): void {
    if ((this.flags & CLOSED) !== 0) return;
    this.flags |= CLOSED;
    const { gateway, metrics, logger } = this.kind;
    const cause = closeCause(code);
    metrics.socketsOpen.dec({ gateway });
    metrics.disconnects.inc({ gateway, cause });
    const text = reason === undefined ? '' : reason.toString().slice(0, 123);
    logger.log({
      msg: `${gateway} socket closed: ${code} ${cause}${text ? ` (${text})` : ''}`,
      event: `${gateway}.close`,
      connId: this.reqId,
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
  /** Built on a gateway's first socket, with that gateway's callbacks (the same functions for all its sockets). */
  private glassesKind: SocketKind<unknown> | null = null;
  private appKind: SocketKind<unknown> | null = null;

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
    let kind = this.glassesKind as SocketKind<P> | null;
    if (kind === null || kind.onLimited !== onLimited || kind.onFlood !== onAudioFlood) {
      kind = new SocketKind(
        'glasses',
        this.config.glassesSocketMessagesPerSecond,
        this.metrics,
        this.glassesLog,
        onLimited,
        {
          perSecond: this.config.glassesAudioFramesPerSecond,
          onFlood: onAudioFlood,
        },
      );
      this.glassesKind = kind as SocketKind<unknown>;
    }
    return new TrackedSocket(kind, { userId }, peer);
  }

  app<P>(peer: P, onLimited: (message: string, peer: P) => void): TrackedSocket<P> {
    let kind = this.appKind as SocketKind<P> | null;
    if (kind === null || kind.onLimited !== onLimited) {
      kind = new SocketKind('app', this.config.appSocketMessagesPerSecond, this.metrics, this.appLog, onLimited);
      this.appKind = kind as SocketKind<unknown>;
    }
    return new TrackedSocket(kind, NO_IDENTITY, peer);
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
