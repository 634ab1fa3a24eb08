import { Logger, type LoggerService } from '@nestjs/common';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonLogger } from '../src/observability/json-logger.js';
import { StoreHealth } from '../src/persistence/store-health.js';
import { SimulatedGlasses } from '../src/simulator/index.js';
import { startPostHogDouble, type PostHogDouble } from './doubles/index.js';
import { startCloud, type TestCloud } from './support/cloud.js';
import { startRawApp, type RawApp } from './support/raw-app.js';
import { RawClient } from './support/raw-ws.js';
import { eventually } from './support/sdk-app.js';

const METRICS_TOKEN = 'metrics-scraper-token-0123456789';

/** Every series of a scrape: `name{labels}` → value. */
async function scrape(cloud: TestCloud, token = cloud.config.adminApiKey): Promise<Map<string, number>> {
  const res = await fetch(`${cloud.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  const series = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    series.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return series;
}

const v = (m: Map<string, number>, series: string) => m.get(series) ?? 0;

/** Routes every Nest log line of the process through a JSON logger that keeps them, until `restore()`. */
function captureLogs(): { lines: Array<Record<string, any>>; restore(): void } {
  const lines: Array<Record<string, any>> = [];
  const previous = (Logger as unknown as { staticInstanceRef?: LoggerService }).staticInstanceRef;
  const logger = new JsonLogger({
    level: 'debug',
    format: 'json',
    destination: { write: (s: string) => void lines.push(JSON.parse(s)) },
  });
  Logger.overrideLogger(logger);
  return { lines, restore: () => Logger.overrideLogger(previous ?? false) };
}

/** A webhook endpoint that records request headers and refuses the session (404: no retry). */
async function recordingWebhook(): Promise<{ url: string; headers: IncomingHttpHeaders[]; close(): Promise<void> }> {
  const headers: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    headers.push(req.headers);
    req.resume();
    req.on('end', () => res.writeHead(404, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    headers,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('observability: metrics, health, request ids and per-socket limits', () => {
  let cloud: TestCloud;
  let app: RawApp;
  const PKG = 'com.example.observed';

  beforeAll(async () => {
    cloud = await startCloud({ METRICS_TOKEN });
    app = await startRawApp(PKG, () => ({ subscriptions: ['button_press'] }));
    app.apiKey = await cloud.registerApp(
      { packageName: PKG, publicUrl: app.url, permissions: [{ type: 'MICROPHONE' }] },
      ['obs@example.com', 'bystander@example.com', 'appflood@example.com'],
    );
  });
  afterAll(async () => {
    await app.close();
    await cloud.close();
  });

  describe('/metrics', () => {
    it('is never open: no key or a wrong key is 401; the admin key and METRICS_TOKEN are let in', async () => {
      expect((await fetch(`${cloud.url}/metrics`)).status).toBe(401);
      expect(
        (await fetch(`${cloud.url}/metrics`, { headers: { authorization: 'Bearer not-the-token-not-the-token' } }))
          .status,
      ).toBe(401);
      expect(
        (await fetch(`${cloud.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } })).status,
      ).toBe(401);
      const admin = await fetch(`${cloud.url}/metrics`, {
        headers: { authorization: `Bearer ${cloud.config.adminApiKey}` },
      });
      expect(admin.status).toBe(200);
      expect(admin.headers.get('content-type')).toMatch(/^text\/plain/);
      const scraper = await fetch(`${cloud.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(scraper.status).toBe(200);
      const text = await scraper.text();
      for (const name of [
        'mentra_sessions',
        'mentra_websocket_connections',
        'mentra_websocket_messages_total',
        'mentra_websocket_rate_limited_total',
        'mentra_apps',
        'mentra_relay_messages_total',
        'mentra_relay_bytes_total',
        'mentra_audio_frames_total',
        'mentra_audio_bytes_total',
        'mentra_app_starts_total',
        'mentra_app_start_duration_seconds',
        'mentra_provider_streams_open',
        'mentra_provider_stream_restarts_total',
        'nodejs_eventloop_lag_p99_seconds',
        'nodejs_heap_size_used_bytes',
      ]) {
        expect(text).toContain(`# TYPE ${name} `);
      }
    });

    it('moves when a user connects, starts an app, presses a button and streams audio', async () => {
      const before = await scrape(cloud);
      const glasses = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token('obs@example.com') });
      await glasses.connect();
      let now = await scrape(cloud, METRICS_TOKEN);
      expect(v(now, 'mentra_sessions')).toBe(v(before, 'mentra_sessions') + 1);
      expect(v(now, 'mentra_websocket_connections{gateway="glasses"}')).toBe(
        v(before, 'mentra_websocket_connections{gateway="glasses"}') + 1,
      );
      expect(v(now, 'mentra_websocket_connections_total{gateway="glasses"}')).toBe(
        v(before, 'mentra_websocket_connections_total{gateway="glasses"}') + 1,
      );

      glasses.startApp(PKG);
      await eventually(
        () => cloud.registry.get('obs@example.com')?.subscriptions.subscriptionsOf(PKG).length === 1,
        5000,
        'app running and subscribed',
      );
      now = await scrape(cloud);
      expect(v(now, 'mentra_apps{state="running"}')).toBe(v(before, 'mentra_apps{state="running"}') + 1);
      expect(v(now, 'mentra_app_starts_total{outcome="ok"}')).toBe(
        v(before, 'mentra_app_starts_total{outcome="ok"}') + 1,
      );
      expect(v(now, 'mentra_app_start_duration_seconds_count{result="ok"}')).toBe(
        v(before, 'mentra_app_start_duration_seconds_count{result="ok"}') + 1,
      );
      expect(v(now, 'mentra_websocket_connections{gateway="app"}')).toBe(
        v(before, 'mentra_websocket_connections{gateway="app"}') + 1,
      );
      // Each step of bringing the session and its app up was timed once more (the failover storm's breakdown).
      for (const phase of ['auth', 'session_build', 'store_read', 'store_write', 'webhook', 'init']) {
        const series = `mentra_session_phase_seconds_count{phase="${phase}"}`;
        expect(v(now, series), series).toBeGreaterThanOrEqual(v(before, series) + 1);
        expect(v(now, `mentra_session_phase_seconds_sum{phase="${phase}"}`), phase).toBeGreaterThan(
          v(before, `mentra_session_phase_seconds_sum{phase="${phase}"}`),
        );
      }

      const socket = app.sockets.at(-1)!;
      const from = socket.messages.length;
      glasses.pressButton('short', 'metrics-probe');
      await socket.next((m) => m.type === 'data_stream' && m.data.buttonId === 'metrics-probe', 3000, from);
      const pressed = await scrape(cloud);
      expect(v(pressed, 'mentra_relay_messages_total{type="button_press"}')).toBe(
        v(now, 'mentra_relay_messages_total{type="button_press"}') + 1,
      );
      expect(v(pressed, 'mentra_relay_bytes_total{type="button_press"}')).toBeGreaterThan(
        v(now, 'mentra_relay_bytes_total{type="button_press"}') + 50,
      );
      expect(v(pressed, 'mentra_websocket_messages_total{gateway="glasses"}')).toBeGreaterThan(
        v(now, 'mentra_websocket_messages_total{gateway="glasses"}'),
      );

      for (let i = 0; i < 25; i++) glasses.sendAudio(Buffer.alloc(640, i));
      const streamed = await eventually(
        async () => {
          const m = await scrape(cloud);
          return v(m, 'mentra_audio_frames_total') >= v(pressed, 'mentra_audio_frames_total') + 25 ? m : null;
        },
        5000,
        'audio frames counted',
      );
      expect(v(streamed, 'mentra_audio_frames_total')).toBe(v(pressed, 'mentra_audio_frames_total') + 25);
      expect(v(streamed, 'mentra_audio_bytes_total')).toBe(v(pressed, 'mentra_audio_bytes_total') + 25 * 640);
      expect(v(streamed, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
      expect(streamed.has('nodejs_eventloop_lag_p99_seconds')).toBe(true);

      await glasses.disconnect();
      const gone = await eventually(
        async () => {
          const m = await scrape(cloud);
          return v(m, 'mentra_websocket_connections{gateway="glasses"}') ===
            v(before, 'mentra_websocket_connections{gateway="glasses"}')
            ? m
            : null;
        },
        3000,
        'glasses socket closed',
      );
      expect(v(gone, 'mentra_websocket_disconnects_total{gateway="glasses",cause="normal"}')).toBe(
        v(before, 'mentra_websocket_disconnects_total{gateway="glasses",cause="normal"}') + 1,
      );
      await cloud.admin('DELETE', `/api/admin/sessions/${encodeURIComponent('obs@example.com')}`);
    });
  });

  describe('/health and /ready', () => {
    it('/health is fast and never touches the store, /ready follows StoreHealth', async () => {
      const store = cloud.app.get(StoreHealth);
      const ping = store.ping.bind(store);
      try {
        let pings = 0;
        store.ping = () => {
          pings++;
          return new Promise<boolean>(() => undefined); // a store that never answers
        };
        for (let i = 0; i < 5; i++) {
          const t0 = performance.now();
          const res = await fetch(`${cloud.url}/health`);
          const ms = performance.now() - t0;
          expect(res.status).toBe(200);
          expect(await res.json()).toMatchObject({ status: 'ok', info: { process: { status: 'up' } } });
          expect(ms).toBeLessThan(100);
        }
        expect(pings).toBe(0);

        const hung = await fetch(`${cloud.url}/ready`);
        expect(hung.status).toBe(503);
        expect(await hung.json()).toMatchObject({ status: 'error', error: { store: { status: 'down' } } });
        expect(pings).toBe(1);

        store.ping = async () => false;
        const down = await fetch(`${cloud.url}/ready`);
        expect(down.status).toBe(503);
        expect(await down.json()).toMatchObject({ status: 'error', error: { store: { status: 'down' } } });
      } finally {
        store.ping = ping;
      }
      const up = await fetch(`${cloud.url}/ready`);
      expect(up.status).toBe(200);
      expect(await up.json()).toMatchObject({ status: 'ok', info: { store: { status: 'up', kind: 'embedded' } } });
    });
  });

  describe('request ids and logs', () => {
    it('echoes a plain x-request-id, makes one otherwise, and replaces an unsafe one', async () => {
      const given = await fetch(`${cloud.url}/health`, { headers: { 'x-request-id': 'trace-abc.123' } });
      expect(given.headers.get('x-request-id')).toBe('trace-abc.123');
      const made = await fetch(`${cloud.url}/api/admin/apps`);
      expect(made.status).toBe(401);
      expect(made.headers.get('x-request-id')).toMatch(/^req-[0-9a-f]{12}$/);
      const unsafe = await fetch(`${cloud.url}/health`, { headers: { 'x-request-id': 'a b"c' } });
      expect(unsafe.headers.get('x-request-id')).toMatch(/^req-[0-9a-f]{12}$/);
    });

    it('carries the request id through an app start (log lines with user, package and start id, and the webhook), and logs one close line per disconnect', async () => {
      const hook = await recordingWebhook();
      const REFUSING = 'com.example.refusing';
      await cloud.registerApp({ packageName: REFUSING, publicUrl: hook.url }, ['trace@example.com']);
      expect(
        (await cloud.admin('PUT', `/api/admin/users/${encodeURIComponent('trace@example.com')}/apps/${PKG}`)).status,
      ).toBe(200);
      const glasses = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token('trace@example.com') });
      await glasses.connect();
      const logs = captureLogs();
      try {
        const res = await fetch(
          `${cloud.url}/api/admin/sessions/${encodeURIComponent('trace@example.com')}/apps/${REFUSING}/start`,
          {
            method: 'POST',
            headers: { authorization: `Bearer ${cloud.config.adminApiKey}`, 'x-request-id': 'obs-start-1' },
          },
        );
        expect(res.headers.get('x-request-id')).toBe('obs-start-1');
        expect(res.status).toBe(502);
        expect(((await res.json()) as { details: unknown }).details).toMatchObject({ stage: 'WEBHOOK' });
        expect(hook.headers.at(-1)?.['x-request-id']).toBe('obs-start-1');

        const start = logs.lines.find((l) => l.event === 'app.start' && l.packageName === REFUSING)!;
        expect(start).toMatchObject({
          reqId: 'obs-start-1',
          userId: 'trace@example.com',
          packageName: REFUSING,
          startId: expect.stringMatching(/^start-/),
        });
        const failed = logs.lines.find((l) => l.event === 'app.start_failed' && l.startId === start.startId)!;
        expect(failed).toMatchObject({
          level: 'warn',
          reqId: 'obs-start-1',
          userId: 'trace@example.com',
          packageName: REFUSING,
          stage: 'WEBHOOK',
        });

        // A start from the glasses carries the glasses connection's id; the app's connect line carries the start id.
        glasses.startApp(PKG);
        await eventually(
          () => cloud.registry.get('trace@example.com')?.subscriptions.subscriptionsOf(PKG).length === 1,
          5000,
          'app running',
        );
        const wsStart = logs.lines.find(
          (l) => l.event === 'app.start' && l.packageName === PKG && l.userId === 'trace@example.com',
        )!;
        expect(wsStart.reqId).toMatch(/^g-[0-9a-f]{12}$/);
        const connected = await eventually(
          () => logs.lines.find((l) => l.event === 'app.connected' && l.startId === wsStart.startId),
          3000,
          'app connect line',
        );
        expect(connected).toMatchObject({
          userId: 'trace@example.com',
          packageName: PKG,
          connId: expect.stringMatching(/^a-/),
        });
        const started = logs.lines.find((l) => l.event === 'app.started' && l.startId === wsStart.startId)!;
        expect(started).toMatchObject({
          level: 'info',
          reqId: wsStart.reqId,
          userId: 'trace@example.com',
          packageName: PKG,
        });
        expect(typeof started.durationMs).toBe('number');

        await glasses.disconnect(1000, 'bye');
        const close = await eventually(
          () => logs.lines.filter((l) => l.event === 'glasses.close' && l.userId === 'trace@example.com'),
          3000,
          'glasses close line',
        );
        await new Promise((r) => setTimeout(r, 100));
        expect(logs.lines.filter((l) => l.event === 'glasses.close' && l.userId === 'trace@example.com')).toHaveLength(
          1,
        );
        expect(close[0]).toMatchObject({ code: 1000, cause: 'normal', reason: 'bye', connId: wsStart.reqId });
        await cloud.admin('DELETE', `/api/admin/sessions/${encodeURIComponent('trace@example.com')}`);
        const appClose = await eventually(
          () => logs.lines.find((l) => l.event === 'app.close' && l.userId === 'trace@example.com'),
          3000,
          'app close line',
        );
        expect(appClose).toMatchObject({ code: 1000, packageName: PKG, cause: 'normal' });
      } finally {
        logs.restore();
        await glasses.disconnect().catch(() => undefined);
        await hook.close();
      }
    });
  });

  describe('per-socket rate limits', () => {
    it('a flooding glasses socket and a flooding app socket get RATE_LIMITED and are dropped, never closed, while another user is served', async () => {
      const bystander = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token('bystander@example.com') });
      const appFlooderGlasses = new SimulatedGlasses({
        cloudUrl: cloud.url,
        token: cloud.token('appflood@example.com'),
      });
      const flooder = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token('flood@example.com') });
      await Promise.all([bystander.connect(), appFlooderGlasses.connect(), flooder.connect()]);
      try {
        bystander.startApp(PKG);
        appFlooderGlasses.startApp(PKG);
        await eventually(
          () =>
            ['bystander@example.com', 'appflood@example.com'].every(
              (u) => cloud.registry.get(u)?.subscriptions.subscriptionsOf(PKG).length === 1,
            ),
          5000,
          'both apps running',
        );
        const socketOf = (user: string) =>
          app.sockets.find((s) =>
            s.messages.some((m) => m.type === 'tpa_connection_ack' && m.sessionId.startsWith(`${user}-`)),
          )!;
        const bystanderApp = socketOf('bystander@example.com');
        const floodingApp = socketOf('appflood@example.com');
        const before = await scrape(cloud);

        // Both floods at once: 1,500 glasses text messages (limit 200/s) and 600 app messages (limit 100/s).
        const glassesMark = flooder.mark();
        const appFrom = floodingApp.messages.length;
        for (let i = 0; i < 1500; i++) flooder.sendRaw('{"type":"pong"}');
        for (let i = 0; i < 600; i++) floodingApp.send({ type: 'flood_probe', n: i });

        // The other user's press still arrives promptly.
        const from = bystanderApp.messages.length;
        const t0 = Date.now();
        bystander.pressButton('short', 'during-flood');
        await bystanderApp.next((m) => m.type === 'data_stream' && m.data.buttonId === 'during-flood', 3000, from);
        expect(Date.now() - t0).toBeLessThan(3000);

        const glassesError = await flooder.waitFor('connection_error', (m) => m.code === 'RATE_LIMITED', {
          since: glassesMark,
        });
        expect(glassesError.message).toMatch(/200 per second/);
        const appError = await floodingApp.next(
          (m) => m.type === 'tpa_connection_error' && m.code === 'RATE_LIMITED',
          3000,
          appFrom,
        );
        expect(appError.message).toMatch(/100 per second/);
        // The app's admitted messages were handled (unknown type), the rest dropped: at most 100 + one notice per window.
        await new Promise((r) => setTimeout(r, 300));
        const answered = floodingApp.messages.slice(appFrom).filter((m) => m.type === 'tpa_connection_error');
        expect(answered.filter((m) => m.code === 'UNKNOWN_MESSAGE_TYPE').length).toBeLessThanOrEqual(200);
        expect(answered.filter((m) => m.code === 'RATE_LIMITED').length).toBeLessThanOrEqual(3);

        const after = await scrape(cloud);
        expect(
          v(after, 'mentra_websocket_rate_limited_total{gateway="glasses"}') -
            v(before, 'mentra_websocket_rate_limited_total{gateway="glasses"}'),
        ).toBeGreaterThanOrEqual(1500 - 400);
        expect(
          v(after, 'mentra_websocket_rate_limited_total{gateway="app"}') -
            v(before, 'mentra_websocket_rate_limited_total{gateway="app"}'),
        ).toBeGreaterThanOrEqual(600 - 200);

        // Neither flooding socket was closed, and both are served again once the window has passed.
        await new Promise((r) => setTimeout(r, 1100));
        expect(flooder.isOpen).toBe(true);
        await flooder.ping();
        expect(floodingApp.closed).toBeNull();
        const again = floodingApp.messages.length;
        floodingApp.send({ type: 'flood_probe_after' });
        await floodingApp.next(
          (m) =>
            m.type === 'tpa_connection_error' &&
            m.code === 'UNKNOWN_MESSAGE_TYPE' &&
            /flood_probe_after/.test(m.message),
          3000,
          again,
        );
        expect(cloud.registry.get('appflood@example.com')?.connections.get(PKG)?.state).toBe('running');
      } finally {
        await Promise.all([bystander, appFlooderGlasses, flooder].map((g) => g.disconnect().catch(() => undefined)));
        for (const u of ['bystander@example.com', 'appflood@example.com', 'flood@example.com'])
          await cloud.admin('DELETE', `/api/admin/sessions/${encodeURIComponent(u)}`);
      }
    });
  });

  describe('session-ended events', () => {
    it('an ended session writes one session.ended log line (user, duration, apps used, reason) and is counted in mentra_sessions_ended_total', async () => {
      const user = 'ended@example.com';
      expect((await cloud.admin('PUT', `/api/admin/users/${encodeURIComponent(user)}/apps/${PKG}`)).status).toBe(200);
      const glasses = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token(user) });
      await glasses.connect();
      const before = await scrape(cloud);
      const logs = captureLogs();
      try {
        const started = await cloud.admin('POST', `/api/admin/sessions/${encodeURIComponent(user)}/apps/${PKG}/start`);
        expect(started.status).toBe(201);
        await new Promise((r) => setTimeout(r, 50));
        expect((await cloud.admin('DELETE', `/api/admin/sessions/${encodeURIComponent(user)}`)).status).toBe(204);
        const ended = logs.lines.filter((l) => l.event === 'session.ended');
        expect(ended).toEqual([
          expect.objectContaining({
            level: 'info',
            context: 'SessionEvents',
            userId: user,
            appsUsed: [PKG],
            reason: 'admin',
            startedAt: expect.any(String),
            endedAt: expect.any(String),
          }),
        ]);
        expect(ended[0]!.durationMs).toBeGreaterThanOrEqual(50);
        expect(Date.parse(ended[0]!.endedAt) - Date.parse(ended[0]!.startedAt)).toBe(ended[0]!.durationMs);
      } finally {
        logs.restore();
        await glasses.disconnect().catch(() => undefined);
      }
      const after = await scrape(cloud);
      const delta = (series: string) => v(after, series) - v(before, series);
      expect(delta('mentra_sessions_ended_total{reason="admin"}')).toBe(1);
      expect(delta('mentra_session_duration_seconds_count{reason="admin"}')).toBe(1);
      expect(delta('mentra_session_duration_seconds_sum{reason="admin"}')).toBeGreaterThan(0);
    });

    it('with POSTHOG_API_KEY set, session_ended reaches PostHog (its batch capture API) with user, duration, apps used and reason; what is buffered is sent at shutdown', async () => {
      const posthog: PostHogDouble = await startPostHogDouble();
      const own = await startCloud({
        POSTHOG_API_KEY: 'phc_test_project_key_0123456789',
        POSTHOG_HOST: posthog.url,
        GLASSES_GRACE_MS: '100',
      });
      let closed = false;
      try {
        const leaving = 'leaving@example.com';
        const staying = 'staying@example.com';
        expect(own.config.posthog).toEqual({ apiKey: 'phc_test_project_key_0123456789', host: posthog.url });
        const app = await startRawApp('com.example.tracked', () => ({}));
        try {
          app.apiKey = await own.registerApp({ packageName: 'com.example.tracked', publicUrl: app.url }, [leaving]);
          const glasses = new SimulatedGlasses({ cloudUrl: own.url, token: own.token(leaving) });
          await glasses.connect();
          const start = await own.admin('POST', `/api/admin/sessions/${leaving}/apps/com.example.tracked/start`);
          expect(start.status).toBe(201);
          await glasses.disconnect();
          await eventually(() => own.registry.get(leaving) === undefined, 3000, 'the grace period to end it');
          const other = new SimulatedGlasses({ cloudUrl: own.url, token: own.token(staying) });
          await other.connect();
          // Nothing is sent per event (flushAt 20, 10 s): closing the service sends both, the second ended by it.
          expect(posthog.events).toEqual([]);
          await own.close();
          closed = true;
        } finally {
          await app.close();
        }
        expect(posthog.requests.every((r) => r.status === 200)).toBe(true);
        const byUser = new Map(posthog.events.map((e) => [e.distinctId, e]));
        expect(posthog.events).toHaveLength(2);
        expect(byUser.get(leaving)).toMatchObject({
          apiKey: 'phc_test_project_key_0123456789',
          event: 'session_ended',
          path: '/batch/',
          properties: { appsUsed: ['com.example.tracked'], appCount: 1, reason: 'glasses_disconnected' },
        });
        expect(byUser.get(leaving)!.properties.durationMs).toEqual(expect.any(Number));
        expect(byUser.get(leaving)!.properties.durationMs as number).toBeGreaterThan(0);
        expect(byUser.get(staying)).toMatchObject({
          event: 'session_ended',
          properties: { appsUsed: [], reason: 'shutdown' },
        });
      } finally {
        if (!closed) await own.close();
        await posthog.close();
      }
    });
  });
});

