import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedGlasses } from '../../src/simulator/index.js';
import { startCloud, type TestCloud } from '../support/cloud.js';
import { startRawApp, type RawApp } from '../support/raw-app.js';
import { RawClient } from '../support/raw-ws.js';
import { eventually } from '../support/sdk-app.js';

const USER = 'preauth@security.test';
const PKG = 'com.security.preauth';

/**
 * What an unauthenticated peer can make `/app-ws` do before a valid tpa_connection_init: frames of init size,
 * one frame, a short deadline, and a bounded number of such sockets per client address (X-Forwarded-For only
 * behind a trusted proxy, TRUST_PROXY).
 */
describe('app socket before its init', () => {
  let cloud: TestCloud;
  let app: RawApp;
  let glasses: SimulatedGlasses;
  let appWs: string;
  const opened: RawClient[] = [];
  const open = async (headers: Record<string, string> = {}, url = appWs) => {
    const c = await RawClient.open(url, headers);
    opened.push(c);
    return c;
  };

  beforeAll(async () => {
    cloud = await startCloud({ APP_WS_INIT_DEADLINE_MS: '400', APP_WS_PENDING_PER_ADDRESS: '3' });
    appWs = cloud.url.replace('http', 'ws') + '/app-ws';
    app = await startRawApp(PKG, () => ({ subscriptions: ['button_press'] }));
    app.apiKey = await cloud.registerApp({ packageName: PKG, publicUrl: app.url }, [USER]);
    glasses = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token(USER) });
    await glasses.connect();
    glasses.startApp(PKG);
    await eventually(() => cloud.registry.get(USER)?.apps.runningApps().includes(PKG), 5000, 'the app running');
  });
  afterEach(async () => {
    for (const c of opened.splice(0)) c.close();
    // The cloud sees the closes asynchronously; the next case starts with no pending socket of this address.
    await new Promise((r) => setTimeout(r, 100));
  });
  afterAll(async () => {
    await glasses?.disconnect().catch(() => undefined);
    await app?.close();
    await cloud?.close();
  });

  const init = (apiKey = app.apiKey) => ({
    type: 'tpa_connection_init',
    sessionId: `${USER}-${PKG}`,
    packageName: PKG,
    apiKey,
  });

  it('a frame over APP_WS_INIT_MAX_BYTES closes the socket with 1009 from its header: never parsed, never buffered', async () => {
    // A valid init with the right key, padded past the limit: it must not bind (it is never parsed).
    const padded = await open();
    padded.send(JSON.stringify({ ...init(), padding: 'p'.repeat(cloud.config.appWsInitMaxBytes) }));
    expect((await padded.waitClosed()).code).toBe(1009);
    expect(padded.messages.some((m) => m.type === 'tpa_connection_ack')).toBe(false);

    // A header announcing 16 MB and a few bytes of it: the socket closes without waiting for the rest.
    const port = Number(new URL(cloud.url).port);
    const closeCode = await new Promise<number>((resolve, reject) => {
      const sock = connect(port, '127.0.0.1', () =>
        sock.write(
          'GET /app-ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        ),
      );
      let buf = Buffer.alloc(0);
      let upgraded = false;
      const timer = setTimeout(
        () => reject(new Error('not closed: the server waited for the rest of the frame')),
        3000,
      );
      sock.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (!upgraded) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          upgraded = true;
          buf = buf.subarray(end + 4);
          // FIN + text, masked, 64-bit length 16 MiB, a zero mask, then 10 bytes of the payload.
          const header = Buffer.from([0x81, 0xff, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0]);
          sock.write(Buffer.concat([header, Buffer.from('{"a":"bbbb')]));
        }
        // The server's close frame: 0x88, length, then the 2-byte code.
        const at = buf.indexOf(0x88);
        if (upgraded && at >= 0 && buf.length >= at + 4) {
          clearTimeout(timer);
          resolve(buf.readUInt16BE(at + 2));
          sock.destroy();
        }
      });
      sock.on('error', reject);
    });
    expect(closeCode).toBe(1009);
  });

  it('the first frame that is not an init closes the socket (1008 with a reason) and is acted on by nothing', async () => {
    const socket = app.sockets.at(-1)!;
    const from = socket.messages.length;
    const frames: Array<[string | Buffer, string]> = [
      [JSON.stringify({ type: 'subscription_update', subscriptions: ['head_position'] }), 'NOT_INITIALIZED'],
      [Buffer.from([1, 2, 3, 4]), 'NOT_INITIALIZED'],
      ['{not json', 'MALFORMED_MESSAGE'],
    ];
    for (const [frame, code] of frames) {
      const c = await open();
      c.send(frame);
      c.send(JSON.stringify(init()));
      const closed = await c.waitClosed();
      expect(closed.code).toBe(1008);
      expect(closed.reason).toMatch(/tpa_connection_init first/);
      expect(c.messages.filter((m) => m.type === 'tpa_connection_error').map((m) => m.code)).toEqual([code]);
      expect(c.messages.some((m) => m.type === 'tpa_connection_ack')).toBe(false);
    }
    // The bound socket of the app was not replaced by any of the inits sent after the first frame.
    glasses.pressButton('short', 'still-bound');
    await socket.next((m) => m.type === 'data_stream' && m.data?.buttonId === 'still-bound', 3000, from);
    expect(socket.closed).toBeNull();
  });

  it('a socket that sends no init within APP_WS_INIT_DEADLINE_MS is closed (1008)', async () => {
    const c = await open();
    const closed = await c.waitClosed(3000);
    expect(closed).toEqual({ code: 1008, reason: 'No tpa_connection_init within 400 ms' });
    expect(c.messages.at(-1)?.code).toBe('NOT_INITIALIZED');
  });

  it('after a successful init, frames above the init limit are accepted', async () => {
    const c = await open();
    c.send(JSON.stringify(init()));
    await c.next((m) => m.type === 'tpa_connection_ack');
    const mark = glasses.mark();
    const text = `big-${'t'.repeat(cloud.config.appWsInitMaxBytes * 4)}`;
    c.send(JSON.stringify({ type: 'display_event', layout: { layoutType: 'text_wall', text }, view: 'main' }));
    const shown = await glasses.waitFor('display_event', (m) => (m.layout as { text?: string }).text === text, {
      since: mark,
    });
    expect(shown.packageName).toBe(PKG);
    expect(c.closed).toBeNull();
  });

  it('caps the sockets one address holds before their init (429 at the upgrade); a close or an init frees a place', async () => {
    expect(cloud.config.appWsPendingPerAddress).toBe(3);
    const held = [await open(), await open(), await open()];
    const refused = await RawClient.refused(appWs);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ type: 'connection_error', code: 'RATE_LIMITED' });
    // A close gives its place back (once the cloud has seen it).
    held[0]!.close();
    opened.push(await eventually(() => RawClient.open(appWs).catch(() => null), 3000, 'the place of the closed one'));
    expect((await RawClient.refused(appWs)).status).toBe(429);
    // A successful init gives its place back at once: the socket is no longer pending.
    held[1]!.send(JSON.stringify(init()));
    await held[1]!.next((m) => m.type === 'tpa_connection_ack');
    await open();
    expect((await RawClient.refused(appWs)).status).toBe(429);
  });
});

