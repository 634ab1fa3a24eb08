import { Logger } from '@nestjs/common';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { METRIC, MetricsService } from './metrics.service.js';
import { currentContext } from './request-context.js';
import { closeCause, SocketKind, TrackedSocket } from './socket-tracker.js';

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('TrackedSocket', () => {
  beforeAll(() => Logger.overrideLogger(false));
  const services: MetricsService[] = [];
  afterEach(() => {
    services.splice(0).forEach((m) => m.onModuleDestroy());
    vi.useRealTimers();
  });

  function setup(gateway: 'glasses' | 'app', perSecond: number, audioPerSecond = 0) {
    const metrics = new MetricsService();
    services.push(metrics);
    const logger = new Logger('test');
    const log = vi.spyOn(logger, 'log').mockImplementation(() => undefined);
    const warn = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const limited: string[] = [];
    const flooded: string[] = [];
    const kind = new SocketKind<string>(
      gateway,
      perSecond,
      metrics,
      logger,
      (m) => limited.push(m),
      gateway === 'glasses' ? { perSecond: audioPerSecond, onFlood: (m) => flooded.push(m) } : undefined,
    );
    const socket = new TrackedSocket(kind, { userId: 'u@example.com' }, 'peer');
    return { metrics, socket, limited, flooded, log, warn, kind };
  }

  it('limits glasses audio to its own window: the excess is dropped and counted, a flood calls onFlood once', async () => {
    vi.useFakeTimers({ now: 2_000_000, toFake: ['Date'] });
    const { metrics, socket, limited, flooded, warn } = setup('glasses', 1, 10);
    let handled = 0;
    const listener = socket.wrap(() => void handled++);
    for (let i = 0; i < 12; i++) listener(Buffer.alloc(2), true);
    expect(handled).toBe(10);
    expect(limited).toEqual([expect.stringMatching(/10 per second/)]);
    expect(flooded).toEqual([]);
    // The text window is separate: one message still passes.
    listener(Buffer.from('{}'), false);
    expect(handled).toBe(11);
    vi.setSystemTime(2_001_000);
    for (let i = 0; i < 10 + 10 * 10 + 5; i++) listener(Buffer.alloc(2), true);
    expect(handled).toBe(21);
    expect(flooded).toEqual([expect.stringMatching(/far above 10 per second/)]);
    expect(warn.mock.calls.map((c) => (c[0] as { event: string }).event)).toEqual([
      'glasses.audio_limited',
      'glasses.audio_flood',
    ]);
    expect(value(await metrics.render(), METRIC.audioDropped)).toBe(2 + 10 * 10 + 5);
  });

  it('shares one SocketKind between sockets: each keeps its own windows and ids', () => {
    const { socket, kind, limited } = setup('app', 1);
    const other = new TrackedSocket(kind, {}, 'other');
    const a = socket.wrap(() => undefined);
    const b = other.wrap(() => undefined);
    a(Buffer.from('{}'), false);
    b(Buffer.from('{}'), false);
    expect(limited).toEqual([]);
    a(Buffer.from('{}'), false);
    expect(limited).toHaveLength(1);
    expect(other.id).not.toBe(socket.id);
  });

  it('passes glasses audio straight through, uncounted by the limit, and counts frames and bytes', async () => {
    const { metrics, socket } = setup('glasses', 1);
    const got: Array<[number, boolean]> = [];
    const listener = socket.wrap((data, isBinary) => got.push([data.length, isBinary]));
    for (let i = 0; i < 50; i++) listener(Buffer.alloc(640), true);
    listener(Buffer.from('{"type":"ping"}'), false);
    expect(got).toHaveLength(51);
    const text = await metrics.render();
    expect(value(text, METRIC.audioFrames)).toBe(50);
    expect(value(text, METRIC.audioBytes)).toBe(32_000);
    expect(value(text, `${METRIC.socketMessages}{gateway="glasses"}`)).toBe(1);
  });

  it('drops text beyond the rate with one RATE_LIMITED notice per window and one warning per socket', async () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
    const { metrics, socket, limited, warn } = setup('glasses', 5);
    let handled = 0;
    const listener = socket.wrap(() => void handled++);
    for (let i = 0; i < 20; i++) listener(Buffer.from('{}'), false);
    expect(handled).toBe(5);
    expect(limited).toHaveLength(1);
    expect(limited[0]).toMatch(/5 per second/);
    vi.setSystemTime(1_001_500);
    for (let i = 0; i < 20; i++) listener(Buffer.from('{}'), false);
    expect(handled).toBe(10);
    expect(limited).toHaveLength(2);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(value(await metrics.render(), `${METRIC.rateLimited}{gateway="glasses"}`)).toBe(30);
  });

  it('never limits text with a rate of 0', () => {
    const { socket, limited } = setup('app', 0);
    let handled = 0;
    const listener = socket.wrap(() => void handled++);
    for (let i = 0; i < 10_000; i++) listener(Buffer.from('{}'), false);
    expect(handled).toBe(10_000);
    expect(limited).toEqual([]);
  });

  it('counts binary frames on app sockets as messages under the limit', () => {
    const { socket, limited } = setup('app', 2);
    let handled = 0;
    const listener = socket.wrap(() => void handled++);
    for (let i = 0; i < 4; i++) listener(Buffer.alloc(4), true);
    expect(handled).toBe(2);
    expect(limited).toHaveLength(1);
  });

  it("runs each message with the connection's id as the request id", () => {
    const { socket } = setup('app', 0);
    let seen: string | undefined;
    socket.wrap(() => (seen = currentContext()?.reqId))(Buffer.from('{}'), false);
    expect(seen).toBe(socket.id);
    expect(socket.id).toMatch(/^a-[0-9a-f]{12}$/);
    expect(currentContext()).toBeUndefined();
  });

  it('keeps the open-socket gauge and logs exactly one close line with code, cause and identity', async () => {
    const { metrics, socket, log } = setup('app', 0);
    expect(value(await metrics.render(), `${METRIC.sockets}{gateway="app"}`)).toBe(1);
    socket.identify({ packageName: 'com.x', startId: 'start-1' }, 'app connected');
    socket.close(1006, Buffer.from(''));
    socket.close(1006, Buffer.from(''));
    const text = await metrics.render();
    expect(value(text, `${METRIC.sockets}{gateway="app"}`)).toBe(0);
    expect(value(text, `${METRIC.socketsOpened}{gateway="app"}`)).toBe(1);
    expect(value(text, `${METRIC.disconnects}{gateway="app",cause="connection_lost"}`)).toBe(1);
    const closes = log.mock.calls.map((c) => c[0] as Record<string, unknown>).filter((m) => m.event === 'app.close');
    expect(closes).toHaveLength(1);
    expect(closes[0]).toMatchObject({
      code: 1006,
      cause: 'connection_lost',
      connId: socket.id,
      userId: 'u@example.com',
      packageName: 'com.x',
      startId: 'start-1',
    });
  });

  it('names close codes', () => {
    expect(closeCause(1000)).toBe('normal');
    expect(closeCause(1012)).toBe('service_restart');
    expect(closeCause(4000)).toBe('replaced');
    expect(closeCause(4321)).toBe('application');
    expect(closeCause(1234)).toBe('other');
  });
});
