import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AppSession } from '@mentra/sdk';
import { SimulatedGlasses } from '../src/simulator/index.js';
import { connectGlasses, startCloud, type TestCloud } from './support/cloud.js';
import { startRawApp, type RawApp, type WebhookReply } from './support/raw-app.js';
import { eventually, serveSdkApp, type SdkAppHandle } from './support/sdk-app.js';

/** The session managers end to end: real SDK apps (or raw ones where timing must be scripted) and the simulated glasses. */
describe('session managers', () => {
  let cloud: TestCloud;
  let n = 0;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];

  beforeAll(async () => {
    cloud = await startCloud({ EMPTY_SUBSCRIPTION_GRACE_MS: '0', RECENT_AUDIO_SECONDS: '10' });
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => cloud.close());

  const nextUser = () => `mgr${++n}@example.com`;

  async function glassesFor(user: string, model?: string): Promise<SimulatedGlasses> {
    return (await connectGlasses(cloud, user, cleanups, model ? { model } : {})).glasses;
  }

  async function sdkApp(
    packageName: string,
    users: string[],
    onSession: (s: AppSession) => void,
    def: Record<string, unknown> = {},
  ): Promise<SdkAppHandle> {
    const { app } = await serveSdkApp(cloud, { packageName, ...def }, users, onSession);
    cleanups.push(() => app.close());
    return app;
  }

  async function rawApp(
    packageName: string,
    users: string[],
    reply: (b: any, i: number) => WebhookReply,
    def: Record<string, unknown> = {},
  ): Promise<RawApp> {
    const app = await startRawApp(packageName, reply);
    cleanups.push(() => app.close());
    app.apiKey = await cloud.registerApp({ packageName, publicUrl: app.url, ...def }, users);
    return app;
  }

  const start = async (user: string, pkg: string) => {
    const r = await cloud.admin('POST', `/api/admin/sessions/${user}/apps/${pkg}/start`);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  };
  const subs = (user: string, pkg: string) => cloud.registry.get(user)?.subscriptions.subscriptionsOf(pkg) ?? [];

  it('display arbitration between a standard and a background SDK app; the main display comes back after a timed popup', async () => {
    const user = nextUser();
    await sdkApp('com.example.main', [user], (s) => s.events.onButtonPress(() => s.layouts.showTextWall('MAIN VIEW')), {
      appType: 'standard',
    });
    await sdkApp('com.example.popup', [user], (s) => {
      s.events.onHeadPosition((h) => {
        if (h.position === 'up') s.layouts.showTextWall('POPUP', { durationMs: 700 });
        else s.layouts.showTextWall('SECOND POPUP');
      });
    });
    await sdkApp('com.example.intruder', [user], (s) =>
      s.events.onTouchEvent(() => s.layouts.showTextWall('INTRUDER')),
    );
    const glasses = await glassesFor(user);
    for (const pkg of ['com.example.main', 'com.example.popup', 'com.example.intruder']) await start(user, pkg);
    await eventually(
      () =>
        subs(user, 'com.example.intruder').length > 0 &&
        subs(user, 'com.example.popup').length > 0 &&
        subs(user, 'com.example.main').length > 0,
      5000,
      'subscriptions',
    );
    // Boot screens end 1.5 s after the last start.
    await glasses
      .waitFor('display_event', (m) => m.layout.layoutType === 'text_wall' && (m.layout as any).text === '', {
        timeoutMs: 4000,
      })
      .catch(() => undefined);

    glasses.pressButton();
    await glasses.waitForDisplay('MAIN VIEW');
    await new Promise((r) => setTimeout(r, 350));
    glasses.headPosition('up');
    const popup = await glasses.waitForDisplay('POPUP');
    expect(popup.packageName).toBe('com.example.popup');
    // Another background app cannot take the screen while the lock is held.
    await new Promise((r) => setTimeout(r, 350));
    glasses.touch('single_tap');
    await eventually(
      () =>
        cloud.registry
          .get(user)!
          .display.describe()
          .recent.some((d) => d.packageName === 'com.example.intruder' && d.outcome === 'rejected'),
      3000,
      'intruder rejected',
    );
    expect(glasses.displayText()).toBe('POPUP');
    // When the popup expires the main app's persistent display returns (upstream cleared the screen).
    await glasses.waitForDisplay('MAIN VIEW', { since: glasses.mark(), timeoutMs: 3000 });
    const view = (await cloud.admin('GET', `/api/admin/sessions/${user}`)).body.display;
    expect(view.mainApp).toBe('com.example.main');
    expect(view.recent.map((d: any) => d.outcome)).toEqual(expect.arrayContaining(['shown', 'rejected']));
  });

  it('the mic state is right after a burst of subscription changes and two reconnects', async () => {
    const user = nextUser();
    let session: AppSession | undefined;
    await sdkApp(
      'com.example.listener',
      [user],
      (s) => {
        session = s;
      },
      { permissions: [{ type: 'MICROPHONE' }] },
    );
    const glasses = await glassesFor(user);
    await start(user, 'com.example.listener');
    await eventually(() => session, 3000, 'session');
    const offs: Array<() => void> = [];
    for (let i = 0; i < 6; i++) {
      offs.push(session!.events.onAudioChunk(() => undefined));
      offs.push(session!.events.onTranscription(() => undefined));
      if (i === 2) await glasses.drop();
      if (i === 2) await glasses.reconnect();
      offs.pop()!();
      offs.pop()!();
    }
    await glasses.drop();
    session!.events.onAudioChunk(() => undefined);
    await glasses.reconnect();
    await eventually(() => subs(user, 'com.example.listener').includes('audio_chunk'), 3000, 'final subscription');
    await eventually(
      () => glasses.state.micEnabled === true && glasses.state.bypassVad === true,
      3000,
      'mic on with bypassVad',
    );
    expect(glasses.state.requiredData).toEqual(['pcm']);
    const last = glasses.received.filter((m) => m.type === 'microphone_state_change').at(-1) as any;
    expect(last).toMatchObject({ isMicrophoneEnabled: true, requiredData: ['pcm'], bypassVad: true });
  });

  it('capabilities: the ack carries them, apps get a full device snapshot after the ack, capabilities_update on a model change, and an app the new model cannot run is stopped', async () => {
    const user = nextUser();
    let session: AppSession | undefined;
    const caps: string[] = [];
    const app = await sdkApp(
      'com.example.screen',
      [user],
      (s) => {
        session = s;
        s.events.on('capabilities_update' as any, (c: any) => caps.push(c?.modelName ?? c?.capabilities?.modelName));
      },
      { hardwareRequirements: [{ type: 'DISPLAY', level: 'REQUIRED' }] },
    );
    await glassesFor(user, 'z100');
    await start(user, 'com.example.screen');
    await eventually(() => session, 3000, 'session');
    expect(session!.capabilities?.modelName).toBe('Vuzix Z100');
    await eventually(
      () => session!.device.state.modelName.value === 'Vuzix Z100' && session!.device.state.connected.value === true,
      3000,
      'device snapshot',
    );
    const r = await cloud.admin('PUT', `/api/admin/sessions/${user}/device`, { modelName: 'Mentra Live' });
    expect(r.status).toBe(200);
    await eventually(() => app.stops.length === 1, 5000, 'incompatible app stopped');
    expect(cloud.registry.get(user)!.apps.runningApps()).toEqual([]);
    // And it cannot be started again on that model.
    const again = await cloud.admin('POST', `/api/admin/sessions/${user}/apps/com.example.screen/start`);
    expect(again.body.details.stage).toBe('HARDWARE_CHECK');
    expect(again.body.message).toMatch(/requires a display/);
  });

  it('an unknown glasses model gets the Simulated Glasses profile under its own name, and an app is never blocked for hardware on it', async () => {
    const user = nextUser();
    let session: AppSession | undefined;
    const app = await sdkApp(
      'com.example.camera',
      [user],
      (s) => {
        session = s;
      },
      { hardwareRequirements: [{ type: 'CAMERA', level: 'REQUIRED' }] },
    );
    const glasses = await glassesFor(user);
    // A known model without a camera refuses it.
    const refused = await cloud.admin('POST', `/api/admin/sessions/${user}/apps/com.example.camera/start`);
    expect(refused.body.details.stage).toBe('HARDWARE_CHECK');
    glasses.send('glasses_connection_state', {
      modelName: 'Acme Vision 1',
      status: 'CONNECTED',
      wifi: { connected: false, ssid: null },
    });
    await eventually(() => cloud.registry.get(user)!.device.modelName === 'Acme Vision 1', 3000, 'the new model');
    await start(user, 'com.example.camera');
    await eventually(() => session, 3000, 'session');
    expect(session!.capabilities).toMatchObject({
      modelName: 'Acme Vision 1',
      hasDisplay: true,
      hasMicrophone: true,
      hasSpeaker: true,
      hasButton: true,
      hasCamera: false,
    });
    expect(cloud.registry.get(user)!.device.isKnownModel).toBe(false);
    // Another unknown model does not stop it either.
    glasses.send('glasses_connection_state', {
      modelName: 'Acme Vision 2',
      status: 'CONNECTED',
      wifi: { connected: false, ssid: null },
    });
    await eventually(() => cloud.registry.get(user)!.device.modelName === 'Acme Vision 2', 3000, 'the next model');
    expect(cloud.registry.get(user)!.apps.runningApps()).toEqual(['com.example.camera']);
    expect(app.stops).toEqual([]);
  });

  it('capabilities_update and device_state_update reach running apps when the glasses report a new model', async () => {
    const user = nextUser();
    const app = await rawApp('com.example.caps', [user], () => ({}));
    const glasses = await glassesFor(user);
    await start(user, 'com.example.caps');
    const socket = app.sockets[0]!;
    const snapshot = await socket.next((m) => m.type === 'device_state_update' && m.fullSnapshot === true);
    expect(snapshot.state).toMatchObject({ connected: true, modelName: 'Even Realities G1' });
    const from = socket.messages.length;
    glasses.setModel('live');
    const update = await socket.next((m) => m.type === 'capabilities_update', 3000, from);
    expect(update.capabilities).toMatchObject({ modelName: 'Mentra Live', hasCamera: true, hasWifi: true });
    const state = await socket.next((m) => m.type === 'device_state_update' && !m.fullSnapshot, 3000, from);
    expect(state.state.modelName).toBe('Mentra Live');
  });

  it('location: the tier follows the highest location_stream rate, is re-sent on reconnect, and polls are answered only to the asker', async () => {
    const user = nextUser();
    const perms = { permissions: [{ type: 'LOCATION' }] };
    const hi = await rawApp(
      'com.example.nav',
      [user],
      () => ({ subscriptions: [{ stream: 'location_stream', rate: 'high' }] }),
      perms,
    );
    const lo = await rawApp(
      'com.example.weather',
      [user],
      () => ({ subscriptions: [{ stream: 'location_stream', rate: 'kilometer' }] }),
      perms,
    );
    const glasses = await glassesFor(user);
    await start(user, 'com.example.weather');
    await glasses.waitFor('set_location_tier', (m) => m.tier === 'kilometer', { since: 0 });
    await start(user, 'com.example.nav');
    await glasses.waitFor('set_location_tier', (m) => m.tier === 'high', { since: 0 });
    const mark = glasses.mark();
    await glasses.drop();
    await glasses.reconnect();
    await glasses.waitFor('set_location_tier', (m) => m.tier === 'high', { since: mark });

    glasses.setLocation(48.1, 11.5, 5);
    const pollFrom = { hi: hi.sockets[0]!.messages.length, lo: lo.sockets[0]!.messages.length };
    // Fresh fix for "kilometer": answered from the cache.
    lo.sockets[0]!.send({
      type: 'location_poll_request',
      packageName: 'com.example.weather',
      sessionId: `${user}-com.example.weather`,
      accuracy: 'kilometer',
      correlationId: 'poll-cache',
    });
    const cached = await lo.sockets[0]!.next(
      (m) => m.type === 'data_stream' && m.data.correlationId === 'poll-cache',
      3000,
      pollFrom.lo,
    );
    expect(cached).toMatchObject({ streamType: 'location_update', data: { lat: 48.1, lng: 11.5 } });
    // "realtime" needs a fix younger than 1 s: asked of the glasses, answered to the asker only.
    await new Promise((r) => setTimeout(r, 1100));
    glasses.setLocation(48.2, 11.6, 3);
    await new Promise((r) => setTimeout(r, 1100));
    hi.sockets[0]!.send({
      type: 'location_poll_request',
      packageName: 'com.example.nav',
      sessionId: `${user}-com.example.nav`,
      accuracy: 'realtime',
      correlationId: 'poll-live',
    });
    const req = await glasses.waitFor('request_single_location', (m) => m.correlationId === 'poll-live');
    expect(req.accuracy).toBe('realtime');
    const answer = await hi.sockets[0]!.next(
      (m) => m.type === 'data_stream' && m.data.correlationId === 'poll-live',
      3000,
      pollFrom.hi,
    );
    expect(answer.data.type).toBe('location_update');
    await new Promise((r) => setTimeout(r, 100));
    expect(lo.sockets[0]!.messages.slice(pollFrom.lo).some((m) => m.data?.correlationId === 'poll-live')).toBe(false);
    expect(cloud.registry.get(user)!.location.pendingPolls).toBe(0);
  });

  it('the SDK location poll resolves through request_single_location', async () => {
    const user = nextUser();
    let session: AppSession | undefined;
    await sdkApp(
      'com.example.where',
      [user],
      (s) => {
        session = s;
      },
      { permissions: [{ type: 'LOCATION' }] },
    );
    const glasses = await glassesFor(user);
    glasses.setLocation(10, 20, 4);
    await start(user, 'com.example.where');
    await eventually(() => session, 3000, 'session');
    const fix = await session!.location.getLatestLocation({ accuracy: 'high' });
    expect(fix).toMatchObject({ lat: 10, lng: 20 });
  });

  it('calendar events are cached and replayed to a newly subscribed app', async () => {
    const user = nextUser();
    const glasses = await glassesFor(user);
    for (let i = 0; i < 3; i++)
      glasses.calendarEvent({
        eventId: `e${i}`,
        title: `Meeting ${i}`,
        dtStart: new Date(Date.now() + (i + 1) * 3600_000).toISOString(),
        dtEnd: new Date(Date.now() + (i + 2) * 3600_000).toISOString(),
        timezone: 'UTC',
      } as any);
    glasses.calendarEvent({
      eventId: 'e1',
      title: 'Meeting 1 (dup)',
      dtStart: 'x',
      dtEnd: 'y',
      timezone: 'UTC',
    } as any);
    await eventually(() => cloud.registry.get(user)?.built('calendar')?.size === 4, 2000, 'cached');
    const app = await rawApp('com.example.cal', [user], () => ({ subscriptions: ['calendar_event'] }), {
      permissions: [{ type: 'CALENDAR' }],
    });
    await start(user, 'com.example.cal');
    const got = await eventually(
      () => {
        const events = app.sockets[0]!.messages.filter(
          (m) => m.type === 'data_stream' && m.streamType === 'calendar_event',
        );
        return events.length >= 4 ? events : null;
      },
      3000,
      'replay',
    );
    expect(got.map((m: any) => m.data.title)).toContain('Meeting 2');
  });

  it('audio: playAudio resolves with the glasses answer, stopAudio reaches the glasses, and with the glasses gone playAudio fails fast', async () => {
    const user = nextUser();
    let session: AppSession | undefined;
    await sdkApp('com.example.sound', [user], (s) => {
      session = s;
    });
    const glasses = await glassesFor(user);
    await start(user, 'com.example.sound');
    await eventually(() => session, 3000, 'session');
    const result = await session!.audio.playAudio({ audioUrl: 'https://example.com/a.mp3' });
    expect(result.success).toBe(true);
    const req = glasses.received.find((m) => m.type === 'audio_play_request') as any;
    expect(req).toMatchObject({ packageName: 'com.example.sound', audioUrl: 'https://example.com/a.mp3' });
    session!.audio.stopAudio();
    await glasses.waitFor('audio_stop_request', (m: any) => m.appId === 'com.example.sound', { since: 0 });
    expect(cloud.registry.get(user)!.audio.pendingPlays).toBe(0);

    await glasses.disconnect();
    const t0 = Date.now();
    const failed = await session!.audio
      .playAudio({ audioUrl: 'https://example.com/b.mp3' })
      .catch((e: Error) => ({ success: false, error: e.message }));
    expect(failed.success).toBe(false);
    expect(String((failed as any).error)).toMatch(/GLASSES_NOT_CONNECTED/);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('fail fast: display, LED, Wi-Fi and location requests with the glasses away get GLASSES_NOT_CONNECTED at once, and the socket stays open', async () => {
    const user = nextUser();
    const app = await rawApp('com.example.fast', [user], () => ({ subscriptions: ['button_press'] }), {
      permissions: [{ type: 'LOCATION' }],
    });
    const glasses = await glassesFor(user);
    await start(user, 'com.example.fast');
    await glasses.disconnect();
    await eventually(() => cloud.registry.get(user)?.ctx.glassesOpen === false, 2000, 'glasses gone');
    const socket = app.sockets[0]!;
    const from = socket.messages.length;
    const sessionId = `${user}-com.example.fast`;
    const t0 = Date.now();
    socket.send({
      type: 'display_event',
      packageName: 'com.example.fast',
      sessionId: '',
      view: 'main',
      layout: { layoutType: 'text_wall', text: 'while away' },
    });
    socket.send({
      type: 'rgb_led_control',
      packageName: 'com.example.fast',
      sessionId,
      requestId: 'led1',
      action: 'on',
      color: 'green',
    });
    socket.send({ type: 'request_wifi_setup', packageName: 'com.example.fast', sessionId, reason: 'stream' });
    socket.send({
      type: 'location_poll_request',
      packageName: 'com.example.fast',
      sessionId,
      accuracy: 'realtime',
      correlationId: 'c1',
    });
    const errors = await eventually(
      () => {
        const e = socket.messages
          .slice(from)
          .filter((m) => m.type === 'tpa_connection_error' && m.code === 'GLASSES_NOT_CONNECTED');
        return e.length === 4 ? e : null;
      },
      1000,
      'four errors',
    );
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(errors[0].message).toMatch(/cloud → phone/);
    expect(socket.closed).toBeNull();
    // The display was kept and is shown when the glasses come back.
    await glasses.reconnect();
    await glasses.waitForDisplay('while away', { timeoutMs: 3000 });
  });

  it('LED and Wi-Fi requests reach the glasses; the LED response goes back to the requesting app by requestId', async () => {
    const user = nextUser();
    const app = await rawApp('com.example.led', [user], () => ({}));
    const glasses = (await connectGlasses(cloud, user, cleanups, { model: 'live', autoAnswer: { led: false } }))
      .glasses;
    await start(user, 'com.example.led');
    const socket = app.sockets[0]!;
    const sessionId = `${user}-com.example.led`;
    socket.send({
      type: 'rgb_led_control',
      packageName: 'com.example.led',
      sessionId,
      requestId: 'led-1',
      action: 'on',
      color: 'blue',
      ontime: 500,
      offtime: 0,
      count: 1,
    });
    const led = await glasses.waitFor('rgb_led_control', undefined, { since: 0 });
    expect(led).toMatchObject({ requestId: 'led-1', action: 'on', color: 'blue', packageName: 'com.example.led' });
    glasses.send('rgb_led_control_response', { requestId: 'led-1', success: false, error: 'led_busy' });
    const answer = await socket.next((m) => m.type === 'rgb_led_control_response');
    expect(answer).toMatchObject({ requestId: 'led-1', success: false, error: 'led_busy' });
    socket.send({ type: 'request_wifi_setup', packageName: 'com.example.led', sessionId, reason: 'needs wifi' });
    const wifi = await glasses.waitFor('show_wifi_setup', undefined, { since: 0 });
    expect(wifi).toMatchObject({ reason: 'needs wifi', appPackageName: 'com.example.led' });
    socket.send({ type: 'rgb_led_control', packageName: 'com.example.led', sessionId, action: 'blink' });
    await socket.next((m) => m.type === 'tpa_connection_error' && m.code === 'MALFORMED_MESSAGE');
  });

  it("an SDK app's led.turnOn is answered to that app only: the glasses' rgb_led_control_response reaches its socket", async () => {
    const user = nextUser();
    const frames: Record<string, any[]> = { 'com.example.ledsdk': [], 'com.example.bystander': [] };
    const sessions: Record<string, AppSession> = {};
    const record = (pkg: string) => (s: AppSession) => {
      sessions[pkg] = s;
      // SDK 2.1.29 takes the response in (it does not await it): watch what reaches the app's own socket.
      (s as unknown as { ws: import('ws').WebSocket }).ws.on('message', (data) =>
        frames[pkg]!.push(JSON.parse(String(data))),
      );
    };
    await sdkApp('com.example.ledsdk', [user], record('com.example.ledsdk'));
    await sdkApp('com.example.bystander', [user], (s) => {
      record('com.example.bystander')(s);
      s.events.onHeadPosition(() => undefined);
    });
    const glasses = (await connectGlasses(cloud, user, cleanups, { model: 'live', autoAnswer: { led: false } }))
      .glasses;
    await start(user, 'com.example.ledsdk');
    await start(user, 'com.example.bystander');
    await eventually(() => subs(user, 'com.example.bystander').length > 0, 3000, 'bystander subscribed');
    const session = await eventually(() => sessions['com.example.ledsdk'], 3000, 'SDK session');
    const sdkErrors: string[] = [];
    session.events.onError((e) => sdkErrors.push((e as Error).message ?? String(e)));
    await session.led.turnOn({ color: 'green', ontime: 300 });
    const led = await glasses.waitFor('rgb_led_control', undefined, { since: 0 });
    expect(led).toMatchObject({ action: 'on', color: 'green', packageName: 'com.example.ledsdk' });
    expect(led.requestId).toMatch(/^led_req_/);
    glasses.send('rgb_led_control_response', { requestId: led.requestId!, success: true });
    const answer = await eventually(
      () => frames['com.example.ledsdk']!.find((m) => m.type === 'rgb_led_control_response'),
      3000,
      'the response at the requesting app',
    );
    expect(answer).toMatchObject({ requestId: led.requestId, success: true });
    // A repeated answer goes nowhere; the head_position after it reaches the bystander, so by then anything
    // (wrongly) sent to the bystander before it has arrived too.
    glasses.send('rgb_led_control_response', { requestId: led.requestId!, success: true });
    glasses.headPosition('up');
    await eventually(
      () => frames['com.example.bystander']!.some((m) => m.type === 'data_stream' && m.streamType === 'head_position'),
      3000,
      'head_position at the bystander',
    );
    expect(frames['com.example.bystander']!.filter((m) => m.type === 'rgb_led_control_response')).toEqual([]);
    expect(frames['com.example.ledsdk']!.filter((m) => m.type === 'rgb_led_control_response')).toHaveLength(1);
    expect(sdkErrors.filter((m) => /Unrecognized/.test(m))).toEqual([]);
  });

  it("phone notifications and their dismissals from the glasses socket reach an SDK app's onPhoneNotifications / onPhoneNotificationDismissed; an app without READ_NOTIFICATIONS gets neither", async () => {
    const user = nextUser();
    const notifications: any[] = [];
    const dismissals: any[] = [];
    const unpermitted: any[] = [];
    await sdkApp(
      'com.example.notify',
      [user],
      (s) => {
        s.onPhoneNotifications((n) => notifications.push(n));
        s.onPhoneNotificationDismissed((d) => dismissals.push(d));
      },
      { permissions: [{ type: 'READ_NOTIFICATIONS' }] },
    );
    await sdkApp('com.example.nosy', [user], (s) => {
      s.events.onPhoneNotifications((n) => unpermitted.push(n));
      s.events.onPhoneNotificationDismissed((d) => unpermitted.push(d));
      s.events.onButtonPress((b) => unpermitted.push(b));
    });
    const glasses = await glassesFor(user);
    await start(user, 'com.example.notify');
    await start(user, 'com.example.nosy');
    await eventually(
      () =>
        subs(user, 'com.example.notify').includes('phone_notification_dismissed') &&
        subs(user, 'com.example.nosy').includes('button_press'),
      3000,
      'subscriptions',
    );
    const notificationId = glasses.notification({
      app: 'Messages',
      title: 'Alice',
      content: 'Lunch at noon?',
      priority: 'high',
    });
    const got = await eventually(() => notifications[0], 3000, 'onPhoneNotifications');
    expect(got).toMatchObject({
      notificationId,
      app: 'Messages',
      title: 'Alice',
      content: 'Lunch at noon?',
      priority: 'high',
    });
    glasses.send('phone_notification_dismissed', {
      notificationId,
      app: 'Messages',
      title: 'Alice',
      content: 'Lunch at noon?',
      notificationKey: 'key-1',
    });
    const dismissed = await eventually(() => dismissals[0], 3000, 'onPhoneNotificationDismissed');
    expect(dismissed).toMatchObject({ notificationId, notificationKey: 'key-1', app: 'Messages' });
    // The button press reaches the unpermitted app after both, so nothing of the two can still be on its way.
    glasses.pressButton();
    await eventually(() => unpermitted.length > 0, 3000, 'button press at the unpermitted app');
    expect(unpermitted).toEqual([expect.objectContaining({ pressType: 'short' })]);
    expect(notifications).toHaveLength(1);
    expect(dismissals).toHaveLength(1);
  });

  it("dashboard: writeToMain reaches the dashboard view (never the main view), a new write replaces the old, a stopped app's content goes", async () => {
    const user = nextUser();
    let session: AppSession | undefined;
    await sdkApp('com.example.dash', [user], (s) => {
      session = s;
    });
    const glasses = await glassesFor(user);
    await start(user, 'com.example.dash');
    await eventually(() => session, 3000, 'session');
    await eventually(
      async () => (await session!.dashboard.content.getCurrentMode()) === 'main',
      3000,
      'mode told to the app',
    );
    const mark = glasses.mark();
    session!.dashboard.content.writeToMain('first note');
    await glasses.waitForDisplay('first note', { view: 'dashboard', since: mark, timeoutMs: 1000 });
    session!.dashboard.content.writeToMain('second note');
    await glasses.waitForDisplay('second note', { view: 'dashboard', since: mark, timeoutMs: 1000 });
    expect(glasses.displayText('dashboard')).not.toContain('first note');
    expect(
      glasses.received
        .slice(mark)
        .some((m) => m.type === 'display_event' && m.view === 'main' && JSON.stringify(m.layout).includes('note')),
    ).toBe(false);
    await cloud.admin('POST', `/api/admin/sessions/${user}/apps/com.example.dash/stop`);
    await eventually(() => !glasses.displayText('dashboard').includes('second note'), 2000, 'content removed');
  });

  it('only the system dashboard app may write system sections or change the mode', async () => {
    const user = nextUser();
    const app = await rawApp('com.example.notdash', [user], () => ({}));
    await glassesFor(user);
    await start(user, 'com.example.notdash');
    const socket = app.sockets[0]!;
    socket.send({
      type: 'dashboard_system_update',
      packageName: 'com.example.notdash',
      section: 'topLeft',
      content: 'hacked',
    });
    socket.send({ type: 'dashboard_mode_change', packageName: 'com.example.notdash', mode: 'expanded' });
    const errs = await eventually(
      () => {
        const e = socket.messages.filter((m) => m.type === 'tpa_connection_error' && m.code === 'PERMISSION_DENIED');
        return e.length === 2 ? e : null;
      },
      2000,
      'denials',
    );
    expect(errs).toHaveLength(2);
    expect(cloud.registry.get(user)!.dashboard.describe()).toMatchObject({ mode: 'main', sections: { topLeft: '' } });
  });

  it('the system dashboard app renders sections; head-up rotates app items; mode changes reach every app', async () => {
    const user = nextUser();
    const dash = await rawApp('system.augmentos.dashboard', [user], () => ({ subscriptions: ['head_position'] }), {
      appType: 'system_dashboard',
    });
    const a = await rawApp('com.example.itema', [user], () => ({}));
    const b = await rawApp('com.example.itemb', [user], () => ({}));
    const glasses = await glassesFor(user);
    await eventually(
      () => cloud.registry.get(user)?.apps.runningApps().includes('system.augmentos.dashboard'),
      3000,
      'dashboard app auto-started',
    );
    await start(user, 'com.example.itema');
    await start(user, 'com.example.itemb');
    const d = dash.sockets[0]!;
    d.send({
      type: 'dashboard_system_update',
      packageName: 'system.augmentos.dashboard',
      section: 'topLeft',
      content: '10:42',
    });
    d.send({
      type: 'dashboard_system_update',
      packageName: 'system.augmentos.dashboard',
      section: 'topRight',
      content: '87%',
    });
    a.sockets[0]!.send({
      type: 'dashboard_content_update',
      packageName: 'com.example.itema',
      content: 'item A',
      modes: ['main'],
    });
    b.sockets[0]!.send({
      type: 'dashboard_content_update',
      packageName: 'com.example.itemb',
      content: 'item B',
      modes: ['main'],
    });
    const shown = await glasses.waitForDisplay(/10:42[\s\S]*87%[\s\S]*item B/, { view: 'dashboard' });
    expect(shown.layout.layoutType).toBe('double_text_wall');
    glasses.headPosition('up');
    await glasses.waitForDisplay(/item A/, { view: 'dashboard' });
    const from = a.sockets[0]!.messages.length;
    d.send({ type: 'dashboard_mode_change', packageName: 'system.augmentos.dashboard', mode: 'expanded' });
    const changed = await a.sockets[0]!.next((m) => m.type === 'dashboard_mode_changed', 2000, from);
    expect(changed.mode).toBe('expanded');
    await glasses.waitForDisplay(/10:42 \| 87%\nNo expanded content available/, { view: 'dashboard' });
  });

  it('the recent-audio ring is readable as WAV through the admin API', async () => {
    const user = nextUser();
    const glasses = await glassesFor(user);
    const pcm = Buffer.alloc(6400);
    for (let i = 0; i < pcm.length; i += 2) pcm.writeInt16LE(i % 3000, i);
    glasses.sendAudio(pcm);
    await eventually(() => cloud.registry.get(user)!.audio.recentAudio().length === 6400, 2000, 'audio buffered');
    const res = await fetch(`${cloud.url}/api/admin/sessions/${user}/audio/recent`, {
      headers: { authorization: `Bearer ${cloud.config.adminApiKey}` },
    });
    expect(res.headers.get('content-type')).toBe('audio/wav');
    const wav = Buffer.from(await res.arrayBuffer());
    expect(wav.subarray(0, 4).toString()).toBe('RIFF');
    expect(wav.readUInt32LE(24)).toBe(16000);
    expect(wav.subarray(44).equals(pcm)).toBe(true);
  });
});
