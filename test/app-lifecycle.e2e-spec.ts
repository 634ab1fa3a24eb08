import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PendingInits } from '../src/apps/pending-inits.js';
import { SimulatedGlasses } from '../src/simulator/index.js';
import { freePort, startCloud, type TestCloud } from './support/cloud.js';
import { startRawApp, type RawApp, type WebhookReply } from './support/raw-app.js';
import { RawClient } from './support/raw-ws.js';
import { eventually, startSdkApp } from './support/sdk-app.js';

/** App lifecycle rules against raw, scriptable app servers. */
describe('app lifecycle', () => {
  let cloud: TestCloud;
  let n = 0;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];

  beforeAll(async () => {
    cloud = await startCloud({
      APP_INIT_TIMEOUT_MS: '800',
      WEBHOOK_RETRY_BASE_MS: '100',
      WEBHOOK_RETRY_WINDOW_MS: '2500',
      APP_GRACE_MS: '300',
      EMPTY_SUBSCRIPTION_GRACE_MS: '600',
    });
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => cloud.close());

  async function setup(reply: (body: any, n: number) => WebhookReply, def: Record<string, unknown> = {}) {
    const user = `user${++n}@example.com`;
    const pkg = `com.example.app${n}`;
    const app = await startRawApp(pkg, reply);
    cleanups.push(() => app.close());
    app.apiKey = await cloud.registerApp({ packageName: pkg, publicUrl: app.url, ...def }, [user]);
    const glasses = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token(user) });
    cleanups.push(() => glasses.disconnect().catch(() => undefined));
    await glasses.connect();
    return { user, pkg, app, glasses };
  }

  const start = (user: string, pkg: string) => cloud.admin('POST', `/api/admin/sessions/${user}/apps/${pkg}/start`);
  const sessionRequests = (app: RawApp) => app.webhooks.filter((w) => w.type === 'session_request');

  it('sends session_request with both WebSocket URL fields and the app session id', async () => {
    const { user, pkg, app } = await setup(() => ({}));
    expect((await start(user, pkg)).status).toBe(201);
    const [hook] = sessionRequests(app);
    expect(hook).toMatchObject({ type: 'session_request', sessionId: `${user}-${pkg}`, userId: user });
    expect(hook.mentraOSWebsocketUrl).toBe(`${cloud.url.replace('http', 'ws')}/app-ws`);
    expect(hook.augmentOSWebsocketUrl).toBe(hook.mentraOSWebsocketUrl);
  });

  // The app answers session_request after its init was acked (as the SDK does): aborting that request when the
  // init arrives would close the connection and make every webhook open a new one.
  it('starts and stops of an app reuse one keep-alive webhook connection', async () => {
    const { user, pkg, app } = await setup(() => ({}));
    for (let i = 0; i < 3; i++) {
      expect((await start(user, pkg)).status).toBe(201);
      // The webhook's answer follows the ack; let it arrive so the connection is free again.
      await eventually(() => app.webhooks.length === 2 * i + 1, 2000, 'session_request');
      await new Promise((r) => setTimeout(r, 50));
      expect((await cloud.admin('POST', `/api/admin/sessions/${user}/apps/${pkg}/stop`)).status).toBe(201);
      await eventually(() => app.webhooks.length === 2 * i + 2, 2000, 'stop_request');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(app.webhooks.map((w) => w.type)).toEqual(Array(3).fill(['session_request', 'stop_request']).flat());
    expect(app.connections).toBe(1);
  });

  it('retries a webhook that answers 5xx, and runs once it gets through (one success)', async () => {
    const { user, pkg, app } = await setup((_b, i) => (i <= 3 ? { status: 503 } : {}));
    const res = await start(user, pkg);
    expect(res.status).toBe(201);
    expect(sessionRequests(app)).toHaveLength(4);
    expect(app.sockets).toHaveLength(1);
    expect(cloud.registry.get(user)!.apps.runningApps()).toEqual([pkg]);
  });

  it('fails at the WEBHOOK stage when the app refuses connections, and leaves nothing behind', async () => {
    const user = `refused${++n}@example.com`;
    const pkg = `com.example.refused${n}`;
    await cloud.registerApp({ packageName: pkg, publicUrl: `http://127.0.0.1:${await freePort()}` }, [user]);
    const glasses = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token(user) });
    cleanups.push(() => glasses.disconnect().catch(() => undefined));
    await glasses.connect();
    const t0 = Date.now();
    const res = await start(user, pkg);
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ code: 'START_FAILED', details: { stage: 'WEBHOOK' } });
    expect(res.body.message).toMatch(/ECONNREFUSED/);
    expect(Date.now() - t0).toBeLessThan(6000);
    const summary = (await cloud.admin('GET', `/api/admin/sessions/${user}`)).body;
    expect(summary.runningApps).toEqual([]);
    expect(summary.loadingApps).toEqual([]);
    // The failing stage stays visible to operators after the runtime is gone.
    expect(summary.apps).toEqual([
      expect.objectContaining({
        packageName: pkg,
        state: 'stopped',
        lastStart: expect.objectContaining({ ok: false, stage: 'WEBHOOK' }),
      }),
    ]);
    expect((await cloud.admin('GET', `/api/admin/users/${user}`)).body.runningApps).toEqual([]);
  });

  it('does not retry a 4xx answer', async () => {
    const { user, pkg, app } = await setup(() => ({ status: 404 }));
    const res = await start(user, pkg);
    expect(res.body.details.stage).toBe('WEBHOOK');
    expect(sessionRequests(app)).toHaveLength(1);
  });

  it('counts a valid init as success while the webhook is still open, and ignores a slow or failed reply after it', async () => {
    const { user, pkg, app } = await setup(() => ({ delayMs: 1500, status: 500, connect: true }));
    const t0 = Date.now();
    const res = await start(user, pkg);
    expect(res.status).toBe(201);
    expect(Date.now() - t0).toBeLessThan(1200);
    await new Promise((r) => setTimeout(r, 1800));
    expect(sessionRequests(app)).toHaveLength(1);
    expect(cloud.registry.get(user)!.apps.runningApps()).toEqual([pkg]);
    expect(app.sockets[0]!.closed).toBeNull();
  });

  it('fails at TIMEOUT when the app accepts the webhook but never connects, and tells it to stop with reason "error"', async () => {
    const { user, pkg, app } = await setup(() => ({ connect: false }));
    const res = await start(user, pkg);
    expect(res.body.details.stage).toBe('TIMEOUT');
    await eventually(() => app.webhooks.some((w) => w.type === 'stop_request'), 2000, 'stop webhook');
    expect(app.webhooks.find((w) => w.type === 'stop_request').reason).toBe('error');
    expect(cloud.registry.get(user)!.apps.loadingApps()).toEqual([]);
  });

  it('fails at INIT_REFUSED, not TIMEOUT, when a real SDK app connects with a wrong API key', async () => {
    const user = `wrongkey${++n}@example.com`;
    const pkg = `com.example.wrongkey${n}`;
    const apiKey = await cloud.registerApp({ packageName: pkg, publicUrl: 'http://127.0.0.1:9' }, [user]);
    const sdk = await startSdkApp(pkg, `${apiKey}-not-it`, () => undefined);
    cleanups.push(() => sdk.close());
    expect((await cloud.admin('PATCH', `/api/admin/apps/${pkg}`, { publicUrl: sdk.url })).status).toBe(200);
    const glasses = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token(user) });
    cleanups.push(() => glasses.disconnect().catch(() => undefined));
    await glasses.connect();
    const res = await start(user, pkg);
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ code: 'START_FAILED', details: { stage: 'INIT_REFUSED' } });
    expect(res.body.message).toMatch(/INVALID_API_KEY/);
    expect(cloud.app.get(PendingInits).size).toBe(0);
    const summary = (await cloud.admin('GET', `/api/admin/sessions/${user}`)).body;
    expect(summary.loadingApps).toEqual([]);
    expect(summary.apps).toEqual([
      expect.objectContaining({
        packageName: pkg,
        state: 'stopped',
        lastStart: expect.objectContaining({ stage: 'INIT_REFUSED' }),
      }),
    ]);
  });

  it('a forged refused init (a wrong key naming the session) does not fail a start whose app connects right after', async () => {
    const forged: RawClient[] = [];
    const { user, pkg, app } = await setup((body) => {
      if (body.type === 'session_request')
        void RawClient.open(body.mentraOSWebsocketUrl).then((c) => {
          forged.push(c);
          c.send({ type: 'tpa_connection_init', sessionId: body.sessionId, packageName: pkg, apiKey: 'f'.repeat(64) });
        });
      return { connectAfterMs: 50 };
    });
    cleanups.push(() => forged.forEach((c) => c.close()));
    const res = await start(user, pkg);
    expect(res.status).toBe(201);
    expect(forged).toHaveLength(1);
    expect((await forged[0]!.next((m) => m.type === 'tpa_connection_error')).code).toBe('INVALID_API_KEY');
    expect(cloud.registry.get(user)!.apps.runningApps()).toEqual([pkg]);
    expect(app.sockets[0]!.closed).toBeNull();
  });

  it('concurrent starts (glasses + two admin calls in one tick) send exactly one webhook; starting a running app sends none', async () => {
    const { user, pkg, app, glasses } = await setup(() => ({ delayMs: 200 }));
    glasses.startApp(pkg);
    const [a, b] = await Promise.all([start(user, pkg), start(user, pkg)]);
    expect([a.status, b.status]).toEqual([201, 201]);
    await eventually(() => cloud.registry.get(user)!.apps.runningApps().length === 1, 2000, 'running');
    expect(sessionRequests(app)).toHaveLength(1);
    const again = await start(user, pkg);
    expect(again.body).toMatchObject({ ok: true, alreadyRunning: true });
    glasses.startApp(pkg);
    await new Promise((r) => setTimeout(r, 200));
    expect(sessionRequests(app)).toHaveLength(1);
  });

  it('runs one standard app at a time: starting another stops the first with reason system_stop', async () => {
    const { user, pkg, app } = await setup(() => ({}), { appType: 'standard' });
    const second = await startRawApp(`${pkg}.two`, () => ({}));
    cleanups.push(() => second.close());
    second.apiKey = await cloud.registerApp({ packageName: `${pkg}.two`, publicUrl: second.url, appType: 'standard' }, [
      user,
    ]);
    const background = await startRawApp(`${pkg}.bg`, () => ({}));
    cleanups.push(() => background.close());
    background.apiKey = await cloud.registerApp(
      { packageName: `${pkg}.bg`, publicUrl: background.url, appType: 'background' },
      [user],
    );
    await start(user, pkg);
    await start(user, `${pkg}.bg`);
    await start(user, `${pkg}.two`);
    expect(cloud.registry.get(user)!.apps.runningApps().sort()).toEqual([`${pkg}.bg`, `${pkg}.two`].sort());
    await eventually(() => app.webhooks.some((w) => w.type === 'stop_request'), 2000, 'stop of the first');
    expect(app.webhooks.find((w) => w.type === 'stop_request')).toMatchObject({
      reason: 'system_stop',
      sessionId: `${user}-${pkg}`,
    });
    const closed = await app.sockets[0]!.waitClosed();
    expect(closed).toEqual({ code: 1000, reason: 'App stopped' });
    expect(app.sockets[0]!.messages.at(-1)).toMatchObject({ type: 'app_stopped' });
  });

  it('a user stop sends stop_request with reason user_disabled', async () => {
    const { user, pkg, app, glasses } = await setup(() => ({}));
    await start(user, pkg);
    glasses.stopApp(pkg);
    await eventually(() => app.webhooks.some((w) => w.type === 'stop_request'), 2000, 'stop webhook');
    expect(app.webhooks.find((w) => w.type === 'stop_request').reason).toBe('user_disabled');
  });

  it('acks with merged settings (user values over schema defaults), both system-settings fields and capabilities', async () => {
    const { user, pkg, app } = await setup(() => ({}), {
      settings: [
        { type: 'group', title: 'General' },
        { type: 'toggle', key: 'loud', label: 'Loud', defaultValue: false },
        { type: 'text', key: 'greeting', label: 'Greeting', defaultValue: 'hi' },
      ],
    });
    await cloud.app
      .get((await import('../src/persistence/persistence.types.js')).USER_REPOSITORY)
      .setAppSettings(user, pkg, [{ key: 'greeting', value: 'hello' }]);
    await start(user, pkg);
    const ack = app.sockets[0]!.messages.find((m) => m.type === 'tpa_connection_ack');
    expect(ack.settings.map((s: any) => [s.key, s.value])).toEqual([
      ['loud', false],
      ['greeting', 'hello'],
    ]);
    expect(ack.mentraosSettings).toMatchObject({ metricSystemEnabled: false, brightness: 50 });
    expect(ack.augmentosSettings).toEqual(ack.mentraosSettings);
    expect(ack.capabilities).toMatchObject({ modelName: 'Even Realities G1', hasDisplay: true, hasCamera: false });
  });

  describe('subscriptions', () => {
    it('filters by permission with one permission_error per newly dropped stream; the mic stays off for a dropped audio stream', async () => {
      const { user, pkg, app, glasses } = await setup(() => ({
        subscriptions: ['button_press', 'audio_chunk', 'location_stream'],
      }));
      await start(user, pkg);
      const socket = app.sockets[0]!;
      const err = await socket.next((m) => m.type === 'permission_error');
      expect(err.details.map((d: any) => [d.stream, d.requiredPermission]).sort()).toEqual([
        ['audio_chunk', 'MICROPHONE'],
        ['location_stream', 'LOCATION'],
      ]);
      expect(cloud.registry.get(user)!.subscriptions.subscriptionsOf(pkg)).toEqual(['button_press']);
      // The SDK re-sends its full list: nothing new is reported.
      socket.send({
        type: 'subscription_update',
        packageName: pkg,
        sessionId: `${user}-${pkg}`,
        subscriptions: ['button_press', 'audio_chunk', 'location_stream', 'calendar_event'],
      });
      const second = await socket.next((m) => m.type === 'permission_error' && m !== err);
      expect(second.details.map((d: any) => d.stream)).toEqual(['calendar_event']);
      await new Promise((r) => setTimeout(r, 200));
      expect(glasses.state.micEnabled).not.toBe(true);
      const from = socket.binary.length;
      glasses.sendAudio(Buffer.alloc(640));
      await new Promise((r) => setTimeout(r, 150));
      expect(socket.binary.length).toBe(from);
    });

    it('ignores an empty list right after (re)connect, and honours it afterwards', async () => {
      const { user, pkg, app } = await setup(() => ({ subscriptions: ['button_press'] }));
      await start(user, pkg);
      const socket = app.sockets[0]!;
      const sessionId = `${user}-${pkg}`;
      socket.send({ type: 'subscription_update', packageName: pkg, sessionId, subscriptions: [] });
      await new Promise((r) => setTimeout(r, 100));
      expect(cloud.registry.get(user)!.subscriptions.subscriptionsOf(pkg)).toEqual(['button_press']);
      await new Promise((r) => setTimeout(r, 600));
      socket.send({ type: 'subscription_update', packageName: pkg, sessionId, subscriptions: [] });
      await eventually(
        () => cloud.registry.get(user)!.subscriptions.subscriptionsOf(pkg).length === 0,
        2000,
        'emptied',
      );
    });

    it('echoes each app its own subscription string: language options, touch gestures, location_stream', async () => {
      const subs = ['transcription:en-US?hints=ja', 'touch_event:single_tap', 'touch_event', 'location_stream'];
      const { user, pkg, app, glasses } = await setup(() => ({ subscriptions: subs }), {
        permissions: [{ type: 'MICROPHONE' }, { type: 'LOCATION' }],
      });
      await start(user, pkg);
      const socket = app.sockets[0]!;
      await eventually(
        () => cloud.registry.get(user)!.subscriptions.subscriptionsOf(pkg).length === 4,
        2000,
        'subscribed',
      );
      const from = socket.messages.length;
      glasses.sendTranscript('konnichiwa');
      glasses.touch('single_tap');
      glasses.touch('double_tap');
      glasses.setLocation(52.5, 13.4, 10);
      await eventually(
        () => socket.messages.slice(from).filter((m) => m.type === 'data_stream').length >= 4,
        2000,
        'four streams',
      );
      const streams = socket.messages
        .slice(from)
        .filter((m) => m.type === 'data_stream')
        .map((m) => [m.streamType, m.data.type]);
      expect(streams).toEqual([
        ['transcription:en-US?hints=ja', 'transcription'],
        ['touch_event:single_tap', 'touch_event'],
        ['touch_event', 'touch_event'],
        ['location_stream', 'location_update'],
      ]);
    });
  });
});
