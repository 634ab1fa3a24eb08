import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedGlasses } from '../../src/simulator/index.js';
import { startCloud, type TestCloud } from '../support/cloud.js';
import { startRawApp } from '../support/raw-app.js';
import { RawClient } from '../support/raw-ws.js';
import { eventually } from '../support/sdk-app.js';

/** A counter's value in the Prometheus text of /metrics (0 when absent). */
async function metric(cloud: TestCloud, series: string): Promise<number> {
  const res = await fetch(`${cloud.url}/metrics`, { headers: { authorization: `Bearer ${cloud.config.adminApiKey}` } });
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/** `/glasses-ws` after the upgrade: one frame limit sized to what glasses send, and a rate for binary audio. */
describe('glasses socket limits', () => {
  let cloud: TestCloud;
  let glassesWs: string;
  const sockets: RawClient[] = [];
  const connect = async (user: string) => {
    const c = await RawClient.open(glassesWs, { authorization: `Bearer ${cloud.token(user)}` });
    sockets.push(c);
    await c.next((m) => m.type === 'connection_ack');
    return c;
  };
  const alive = async (c: RawClient) => {
    const from = c.messages.length;
    c.send({ type: 'ping' });
    await c.next((m) => m.type === 'pong', 3000, from);
  };

  beforeAll(async () => {
    cloud = await startCloud({ GLASSES_AUDIO_FRAMES_PER_SECOND: '100' });
    glassesWs = cloud.url.replace('http', 'ws') + '/glasses-ws';
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await cloud?.close();
  });

  it('a frame over GLASSES_MAX_FRAME_BYTES (default 256 KB) is refused by the socket layer (1009)', async () => {
    expect(cloud.config.glassesMaxFrameBytes).toBe(262_144);
    const c = await connect('frames@security.test');
    // What glasses send passes: a 100 ms audio frame, a 10 KB notification.
    c.send(Buffer.alloc(3200, 1));
    c.send({ type: 'phone_notification', app: 'x', title: 't', content: 'n'.repeat(10_000) });
    await alive(c);
    const text = await connect('frames-text@security.test');
    text.send(JSON.stringify({ type: 'phone_notification', content: 'x'.repeat(300_000) }));
    expect((await text.waitClosed()).code).toBe(1009);
    const audio = await connect('frames-audio@security.test');
    audio.send(Buffer.alloc(300_000));
    expect((await audio.waitClosed()).code).toBe(1009);
    await alive(c);
  });

  it("a 16 MB frame closes only the sender's socket (1009); another user's session carries on", async () => {
    const app = await startRawApp('com.security.bystander', () => ({ subscriptions: ['button_press'] }));
    const bystander = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token('bystander@security.test') });
    try {
      app.apiKey = await cloud.registerApp({ packageName: app.packageName, publicUrl: app.url }, [
        'bystander@security.test',
      ]);
      await bystander.connect();
      bystander.startApp(app.packageName);
      const socket = await eventually(() => app.sockets[0], 5000, 'the app socket');
      await eventually(
        () => cloud.registry.get('bystander@security.test')?.subscriptions.subscriptionsOf(app.packageName).length,
        5000,
        'the subscription',
      );
      const sixteenMb = 16 * 1_048_576;
      for (const frame of [`{"type":"button_press","buttonId":"${'x'.repeat(sixteenMb)}"}`, Buffer.alloc(sixteenMb)]) {
        const big = await connect('sixteen-mb@security.test');
        big.send(frame);
        expect((await big.waitClosed(10_000)).code).toBe(1009);
      }
      const from = socket.messages.length;
      bystander.pressButton('short', 'after-16mb');
      const got = await socket.next((m) => m.type === 'data_stream' && m.data.buttonId === 'after-16mb', 3000, from);
      expect(got.streamType).toBe('button_press');
      expect(cloud.registry.get('bystander@security.test')?.ctx.glassesOpen).toBe(true);
    } finally {
      await bystander.disconnect().catch(() => undefined);
      await app.close();
    }
  });

  it('binary audio beyond GLASSES_AUDIO_FRAMES_PER_SECOND is dropped and counted; the socket stays open', async () => {
    const c = await connect('audio-rate@security.test');
    const framesBefore = await metric(cloud, 'mentra_audio_frames_total');
    const droppedBefore = await metric(cloud, 'mentra_audio_frames_dropped_total');
    for (let i = 0; i < 1000; i++) c.send(Buffer.alloc(320, i));
    await alive(c);
    const admitted = (await metric(cloud, 'mentra_audio_frames_total')) - framesBefore;
    const dropped = (await metric(cloud, 'mentra_audio_frames_dropped_total')) - droppedBefore;
    expect(admitted + dropped).toBe(1000);
    expect(dropped).toBeGreaterThan(0);
    expect(admitted).toBeGreaterThanOrEqual(100);
    // One notice for the socket, not one per frame.
    expect(c.messages.filter((m) => m.code === 'RATE_LIMITED')).toHaveLength(1);
    expect(c.closed).toBeNull();
  });

  it('a gross audio flood (over ten times the rate within a second) closes the socket (1008 with a reason)', async () => {
    const c = await connect('audio-flood@security.test');
    for (let i = 0; i < 5000; i++) c.send(Buffer.alloc(2, i));
    const closed = await c.waitClosed();
    expect(closed.code).toBe(1008);
    expect(closed.reason).toBe('Audio frames far above 100 per second');
    // The user reconnects as usual.
    await eventually(() => cloud.registry.get('audio-flood@security.test')?.ctx.glassesOpen === false, 3000, 'close');
    await alive(await connect('audio-flood@security.test'));
  });
});
