import { afterEach, describe, expect, it } from 'vitest';
import { METRIC, MetricsService, type SessionView } from './metrics.service.js';
import { LabeledCells } from './tally.js';

/** `name{labels} value` → value, from the exposition text; undefined when the series is absent. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function session(apps: string[], streams: Array<{ provider: string | null; state: string }> = []): SessionView {
  return {
    connections: { values: () => apps.map((state) => ({ state })) },
    transcription: { describe: () => ({ streams }) },
    translation: { describe: () => ({ streams: [] }) },
  };
}

describe('MetricsService', () => {
  const services: MetricsService[] = [];
  const make = () => {
    const m = new MetricsService();
    services.push(m);
    return m;
  };
  afterEach(() => services.splice(0).forEach((m) => m.onModuleDestroy()));

  it('exposes the default process metrics (event-loop delay, heap) in its own registry', async () => {
    const a = make();
    const b = make();
    const text = await a.render();
    expect(text).toContain('nodejs_eventloop_lag_p99_seconds');
    expect(text).toContain('nodejs_heap_size_used_bytes');
    expect(a.contentType).toMatch(/^text\/plain/);
    a.sessionsRefused.inc({ reason: 'max_sessions' });
    expect(value(await b.render(), `${METRIC.sessionsRefused}{reason="max_sessions"}`)).toBeUndefined();
  });

  it('moves hot-path cells into their counters at scrape time, adding only the growth', async () => {
    const m = make();
    m.audio.n += 3;
    m.audio.bytes += 1920;
    m.socketMessages.glasses.n += 5;
    m.rateLimited.app.n += 2;
    let text = await m.render();
    expect(value(text, METRIC.audioFrames)).toBe(3);
    expect(value(text, METRIC.audioBytes)).toBe(1920);
    expect(value(text, `${METRIC.socketMessages}{gateway="glasses"}`)).toBe(5);
    expect(value(text, `${METRIC.socketMessages}{gateway="app"}`)).toBe(0);
    expect(value(text, `${METRIC.rateLimited}{gateway="app"}`)).toBe(2);
    m.audio.n += 1;
    text = await m.render();
    expect(value(text, METRIC.audioFrames)).toBe(4);
    text = await m.render();
    expect(value(text, METRIC.audioFrames)).toBe(4);
  });

  it('counts relayed messages and bytes by stream type, labelled by the type without JSON quotes', async () => {
    const m = make();
    const press = JSON.stringify('button_press');
    m.relayed(press, 100);
    m.relayed(press, 50);
    m.relayed(JSON.stringify('transcription:en-US'), 10);
    const text = await m.render();
    expect(value(text, `${METRIC.relayMessages}{type="button_press"}`)).toBe(2);
    expect(value(text, `${METRIC.relayBytes}{type="button_press"}`)).toBe(150);
    expect(value(text, `${METRIC.relayMessages}{type="transcription:en-US"}`)).toBe(1);
  });

  it('computes sessions, apps by state and open provider streams from the live sessions on each scrape', async () => {
    const m = make();
    const live = [
      session(
        ['running', 'loading'],
        [
          { provider: 'soniox', state: 'open' },
          { provider: 'soniox', state: 'backoff' },
        ],
      ),
      session(['running', 'dormant'], [{ provider: 'vosk', state: 'open' }]),
    ];
    let failures = 2;
    m.setSources({
      sessionCount: () => live.length,
      sessions: () => live,
      providers: () => [
        { name: 'soniox', coolingOff: true, failures },
        { name: 'vosk', coolingOff: false, failures: 0 },
      ],
    });
    let text = await m.render();
    expect(value(text, METRIC.sessions)).toBe(2);
    expect(value(text, `${METRIC.apps}{state="running"}`)).toBe(2);
    expect(value(text, `${METRIC.apps}{state="loading"}`)).toBe(1);
    expect(value(text, `${METRIC.apps}{state="dormant"}`)).toBe(1);
    expect(value(text, `${METRIC.apps}{state="grace"}`)).toBe(0);
    expect(value(text, `${METRIC.providerStreams}{provider="soniox"}`)).toBe(1);
    expect(value(text, `${METRIC.providerStreams}{provider="vosk"}`)).toBe(1);
    expect(value(text, `${METRIC.providerRestarts}{provider="soniox"}`)).toBe(2);
    expect(value(text, `${METRIC.providerCooling}{provider="soniox"}`)).toBe(1);
    live.pop();
    failures = 5;
    text = await m.render();
    expect(value(text, METRIC.sessions)).toBe(1);
    expect(value(text, `${METRIC.apps}{state="running"}`)).toBe(1);
    expect(value(text, `${METRIC.providerStreams}{provider="vosk"}`)).toBe(0);
    expect(value(text, `${METRIC.providerRestarts}{provider="soniox"}`)).toBe(5);
  });

  it('records app start outcomes by stage and their duration', async () => {
    const m = make();
    m.recordAppStart('ok', 120);
    m.recordAppStart('WEBHOOK', 3000);
    m.recordAppStart('LIMIT', 1);
    const text = await m.render();
    expect(value(text, `${METRIC.appStarts}{outcome="ok"}`)).toBe(1);
    expect(value(text, `${METRIC.appStarts}{outcome="WEBHOOK"}`)).toBe(1);
    expect(value(text, `${METRIC.appStarts}{outcome="LIMIT"}`)).toBe(1);
    expect(value(text, `${METRIC.appStartDuration}_count{result="ok"}`)).toBe(1);
    expect(value(text, `${METRIC.appStartDuration}_count{result="failed"}`)).toBe(2);
    expect(value(text, `${METRIC.appStartDuration}_bucket{le="0.25",result="ok"}`)).toBe(1);
  });
});

describe('LabeledCells', () => {
  it('returns the same cell for a key and caps distinct labels into "other"', () => {
    let labelled = 0;
    const cells = new LabeledCells<string>((k) => {
      labelled++;
      return k.toUpperCase();
    }, 2);
    const a = cells.get('a');
    expect(cells.get('a')).toBe(a);
    cells.get('b');
    const c = cells.get('c');
    expect(cells.get('d')).toBe(c);
    expect(labelled).toBe(2);
  });
});
