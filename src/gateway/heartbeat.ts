import type { WebSocket } from 'ws';

const OPEN = 1;
/** How many slices one interval is cut into. */
export const HEARTBEAT_SLICES = 10;

/**
 * Protocol pings for every open socket of a server, once per `intervalMs`, spread over the interval: each
 * socket gets a fixed slot when first seen and is pinged in its slot's tick. One ping is a syscall; thousands
 * of them in one tick blocked the event loop for tens of milliseconds every interval (a latency spike for
 * every audio frame and relayed event queued behind it).
 */
export class StaggeredHeartbeat {
  private readonly slots = new WeakMap<WebSocket, number>();
  private nextSlot = 0;
  private tick = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly clients: () => Iterable<WebSocket>,
    intervalMs: number,
    private readonly slices = HEARTBEAT_SLICES,
  ) {
    this.timer = setInterval(() => this.beat(), Math.max(1, intervalMs / slices));
    this.timer.unref();
  }

  /** One tick: pings the open sockets whose slot is due. Public for tests. */
  beat(): number {
    const due = this.tick++ % this.slices;
    let pinged = 0;
    for (const ws of this.clients()) {
      let slot = this.slots.get(ws);
      if (slot === undefined) {
        slot = this.nextSlot++ % this.slices;
        this.slots.set(ws, slot);
      }
      if (slot === due && ws.readyState === OPEN) {
        ws.ping();
        pinged++;
      }
    }
    return pinged;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
