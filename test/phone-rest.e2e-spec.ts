import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AppSession } from '@mentra/sdk';
import { SignJWT } from 'jose';
import { signCoreToken } from '../src/simulator/core-token.js';
import type { SimulatedGlasses } from '../src/simulator/index.js';
import { connectGlasses, startCloud, type TestCloud } from './support/cloud.js';
import { eventually, serveSdkApp, type SdkAppHandle } from './support/sdk-app.js';

/**
 * The MentraOS phone app's REST surface: a simulated phone that uses only these routes (with its core token)
 * and the glasses socket, against the real service and real @mentra/sdk 2.1.29 apps.
 */
const PROVIDER_SECRET = 'phone-rest-provider-secret-0123456789abcdef';

describe('phone REST surface (/api/client/*, /apps/:packageName/start|stop)', () => {
  let cloud: TestCloud;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  let users = 0;

  beforeAll(async () => {
    cloud = await startCloud({
      // The phone signs in as the real one does: a provider token exchanged at POST /auth/exchange-token.
      SUPABASE_JWT_SECRET: PROVIDER_SECRET,
      CLIENT_MIN_VERSION: '2.1.16',
      CLIENT_RECOMMENDED_VERSION: '2.2.0',
      // A start against a dead app server fails (stage WEBHOOK) quickly.
      WEBHOOK_RETRY_WINDOW_MS: '300',
      APP_GRACE_MS: '300',
    });
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await cloud.close();
  });

  const newUser = (name: string): string => `${name}-${++users}@example.com`;

  /** One REST call as the phone makes it; `token: null` sends no Authorization header. */
  async function call(
    method: string,
    path: string,
    opts: { token?: string | null; body?: unknown } = {},
  ): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(cloud.url + path, {
      method,
      headers,
      body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  /**
   * The phone of `userId`, signed in as the MentraOS phone app does (its identity provider's token exchanged for a
   * core token); its REST calls and its glasses socket carry that core token.
   */
  async function phoneOf(userId: string) {
    const providerToken = await new SignJWT({ email: userId, role: 'authenticated' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(PROVIDER_SECRET));
    const signIn = await call('POST', '/auth/exchange-token', { body: { supabaseToken: providerToken } });
    expect(signIn.status).toBe(200);
    const token: string = signIn.body.coreToken;
    return {
      token,
      get: (path: string) => call('GET', path, { token }),
      post: (path: string, body?: unknown) => call('POST', path, { token, body }),
      put: (path: string, body?: unknown) => call('PUT', path, { token, body }),
      connect: async (options: Parameters<typeof connectGlasses>[3] = {}): Promise<SimulatedGlasses> =>
        (await connectGlasses({ url: cloud.url, token: () => token }, userId, cleanups, options)).glasses,
    };
  }

  async function sdkApp(
    packageName: string,
    userId: string,
    onSession: (s: AppSession) => void,
    extra: Record<string, unknown> = {},
  ): Promise<SdkAppHandle> {
    const { app } = await serveSdkApp(cloud, { packageName, ...extra }, [userId], (s) => onSession(s));
    cleanups.push(() => app.close());
    return app;
  }

  const session = async (userId: string) =>
    (await cloud.admin('GET', `/api/admin/sessions/${encodeURIComponent(userId)}`)).body;

  async function waitForSubscription(userId: string, packageName: string, stream: string): Promise<void> {
    await eventually(
      async () => (await session(userId)).subscriptions?.[packageName]?.includes(stream),
      5000,
      `${packageName} subscribed to ${stream}`,
    );
  }

  it('the home-screen loop: list, start (app_state_change), see it running, change a setting the SDK app observes, stop', async () => {
    const user = newUser('loop');
    const phone = await phoneOf(user);
    const metric: Array<{ value: unknown; old: unknown }> = [];
    const atStart: unknown[] = [];
    const app = await sdkApp(
      'com.example.units',
      user,
      (s) => {
        atStart.push(s.settings.getMentraOS('metricSystemEnabled'));
        s.settings.onMentraosSettingChange('metricSystemEnabled', (value, old) => metric.push({ value, old }));
      },
      { appType: 'standard', name: 'Units', logoURL: 'https://units.example.com/logo.png' },
    );
    const glasses = await phone.connect();

    const before = await phone.get('/api/client/apps');
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ success: true, timestamp: expect.any(String) });
    expect(before.body.data).toEqual([
      {
        packageName: 'com.example.units',
        name: 'Units',
        webviewUrl: '',
        logoUrl: 'https://units.example.com/logo.png',
        type: 'standard',
        permissions: [],
        running: false,
        loading: false,
        healthy: true,
        hardwareRequirements: [],
        installedDate: expect.any(String),
      },
    ]);

    const mark = glasses.mark();
    const started = await phone.post('/apps/com.example.units/start');
    expect(started).toEqual({
      status: 200,
      body: { success: true, data: { status: 'started', packageName: 'com.example.units', alreadyRunning: false } },
    });
    await glasses.waitFor('app_state_change', undefined, { since: mark });
    const running = await phone.get('/api/client/apps');
    expect(running.body.data[0]).toMatchObject({ packageName: 'com.example.units', running: true, loading: false });
    expect(atStart).toEqual([false]);

    const changed = await phone.put('/api/client/user/settings', { settings: { metric_system: true } });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ success: true, data: { settings: { metric_system: true } } });
    await eventually(() => metric.length > 0, 5000, 'onMentraosSettingChange(metricSystemEnabled)');
    expect(metric).toEqual([{ value: true, old: false }]);
    expect((await phone.get('/api/client/user/settings')).body.data.settings).toEqual({ metric_system: true });

    const stopMark = glasses.mark();
    const stopped = await phone.post('/apps/com.example.units/stop');
    expect(stopped).toEqual({
      status: 200,
      body: { success: true, data: { status: 'stopped', packageName: 'com.example.units', wasRunning: true } },
    });
    await glasses.waitFor('app_state_change', undefined, { since: stopMark });
    expect((await phone.get('/api/client/apps')).body.data[0]).toMatchObject({ running: false, loading: false });
    await eventually(() => app.stops.length === 1, 5000, 'the stop webhook');
    expect(app.stops[0]).toMatchObject({ userId: user, reason: 'user_disabled' });
  });

  describe('authentication and the live session', () => {
    const authed: Array<[string, string, unknown?]> = [
      ['GET', '/api/client/apps'],
      ['GET', '/api/client/user/settings'],
      ['PUT', '/api/client/user/settings', { settings: { metric_system: true } }],
      ['POST', '/api/client/user/settings', { settings: { metric_system: true } }],
      ['POST', '/api/client/device/state', { modelName: 'Even Realities G1' }],
      ['POST', '/api/client/location', { location: { lat: 1, lng: 2 } }],
      ['POST', '/api/client/location/poll-response/p1', { location: { lat: 1, lng: 2 } }],
      ['POST', '/api/client/calendar', { events: [] }],
      ['POST', '/api/client/notifications', { notificationId: 'n', app: 'A', title: 't', content: 'c' }],
      ['POST', '/api/client/notifications/dismissed', { notificationId: 'n', notificationKey: 'k', packageName: 'p' }],
      ['POST', '/apps/com.example.units/start'],
      ['POST', '/apps/com.example.units/stop'],
    ];

    it('every route but min-version needs a valid core token: 401 INVALID_TOKEN without one, or with a forged one', async () => {
      const forged = signCoreToken('mallory@example.com', 'not-the-secret-of-this-cloud');
      for (const [method, path, body] of authed) {
        for (const token of [null, forged, 'garbage']) {
          const res = await call(method, path, { token, body });
          expect({ method, path, status: res.status, code: res.body?.code }).toEqual({
            method,
            path,
            status: 401,
            code: 'INVALID_TOKEN',
          });
        }
      }
    });

    it('routes acting on the session answer 503 NO_ACTIVE_SESSION (error field included) without a glasses socket', async () => {
      const phone = await phoneOf(newUser('nosession'));
      for (const [method, path, body] of authed.slice(4)) {
        const res = await call(method, path, { token: phone.token, body });
        expect({ path, status: res.status, body: res.body }).toEqual({
          path,
          status: 503,
          body: expect.objectContaining({ statusCode: 503, code: 'NO_ACTIVE_SESSION', error: 'NO_ACTIVE_SESSION' }),
        });
      }
      // The home screen and the settings work without one.
      expect((await phone.get('/api/client/apps')).body).toMatchObject({ success: true, data: [] });
      expect((await phone.get('/api/client/user/settings')).body).toMatchObject({
        success: true,
        data: { settings: {} },
      });
    });

    it('GET /api/client/min-version needs no token and answers the configured versions', async () => {
      expect(await call('GET', '/api/client/min-version')).toEqual({
        status: 200,
        body: { success: true, data: { required: '2.1.16', recommended: '2.2.0' } },
      });
    });
  });

  it('Swagger documents every phone route under the client tag, beside the admin API', async () => {
    const doc = (await call('GET', '/api/docs-json')).body;
    const routes: Array<[string, string]> = [
      ['get', '/api/client/min-version'],
      ['get', '/api/client/apps'],
      ['get', '/api/client/user/settings'],
      ['put', '/api/client/user/settings'],
      ['post', '/api/client/user/settings'],
      ['post', '/api/client/device/state'],
      ['post', '/api/client/location'],
      ['post', '/api/client/location/poll-response/{correlationId}'],
      ['post', '/api/client/calendar'],
      ['post', '/api/client/notifications'],
      ['post', '/api/client/notifications/dismissed'],
      ['post', '/apps/{packageName}/start'],
      ['post', '/apps/{packageName}/stop'],
    ];
    for (const [method, path] of routes)
      expect({ path, method, tags: doc.paths[path]?.[method]?.tags }).toEqual({
        path,
        method,
        tags: ['client: phone app'],
      });
    expect(doc.paths['/api/admin/apps']).toBeDefined();
  });

  describe('start and stop', () => {
    it('a failed start names its stage: LOOKUP (404) for unknown and not installed apps, WEBHOOK (502) for a dead server, which then shows unhealthy', async () => {
      const user = newUser('starts');
      const phone = await phoneOf(user);
      await phone.connect();
      await cloud.registerApp({ packageName: 'com.example.notmine', publicUrl: 'http://127.0.0.1:9' }, []);
      await cloud.registerApp({ packageName: 'com.example.dead', publicUrl: 'http://127.0.0.1:9', name: 'Dead' }, [
        user,
      ]);

      const unknown = await phone.post('/apps/com.example.nothere/start');
      expect(unknown.status).toBe(404);
      expect(unknown.body).toMatchObject({ code: 'START_FAILED', details: { stage: 'LOOKUP' } });
      const notInstalled = await phone.post('/apps/com.example.notmine/start');
      expect(notInstalled.status).toBe(404);
      expect(notInstalled.body).toMatchObject({ code: 'START_FAILED', details: { stage: 'LOOKUP' } });

      const dead = await phone.post('/apps/com.example.dead/start');
      expect(dead.status).toBe(502);
      expect(dead.body).toMatchObject({
        code: 'START_FAILED',
        details: { stage: 'WEBHOOK', packageName: 'com.example.dead' },
      });
      const list = await phone.get('/api/client/apps');
      expect(list.body.data).toEqual([
        expect.objectContaining({ packageName: 'com.example.dead', running: false, loading: false, healthy: false }),
      ]);
    });

    it('the home screen shows an app as loading while it starts, and a second start joins the first', async () => {
      const user = newUser('loading');
      const phone = await phoneOf(user);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      await sdkApp('com.example.slow', user, async () => {
        await gate;
      });
      const glasses = await phone.connect();
      const mark = glasses.mark();
      const first = phone.post('/apps/com.example.slow/start');
      await glasses.waitFor('app_state_change', undefined, { since: mark }); // loading
      const loading = await eventually(async () => {
        const app = (await phone.get('/api/client/apps')).body.data[0];
        return app.loading ? app : null;
      });
      expect(loading).toMatchObject({ running: false, loading: true });
      const second = phone.post('/apps/com.example.slow/start');
      release();
      expect((await first).body.data).toMatchObject({ status: 'started', alreadyRunning: false });
      expect((await second).status).toBe(200);
      expect((await phone.get('/api/client/apps')).body.data[0]).toMatchObject({ running: true, loading: false });
    });

    it('stop: an app that is not running is no error (wasRunning:false); an unknown app is 404; a bad package name 400', async () => {
      const user = newUser('stops');
      const phone = await phoneOf(user);
      await phone.connect();
      await cloud.registerApp({ packageName: 'com.example.idle', publicUrl: 'http://127.0.0.1:9' }, [user]);
      expect((await phone.post('/apps/com.example.idle/stop')).body).toEqual({
        success: true,
        data: { status: 'stopped', packageName: 'com.example.idle', wasRunning: false },
      });
      const unknown = await phone.post('/apps/com.example.nothere/stop');
      expect(unknown.status).toBe(404);
      expect(unknown.body.code).toBe('APP_NOT_FOUND');
      const bad = await phone.post('/apps/..%2Fetc/stop');
      expect(bad.status).toBe(400);
      expect(bad.body.code).toBe('BAD_REQUEST');
    });
  });

  describe('user settings', () => {
    it('merges, removes with null, keeps keys it does not interpret, and persists without a session', async () => {
      const phone = await phoneOf(newUser('settings'));
      expect(
        (await phone.post('/api/client/user/settings', { settings: { brightness: 70, theme: 'dark' } })).body,
      ).toMatchObject({
        success: true,
        data: { settings: { brightness: 70, theme: 'dark' } },
        timestamp: expect.any(String),
      });
      const merged = await phone.put('/api/client/user/settings', {
        settings: {
          brightness: null,
          head_up_angle: 30,
          timezone: 'Europe/Berlin',
          'preferred_mic:Mentra Live': 'glasses',
        },
      });
      expect(merged.body.data.settings).toEqual({
        theme: 'dark',
        head_up_angle: 30,
        timezone: 'Europe/Berlin',
        'preferred_mic:Mentra Live': 'glasses',
      });
      expect((await phone.get('/api/client/user/settings')).body.data.settings).toEqual(merged.body.data.settings);
    });

    it('bad input: 400 with every problem, and nothing stored', async () => {
      const phone = await phoneOf(newUser('badsettings'));
      await phone.put('/api/client/user/settings', { settings: { metric_system: false } });
      const bad = [
        [
          { settings: { metric_system: 'yes', brightness: 150, timezone: 'Nowhere/City' } },
          /metric_system must be a boolean/,
        ],
        [{ settings: { default_wearable: 42 } }, /default_wearable must be a string/],
        [{ settings: [] }, /settings must be an object/],
        [{ settings: {} }, /at least one key/],
        [{}, /settings must be an object/],
        [{ settings: { ok: true }, extra: 1 }, /property extra should not exist/],
        [{ settings: { 'a.b': 1 } }, /not a valid setting name/],
        ['{"settings":{"__proto__":{"polluted":true}}}', /should not exist/],
        ['{"settings":{"$where":"1"}}', /should not exist/],
        ['{"settings": ', /JSON|Unexpected|Expected/],
      ] as const;
      for (const [body, message] of bad) {
        const res = await phone.put('/api/client/user/settings', body);
        expect({ body, status: res.status, code: res.body?.code }).toEqual({ body, status: 400, code: 'BAD_REQUEST' });
        expect(JSON.stringify(res.body.message)).toMatch(message);
      }
      expect((await phone.get('/api/client/user/settings')).body.data.settings).toEqual({ metric_system: false });
    });

    it('a user keeps at most 300 settings: a write adding more is refused, changing an existing one still works', async () => {
      const phone = await phoneOf(newUser('manykeys'));
      for (let batch = 0; batch < 3; batch++) {
        const settings = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`key_${batch}_${i}`, i]));
        expect((await phone.put('/api/client/user/settings', { settings })).status).toBe(200);
      }
      const over = await phone.put('/api/client/user/settings', { settings: { one_more: 1 } });
      expect(over.status).toBe(400);
      expect(over.body.message).toMatch(/at most 300 settings/);
      expect((await phone.put('/api/client/user/settings', { settings: { key_0_0: 'changed' } })).status).toBe(200);
      const swapped = await phone.put('/api/client/user/settings', { settings: { key_0_1: null, one_more: 1 } });
      expect(swapped.status).toBe(200);
      expect(Object.keys(swapped.body.data.settings)).toHaveLength(300);
    });

    it('a newly started app gets the stored settings as mentraosSettings in its ack', async () => {
      const user = newUser('ack');
      const phone = await phoneOf(user);
      await phone.put('/api/client/user/settings', {
        settings: { metric_system: true, brightness: 20, timezone: 'Asia/Tokyo' },
      });
      const seen: unknown[] = [];
      await sdkApp('com.example.ack', user, (s) =>
        seen.push([
          s.settings.getMentraOS('metricSystemEnabled'),
          s.settings.getMentraOS('brightness'),
          s.settings.getMentraOS('userTimezone'),
          s.settings.getMentraOS('contextualDashboard'),
        ]),
      );
      await phone.connect();
      expect((await phone.post('/apps/com.example.ack/start')).status).toBe(200);
      await eventually(() => seen.length > 0);
      expect(seen).toEqual([[true, 20, 'Asia/Tokyo', true]]);
    });

    it('default_wearable sets the model and its capabilities until the glasses report theirs, and again in the next session', async () => {
      const user = newUser('wearable');
      const phone = await phoneOf(user);
      const glasses = await phone.connect({ sendConnectionState: false });
      expect((await session(user)).modelName).toBeNull();

      await phone.put('/api/client/user/settings', { settings: { default_wearable: 'Mentra Live' } });
      const withDefault = await session(user);
      expect(withDefault.modelName).toBe('Mentra Live');
      expect(withDefault.capabilities).toMatchObject({ modelName: 'Mentra Live', hasCamera: true });

      glasses.sendConnectionState('CONNECTED');
      await eventually(async () => (await session(user)).modelName === glasses.model.name, 5000, 'the reported model');
      await phone.put('/api/client/user/settings', { settings: { default_wearable: 'Vuzix Z100' } });
      expect((await session(user)).modelName).toBe(glasses.model.name);

      // A fresh session starts with the stored default.
      await glasses.disconnect();
      expect((await cloud.admin('DELETE', `/api/admin/sessions/${encodeURIComponent(user)}`)).status).toBe(204);
      await phone.connect({ sendConnectionState: false });
      await eventually(async () => (await session(user)).modelName === 'Vuzix Z100', 5000, 'the stored default');
    });
  });

  describe('phone events over REST reach SDK apps as the socket ones do', () => {
    async function observer(user: string) {
      const packageName = `com.example.observer${users}`;
      const seen = {
        notifications: [] as any[],
        dismissed: [] as any[],
        locations: [] as any[],
        calendar: [] as any[],
        capabilities: [] as any[],
      };
      const sessions: AppSession[] = [];
      await sdkApp(
        packageName,
        user,
        (s) => {
          sessions.push(s);
          s.events.onPhoneNotifications((n) => seen.notifications.push(n));
          s.events.onPhoneNotificationDismissed((n) => seen.dismissed.push(n));
          s.events.onLocation((l) => seen.locations.push(l));
          s.events.onCalendarEvent((e) => seen.calendar.push(e));
          s.events.onCapabilitiesUpdate((c) => seen.capabilities.push(c));
        },
        { permissions: [{ type: 'READ_NOTIFICATIONS' }, { type: 'LOCATION' }, { type: 'CALENDAR' }] },
      );
      const phone = await phoneOf(user);
      // The phone answers location polls over REST here, not on the socket.
      const glasses = await phone.connect({ autoAnswer: { location: false } });
      expect((await phone.post(`/apps/${packageName}/start`)).status).toBe(200);
      for (const stream of ['phone_notification', 'phone_notification_dismissed', 'location_update', 'calendar_event'])
        await waitForSubscription(user, packageName, stream);
      return { phone, seen, glasses, sdk: sessions[0]! };
    }

    it('notifications and their dismissals', async () => {
      const { phone, seen } = await observer(newUser('notify'));
      const sent = await phone.post('/api/client/notifications', {
        notificationId: 'n-1',
        app: 'Messages',
        title: 'Alice',
        content: 'Lunch?',
        priority: 'high',
        timestamp: 1_700_000_000_000,
        packageName: 'com.android.messaging',
      });
      expect(sent.body).toMatchObject({ success: true });
      await eventually(() => seen.notifications.length === 1);
      expect(seen.notifications[0]).toMatchObject({
        notificationId: 'n-1',
        app: 'Messages',
        title: 'Alice',
        content: 'Lunch?',
        priority: 'high',
        packageName: 'com.android.messaging',
      });
      await phone.post('/api/client/notifications/dismissed', {
        notificationId: 'n-1',
        notificationKey: 'key-1',
        packageName: 'com.android.messaging',
      });
      await eventually(() => seen.dismissed.length === 1);
      expect(seen.dismissed[0]).toMatchObject({ notificationId: 'n-1', notificationKey: 'key-1' });

      for (const body of [
        { notificationId: 'n-2', app: 'A', title: 'no content' },
        { notificationId: 'n-2', app: 'A', title: 't', content: 'c', priority: 'urgent' },
        { notificationId: 'n-2', app: 'A', title: 't', content: 'c', unknownField: 1 },
      ]) {
        const res = await phone.post('/api/client/notifications', body);
        expect({ body, status: res.status, code: res.body.code }).toEqual({ body, status: 400, code: 'BAD_REQUEST' });
      }
      expect((await phone.post('/api/client/notifications/dismissed', { notificationId: 'n' })).status).toBe(400);
    });

    it("location in its three shapes, and a poll answered over REST resolves the app's getLatestLocation", async () => {
      const { phone, seen, glasses, sdk } = await observer(newUser('location'));
      const mark = glasses.mark();
      const polled = sdk.location.getLatestLocation({ accuracy: 'high' });
      const request = await glasses.waitFor('request_single_location', undefined, { since: mark });
      const answer = await phone.post(`/api/client/location/poll-response/${request.correlationId}`, {
        location: { lat: 1.5, lng: 2.5, accuracy: 3 },
      });
      expect(answer.body).toMatchObject({ success: true, resolved: true });
      expect(await polled).toMatchObject({ lat: 1.5, lng: 2.5, correlationId: request.correlationId });
      seen.locations.length = 0; // the poll answer reached the app's location handlers too

      await phone.post('/api/client/location', { location: { lat: 52.5, lng: 13.4, accuracy: 5 } });
      await phone.post('/api/client/location', {
        location: { coords: { latitude: 48.1, longitude: 11.6, accuracy: null }, timestamp: 1 },
      });
      const expo = await phone.post('/api/client/location', {
        coords: { latitude: 40.7, longitude: -74, accuracy: 12, altitude: 3, heading: null, speed: 0 },
        timestamp: 1_700_000_000_000,
        mocked: false,
      });
      expect(expo.body).toMatchObject({ success: true });
      await eventually(() => seen.locations.length === 3);
      expect(seen.locations.map((l) => [l.lat, l.lng, l.accuracy])).toEqual([
        [52.5, 13.4, 5],
        [48.1, 11.6, undefined],
        [40.7, -74, 12],
      ]);
      const unpolled = await phone.post('/api/client/location/poll-response/nobody-asked', {
        location: { lat: 1, lng: 2 },
      });
      expect(unpolled.body).toMatchObject({ success: true, resolved: false });

      for (const body of [
        {},
        { location: { lat: 91, lng: 0 } },
        { location: { lat: 'x', lng: 0 } },
        { coords: { latitude: 1 } },
      ]) {
        const res = await phone.post('/api/client/location', body);
        expect({ body, status: res.status, code: res.body.code }).toEqual({ body, status: 400, code: 'BAD_REQUEST' });
      }
    });

    it('calendar events (Expo shape) are relayed and cached; invalid ones are skipped and counted', async () => {
      const { phone, seen } = await observer(newUser('calendar'));
      const start = Date.now() + 3_600_000;
      const res = await phone.post('/api/client/calendar', {
        events: [
          {
            id: 'ev-1',
            calendarId: 'cal-1',
            title: 'Standup',
            startDate: new Date(start).toISOString(),
            endDate: new Date(start + 900_000).toISOString(),
            timeZone: 'Europe/Berlin',
            allDay: false,
            location: 'Room 1',
            notes: null,
            alarms: [],
          },
          { id: 'ev-2', title: 'No start' },
          { title: 'No id', startDate: new Date(start).toISOString() },
          'not an event',
        ],
        calendars: [{ id: 'cal-1', title: 'Work' }],
      });
      expect(res.body).toMatchObject({ success: true, accepted: 1, ignored: 3 });
      await eventually(() => seen.calendar.length === 1);
      expect(seen.calendar[0]).toMatchObject({
        eventId: 'ev-1',
        title: 'Standup',
        dtStart: new Date(start).toISOString(),
        dtEnd: new Date(start + 900_000).toISOString(),
        timezone: 'Europe/Berlin',
      });
      expect((await phone.post('/api/client/calendar', { events: 'all of them' })).status).toBe(400);
      expect((await phone.post('/api/client/calendar', { events: Array(1001).fill({}) })).status).toBe(400);
    });

    it('device state: the reported model sets the capabilities apps get; unknown phone fields are ignored; bad ones refused', async () => {
      const user = newUser('device');
      const { phone, seen } = await observer(user);
      const res = await phone.post('/api/client/device/state', {
        modelName: 'Vuzix Z100',
        wifiConnected: false,
        batteryLevel: -1,
        hotspotPassword: 'secret',
        otaProgress: null,
        micEnabled: true,
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        success: true,
        appliedState: {
          isGlassesConnected: true,
          isPhoneConnected: true,
          modelName: 'Vuzix Z100',
          capabilities: expect.objectContaining({ modelName: 'Vuzix Z100' }),
        },
      });
      await eventually(() => seen.capabilities.some((c) => c.modelName === 'Vuzix Z100'));
      expect((await session(user)).device).toMatchObject({
        connected: true,
        modelName: 'Vuzix Z100',
        wifiConnected: false,
      });
      expect((await session(user)).device.batteryLevel).not.toBe(-1);

      const off = await phone.post('/api/client/device/state', { modelName: null });
      expect(off.body.appliedState).toMatchObject({ isGlassesConnected: false, modelName: null });

      for (const body of [{ connected: true }, { modelName: 7 }, { batteryLevel: 101 }, [], 'text']) {
        const r = await phone.post('/api/client/device/state', body);
        expect({ body, status: r.status, code: r.body.code }).toEqual({ body, status: 400, code: 'BAD_REQUEST' });
      }
    });
  });
});
