import { Injectable, Scope } from '@nestjs/common';
import type { GlassesInbound } from '../protocol/glasses-inbound.js';
import { EventRelay } from '../relay/event-relay.js';
import { SessionContext, type SessionEvents } from '../session-core/session-context.js';

export const CALENDAR_CACHE_MAX = 100;

interface CachedEvent {
  key: string;
  /** Start in ms (NaN when unparseable). */
  start: number;
  /** When the event is over: its end, else its start (NaN when neither parses). */
  end: number;
  raw: Record<string, unknown>;
}

function toMs(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : NaN;
  if (typeof v === 'string' && v.length > 0) return Date.parse(v);
  return NaN;
}

/**
 * Present and future events first (the soonest first), then past ones (the most recent first).
 * An event is present until it ends, so a meeting under way is never pushed out by old ones.
 */
function byRelevance(now: number): (a: CachedEvent, b: CachedEvent) => number {
  const past = (e: CachedEvent) => !(e.end >= now);
  return (a, b) => {
    const pa = past(a);
    const pb = past(b);
    if (pa !== pb) return pa ? 1 : -1;
    if (!pa) return (a.start || 0) - (b.start || 0) || 0;
    return (Number.isNaN(b.end) ? -Infinity : b.end) - (Number.isNaN(a.end) ? -Infinity : a.end) || 0;
  };
}

/** The phone's calendar events: at most 100 kept (present and future first), replayed to new subscribers. */
@Injectable({ scope: Scope.REQUEST })
export class CalendarManager {
  private events: CachedEvent[] = [];

  constructor(
    ctx: SessionContext,
    private readonly relay: EventRelay,
  ) {
    ctx.on('subscriptionsChanged', this.onSubscriptionsChanged, this);
    ctx.defer(this.dispose, this);
  }

  private onSubscriptionsChanged({ packageName, added }: SessionEvents['subscriptionsChanged']): void {
    if (!added.includes('calendar_event')) return;
    for (const e of this.events) this.relay.sendDataTo(packageName, 'calendar_event', e.raw);
  }

  private dispose(): void {
    this.events = [];
  }

  handleEvent(msg: GlassesInbound<'calendar_event'>): void {
    const eventId = String(msg.eventId);
    const start = toMs(msg.dtStart);
    const endMs = toMs(msg.dtEnd);
    // The same instant written two ways ("…:00Z" and "…:00.000Z", or epoch ms) is one occurrence.
    const key = `${eventId}|${Number.isNaN(start) ? String(msg.dtStart) : start}`;
    this.events = this.events.filter((e) => e.key !== key);
    this.events.push({ key, start, end: Number.isNaN(endMs) ? start : endMs, raw: msg });
    this.events.sort(byRelevance(Date.now()));
    if (this.events.length > CALENDAR_CACHE_MAX) this.events.length = CALENDAR_CACHE_MAX;
  }

  get size(): number {
    return this.events.length;
  }
}
