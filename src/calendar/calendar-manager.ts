import { Injectable, Scope } from '@nestjs/common';
import type { TypedMessage } from '../common/json.util.js';
import { EventRelay } from '../relay/event-relay.js';
import { SessionContext } from '../session/session-context.js';

export const CALENDAR_CACHE_MAX = 100;

interface CachedEvent {
  key: string;
  start: number;
  raw: Record<string, unknown>;
}

/** The phone's calendar events: at most 100 kept (present and future first), replayed to new subscribers. */
@Injectable({ scope: Scope.REQUEST })
export class CalendarManager {
  private events: CachedEvent[] = [];

  constructor(
    ctx: SessionContext,
    private readonly relay: EventRelay,
  ) {
    ctx.on('subscriptionsChanged', ({ packageName, added }) => {
      if (!added.includes('calendar_event')) return;
      for (const e of this.events) this.relay.sendDataTo(packageName, 'calendar_event', e.raw);
    });
    ctx.defer(() => {
      this.events = [];
    });
  }

  handleEvent(msg: TypedMessage): void {
    const eventId = typeof msg.eventId === 'string' || typeof msg.eventId === 'number' ? String(msg.eventId) : null;
    if (eventId === null) return;
    const start = typeof msg.dtStart === 'number' ? msg.dtStart : Date.parse(String(msg.dtStart ?? ''));
    const key = `${eventId}|${String(msg.dtStart)}`;
    this.events = this.events.filter((e) => e.key !== key);
    this.events.push({ key, start: Number.isFinite(start) ? start : 0, raw: msg });
    if (this.events.length > CALENDAR_CACHE_MAX) {
      const now = Date.now();
      // Keep upcoming events first, nearest first; past ones go before future ones.
      this.events.sort((a, b) => Number(a.start < now) - Number(b.start < now) || a.start - b.start);
      this.events.length = CALENDAR_CACHE_MAX;
    }
  }

  get size(): number {
    return this.events.length;
  }
}