describe('observability: MAX_SESSIONS and MAX_APPS_PER_USER', () => {
  let cloud: TestCloud;
  const apps: RawApp[] = [];

  beforeAll(async () => {
    cloud = await startCloud({ MAX_SESSIONS: '2', MAX_APPS_PER_USER: '1', GLASSES_GRACE_MS: '200' });
  });
  afterAll(async () => {
    for (const a of apps) await a.close();
    await cloud.close();
  });

  it('refuses a glasses connection that would open a session beyond MAX_SESSIONS with 503 JSON at the upgrade; existing users still reconnect', async () => {
    const wsUrl = cloud.url.replace('http', 'ws') + '/glasses-ws';
    const a = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token('a@example.com') });
    const b = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token('b@example.com') });
    await a.connect();
    await b.connect();
    try {
      const refused = await RawClient.refused(wsUrl, { authorization: `Bearer ${cloud.token('c@example.com')}` });
      expect(refused.status).toBe(503);
      expect(refused.body).toMatchObject({ type: 'connection_error', code: 'TOO_MANY_SESSIONS' });
      expect(refused.body.message).toMatch(/limit of 2 sessions/);
      expect(cloud.registry.get('c@example.com')).toBeUndefined();
      // A bad token is still a 401, not a capacity answer.
      expect((await RawClient.refused(wsUrl, { authorization: 'Bearer garbage' })).status).toBe(401);

      // A user with a live session is not a new session: their reconnect is accepted.
      await a.reconnect({ previous: 'close' });
      expect(a.isOpen).toBe(true);
      const m = await scrape(cloud);
      expect(v(m, 'mentra_sessions_refused_total{reason="max_sessions"}')).toBe(1);
      expect(v(m, 'mentra_sessions')).toBe(2);

      // Once a session ends there is room again.
      await b.disconnect();
      await eventually(() => cloud.registry.get('b@example.com') === undefined, 3000, 'b session ended');
      const c = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token('c@example.com') });
      await c.connect();
      await c.disconnect();
    } finally {
      await a.disconnect().catch(() => undefined);
      await b.disconnect().catch(() => undefined);
    }
  });

  it('fails a start beyond MAX_APPS_PER_USER at the LIMIT stage (admin 409, glasses START_FAILED), and counts it', async () => {
    const user = 'apps@example.com';
    const first = await startRawApp('com.example.first');
    const second = await startRawApp('com.example.second');
    const std1 = await startRawApp('com.example.std1');
    const std2 = await startRawApp('com.example.std2');
    apps.push(first, second, std1, std2);
    first.apiKey = await cloud.registerApp({ packageName: 'com.example.first', publicUrl: first.url }, [user]);
    second.apiKey = await cloud.registerApp({ packageName: 'com.example.second', publicUrl: second.url }, [user]);
    std1.apiKey = await cloud.registerApp(
      { packageName: 'com.example.std1', publicUrl: std1.url, appType: 'standard' },
      [user],
    );
    std2.apiKey = await cloud.registerApp(
      { packageName: 'com.example.std2', publicUrl: std2.url, appType: 'standard' },
      [user],
    );
    await eventually(() => cloud.registry.size === 0, 3000, 'the sessions of the previous test ended');
    const glasses = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token(user) });
    await glasses.connect();
    try {
      const start = (pkg: string) =>
        cloud.admin('POST', `/api/admin/sessions/${encodeURIComponent(user)}/apps/${pkg}/start`);
      expect((await start('com.example.first')).status).toBe(201);

      const over = await start('com.example.second');
      expect(over.status).toBe(409);
      expect(over.body).toMatchObject({ code: 'START_FAILED', details: { stage: 'LIMIT' } });
      expect(over.body.message).toMatch(/MAX_APPS_PER_USER/);
      expect(second.webhooks).toHaveLength(0);

      const mark = glasses.mark();
      glasses.startApp('com.example.second');
      const err = await glasses.waitFor('connection_error', (m) => m.code === 'START_FAILED', { since: mark });
      expect((err as { details?: unknown }).details).toMatchObject({
        packageName: 'com.example.second',
        stage: 'LIMIT',
      });
      expect(cloud.registry.get(user)!.apps.runningApps()).toEqual(['com.example.first']);

      // A standard app replaces the running standard app, so it does not count against the limit.
      expect(
        (await cloud.admin('POST', `/api/admin/sessions/${encodeURIComponent(user)}/apps/com.example.first/stop`))
          .status,
      ).toBeLessThan(300);
      expect((await start('com.example.std1')).status).toBe(201);
      expect((await start('com.example.std2')).status).toBe(201);
      expect(cloud.registry.get(user)!.apps.runningApps()).toEqual(['com.example.std2']);

      const m = await scrape(cloud);
      expect(v(m, 'mentra_app_starts_total{outcome="LIMIT"}')).toBe(2);
      expect(v(m, 'mentra_app_starts_total{outcome="ok"}')).toBe(3);
    } finally {
      await glasses.disconnect().catch(() => undefined);
    }
  });
});
