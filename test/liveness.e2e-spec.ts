import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SimulatedGlasses } from '../src/simulator/index.js';
import { startCloud, type TestCloud } from './support/cloud.js';
import { startRawApp, type RawApp } from './support/raw-app.js';
import { RawClient } from './support/raw-ws.js';
import { eventually } from './support/sdk-app.js';

/** Liveness rules of both sockets: pings, no pong-based kills, re-acks, and an app re-init inside its grace. */
describe('liveness', () => {
  let cloud: TestCloud;
  let app: RawApp;

  beforeAll(async () => {
    cloud = await startCloud({ HEARTBEAT_INTERVAL_MS: '100', APP_GRACE_MS: '1500' });
    app = await startRawApp('com.example.alive', () => ({ subscriptions: ['button_press'] }));
    app.apiKey = await cloud.registerApp({ packageName: 'com.example.alive', publicUrl: app.url }, [
      'alive@example.com',
    ]);
  });
  afterAll(async () => {
    await app.close();
    await cloud.close();
  });

  it('pings every socket on the configured period and never closes one whose pongs are missing', async () => {
    const url = `${cloud.url.replace('http', 'ws')}/glasses-ws`;
    // autoPong off: this client never answers protocol pings, as behind a proxy that eats them.
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${cloud.token('silent@example.com')}` },
      autoPong: false,
    });
    let pings = 0;
    ws.on('ping', () => pings++);
    let closed = false;
    ws.on('close', () => (closed = true));
    await new Promise((r) => ws.once('open', r));
    await new Promise((r) => setTimeout(r, 1_000));
    expect(pings).toBeGreaterThanOrEqual(5);
    expect(closed).toBe(false);
    expect(cloud.registry.get('silent@example.com')?.ctx.glassesOpen).toBe(true);
    ws.terminate();
  });

  it('answers every connection_init with a fresh connection_ack and starts nothing again', async () => {
    const glasses = new SimulatedGlasses({
      cloudUrl: cloud.url,
      token: cloud.token('alive@example.com'),
      sendConnectionInit: true,
    });
    await glasses.connect();
    glasses.startApp('com.example.alive');
    await eventually(() => cloud.registry.get('alive@example.com')?.apps.runningApps().length === 1, 3000, 'running');
    const mark = glasses.mark();
    glasses.send('connection_init', {});
    const ack = await glasses.waitFor('connection_ack', undefined, { since: mark });
    expect(ack.sessionId).toBe('alive@example.com');
    await new Promise((r) => setTimeout(r, 200));
    expect(app.webhooks.filter((w) => w.type === 'session_request')).toHaveLength(1);
    await glasses.disconnect();
  });

  it('an app that re-inits within its grace period is not resurrected (no new webhook), and keeps its subscriptions', async () => {
    const glasses = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token('alive@example.com') });
    await glasses.connect();
    await eventually(() => cloud.registry.get('alive@example.com')?.apps.runningApps().length === 1, 3000, 'running');
    const hooksBefore = app.webhooks.length;
    const first = app.sockets.at(-1)!;
    const init = first.messages.find((m) => m.type === 'tpa_connection_ack');
    expect(init).toBeTruthy();
    first.ws.terminate(); // the app's network blips
    await eventually(
      () => cloud.registry.get('alive@example.com')?.connections.get('com.example.alive')?.state === 'grace',
      2000,
      'grace',
    );
    const again = await RawClient.open(`${cloud.url.replace('http', 'ws')}/app-ws`);
    again.send({
      type: 'tpa_connection_init',
      sessionId: 'alive@example.com-com.example.alive',
      packageName: 'com.example.alive',
      apiKey: app.apiKey,
    });
    await again.next((m) => m.type === 'tpa_connection_ack');
    await new Promise((r) => setTimeout(r, 1_800));
    expect(app.webhooks.length).toBe(hooksBefore);
    const rt = cloud.registry.get('alive@example.com')!.connections.get('com.example.alive')!;
    expect(rt.state).toBe('running');
    expect(cloud.registry.get('alive@example.com')!.subscriptions.subscriptionsOf('com.example.alive')).toEqual([
      'button_press',
    ]);
    const from = again.messages.length;
    glasses.pressButton('short', 'after-blip');
    await again.next((m) => m.type === 'data_stream' && m.data.buttonId === 'after-blip', 2000, from);
    again.close();
    await glasses.disconnect();
  });
});
