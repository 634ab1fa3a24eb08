import type { CloudToGlassesMessage } from '../protocol/glasses.types.js';
import { randomBytes } from 'node:crypto';

export interface KeepAliveTimings {
  keepAliveMs: number;
  ackTimeoutMs: number;
  maxMissedAcks: number;
}

/**
 * RTMP keep-alive: `keep_rtmp_stream_alive {streamId, ackId}` every period while the
 * stream is active; an ACK is expected within the deadline; after N misses in a row the stream is
 * considered gone.
 */
export class StreamKeepAlive {
  private interval: NodeJS.Timeout | null = null;
  private readonly outstanding = new Map<string, NodeJS.Timeout>();
  private missed = 0;

  constructor(
    private readonly streamId: string,
    private readonly timings: KeepAliveTimings,
    private readonly send: (msg: CloudToGlassesMessage<'keep_rtmp_stream_alive'>) => void,
    private readonly onTimeout: () => void,
  ) {}

  start(): void {
    if (this.interval) return;
    this.interval = setInterval(() => this.ping(), this.timings.keepAliveMs);
  }

  private ping(): void {
    const ackId = randomBytes(6).toString('hex');
    this.send({ type: 'keep_rtmp_stream_alive', streamId: this.streamId, ackId, timestamp: new Date().toISOString() });
    this.outstanding.set(
      ackId,
      setTimeout(() => {
        this.outstanding.delete(ackId);
        this.missed++;
        if (this.missed >= this.timings.maxMissedAcks) {
          this.stop();
          this.onTimeout();
        }
      }, this.timings.ackTimeoutMs),
    );
  }

  /** Returns false for an ackId we did not send (or that already expired). */
  ack(ackId: string): boolean {
    const t = this.outstanding.get(ackId);
    if (!t) return false;
    clearTimeout(t);
    this.outstanding.delete(ackId);
    this.missed = 0;
    return true;
  }

  get missedAcks(): number {
    return this.missed;
  }

  stop(): void {
    if (this.interval) clearInterval(this.interval);
    this.interval = null;
    for (const t of this.outstanding.values()) clearTimeout(t);
    this.outstanding.clear();
  }
}

export function newStreamId(): string {
  return `s${Date.now().toString(36).slice(-6)}${randomBytes(3).toString('hex').slice(0, 4)}`;
}

/** Glasses statuses mapped to the five the cloud reports. */
export function normalizeStreamStatus(status: unknown): 'initializing' | 'active' | 'stopping' | 'stopped' | 'timeout' {
  switch (status) {
    case 'initializing':
    case 'connecting':
    case 'reconnecting':
      return 'initializing';
    case 'active':
    case 'streaming':
    case 'reconnected':
      return 'active';
    case 'stopping':
      return 'stopping';
    case 'timeout':
      return 'timeout';
    default:
      return 'stopped';
  }
}
