import type { WebSocket } from 'ws';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StaggeredHeartbeat } from './heartbeat.js';

function fakeSocket(): WebSocket & { pings: number[] } {
  const s = { readyState: 1, pings: [] as number[], ping: () => s.pings.push(Date.now()) };
  return s as unknown as WebSocket & { pings: number[] };
}

describe('StaggeredHeartbeat', () => {
  afterEach(() => vi.useRealTimers());

  it('pings every open socket exactly once per interval, at most a tenth of them per tick', () => {
    vi.useFakeTimers();
    const clients = new Set(Array.from({ length: 1000 }, fakeSocket));
    const hb = new StaggeredHeartbeat(() => clients, 10_000);
    const perTick: number[] = [];
    const beat = hb.beat.bind(hb);
    vi.spyOn(hb, 'beat').mockImplementation(() => {
      const n = beat();
      perTick.push(n);
      return n;
    });
    vi.advanceTimersByTime(30_000);
    hb.stop();
    for (const ws of clients) expect(ws.pings).toHaveLength(3);
    expect(Math.max(...perTick)).toBe(100);
    // Each socket's pings are one interval apart.
    for (const ws of clients) expect(ws.pings[1]! - ws.pings[0]!).toBe(10_000);
  });

  it('keeps each socket in its slot when others leave, and skips sockets that are not open', () => {
    vi.useFakeTimers();
    const a = fakeSocket();
    const b = fakeSocket();
    const c = fakeSocket();
    const clients = new Set([a, b, c]);
    const hb = new StaggeredHeartbeat(() => clients, 1_000);
    vi.advanceTimersByTime(1_000);
    clients.delete(a);
    (b as { readyState: number }).readyState = 3;
    vi.advanceTimersByTime(3_000);
    hb.stop();
    expect(a.pings).toHaveLength(1);
    expect(b.pings).toHaveLength(1);
    expect(c.pings).toHaveLength(4);
    expect(c.pings.slice(1).map((t, i) => t - c.pings[i]!)).toEqual([1_000, 1_000, 1_000]);
  });

  it('stop ends the pings', () => {
    vi.useFakeTimers();
    const a = fakeSocket();
    const hb = new StaggeredHeartbeat(() => [a], 1_000);
    hb.stop();
    vi.advanceTimersByTime(5_000);
    expect(a.pings).toHaveLength(0);
  });
});