describe('pending app sockets per address: a failover storm and TRUST_PROXY', () => {
  const clouds: TestCloud[] = [];
  const sockets: RawClient[] = [];
  afterAll(async () => {
    for (const s of sockets) s.close();
    for (const c of clouds) await c.close();
  });
  const wsOf = (cloud: TestCloud) => cloud.url.replace('http', 'ws') + '/app-ws';

  it('200 sockets of one app host reconnecting at once stay under the default cap', async () => {
    const cloud = await startCloud();
    clouds.push(cloud);
    const cap = cloud.config.appWsPendingPerAddress;
    expect(cap).toBeGreaterThanOrEqual(200);
    const storm = await Promise.all(Array.from({ length: 200 }, () => RawClient.open(wsOf(cloud))));
    sockets.push(...storm);
    expect(storm.every((s) => s.closed === null)).toBe(true);
    // The cap itself: the rest of it fits, one more does not.
    sockets.push(...(await Promise.all(Array.from({ length: cap - 200 }, () => RawClient.open(wsOf(cloud))))));
    expect((await RawClient.refused(wsOf(cloud))).status).toBe(429);
  });

  it('behind a trusted proxy (TRUST_PROXY) each client has its own budget, from X-Forwarded-For', async () => {
    const cloud = await startCloud({ APP_WS_PENDING_PER_ADDRESS: '2', TRUST_PROXY: 'loopback' });
    clouds.push(cloud);
    const as = (client: string) => ({ 'x-forwarded-for': `${client}, 127.0.0.1` });
    sockets.push(await RawClient.open(wsOf(cloud), as('203.0.113.7')));
    sockets.push(await RawClient.open(wsOf(cloud), as('203.0.113.7')));
    expect((await RawClient.refused(wsOf(cloud), as('203.0.113.7'))).status).toBe(429);
    sockets.push(await RawClient.open(wsOf(cloud), as('203.0.113.8')));
  });

  it('without TRUST_PROXY, X-Forwarded-For is ignored: a client cannot pick a fresh address', async () => {
    const cloud = await startCloud({ APP_WS_PENDING_PER_ADDRESS: '2' });
    clouds.push(cloud);
    sockets.push(await RawClient.open(wsOf(cloud), { 'x-forwarded-for': '203.0.113.1' }));
    sockets.push(await RawClient.open(wsOf(cloud), { 'x-forwarded-for': '203.0.113.2' }));
    expect((await RawClient.refused(wsOf(cloud), { 'x-forwarded-for': '203.0.113.3' })).status).toBe(429);
  });
});
