import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import { WebSocketServer, type WebSocket } from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_MODEL,
  SimulatedGlasses,
  TINY_JPEG,
  UpgradeRefusedError,
  layoutToText,
  resolveModel,
  signCoreToken,
  type SimulatedGlassesOptions,
} from './index.js';

const SECRET = 'test-secret';
const EMAIL = 'tester@example.com';

// ---------------------------------------------------------------------------
// A scriptable fake cloud: one ws server on /glasses-ws that checks the core token as the
// glasses gateway does (src/glasses-ws) and acks every connection.
// ---------------------------------------------------------------------------

interface CloudConn {
  ws: WebSocket;
  req: IncomingMessage;
  userId: string;
  messages: Array<Record<string, unknown>>;
  binary: Buffer[];
  closed: Promise<{ code: number; reason: string }>;
  send(msg: Record<string, unknown>): void;
  next(type: string, pred?: (m: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
}

interface FakeCloud {
  url: string;
  conns: CloudConn[];
  nextConn(): Promise<CloudConn>;
  close(): Promise<void>;
}

function tokenOf(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7);
  return new URL(req.url ?? '/', 'http://x').searchParams.get('token') ?? undefined;
}

async function startFakeCloud(port = 0): Promise<FakeCloud> {
  const server = createServer((_req, res) => res.writeHead(404).end());
  const conns: CloudConn[] = [];
  const connWaiters: Array<(c: CloudConn) => void> = [];
  const wss = new WebSocketServer({
    server,
    path: '/glasses-ws',
    verifyClient: (info, cb) => {
      const token = tokenOf(info.req);
      const refuse = (message: string): void =>
        cb(false, 401, JSON.stringify({ type: 'connection_error', message, timestamp: new Date().toISOString() }), {
          'Content-Type': 'application/json',
        });
      if (!token) return refuse('No core token provided');
      try {
        const payload = jwt.verify(token, SECRET) as { email?: string };
        if (!payload.email) return refuse('Invalid core token - no user ID');
        (info.req as IncomingMessage & { userId?: string }).userId = payload.email;
        cb(true);
      } catch {
        refuse('Invalid core token');
      }
    },
  });
  wss.on('connection', (ws, req) => {
    const messages: Array<Record<string, unknown>> = [];
    const binary: Buffer[] = [];
    const listeners = new Set<() => void>();
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        binary.push(data as Buffer);
      } else {
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(String(data)) as Record<string, unknown>;
        } catch {
          msg = { type: '(unparsed)', raw: String(data) };
        }
        messages.push(msg);
        // Like the newer cloud: answer the app-level ping at once.
        if (msg.type === 'ping') ws.send(JSON.stringify({ type: 'pong' }));
      }
      for (const l of [...listeners]) l();
    });
    const conn: CloudConn = {
      ws,
      req,
      userId: (req as IncomingMessage & { userId?: string }).userId ?? '',
      messages,
      binary,
      closed: new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) }))),
      send: (msg) => ws.send(JSON.stringify(msg)),
      next: (type, pred) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => {
            listeners.delete(check);
            reject(new Error(`fake cloud: no ${type}; got ${JSON.stringify(messages.map((m) => m.type))}`));
          }, 3000);
          const check = (): void => {
            const hit = messages.find((m) => m.type === type && (!pred || pred(m)));
            if (hit) {
              clearTimeout(timer);
              listeners.delete(check);
              resolve(hit);
            }
          };
          listeners.add(check);
          check();
        }),
    };
    conns.push(conn);
    conn.send({ type: 'connection_ack', sessionId: conn.userId, timestamp: new Date().toISOString() });
    connWaiters.splice(0).forEach((w) => w(conn));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  let seen = 0;
  return {
    url: `http://127.0.0.1:${bound}`,
    conns,
    nextConn: () =>
      new Promise((resolve) => {
        if (conns.length > seen) return resolve(conns[seen++]);
        connWaiters.push((c) => {
          seen++;
          resolve(c);
        });
      }),
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await closeServer(server);
    },
  };
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * A barrier in both directions: once the cloud's pong is back, the cloud has read everything
 * the glasses sent before the ping, and the glasses have handled everything the cloud sent
 * before the pong (both sides process a socket in order).
 */
async function flush(g: SimulatedGlasses): Promise<void> {
  await g.ping();
}

/** What the cloud received, minus the flush pings. */
function typesSeen(conn: CloudConn): unknown[] {
  return conn.messages.map((m) => m.type).filter((t) => t !== 'ping');
}

function display(view: 'main' | 'dashboard', layout: Record<string, unknown>): Record<string, unknown> {
  return { type: 'display_event', packageName: 'com.test.app', view, layout, timestamp: new Date().toISOString() };
}

// ---------------------------------------------------------------------------

describe('SimulatedGlasses', () => {
  let cloud: FakeCloud;
  const clients: SimulatedGlasses[] = [];
  const token = signCoreToken(EMAIL, SECRET);

  function glasses(opts: Partial<SimulatedGlassesOptions> = {}): SimulatedGlasses {
    const g = new SimulatedGlasses({ cloudUrl: cloud.url, token, ...opts });
    clients.push(g);
    return g;
  }

  async function connected(opts: Partial<SimulatedGlassesOptions> = {}): Promise<[SimulatedGlasses, CloudConn]> {
    const g = glasses(opts);
    const connP = cloud.nextConn();
    await g.connect();
    return [g, await connP];
  }

  beforeEach(async () => {
    cloud = await startFakeCloud();
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((g) => g.disconnect()));
    await cloud.close();
  });

  describe('connection', () => {
    it('autoReconnect: comes back by itself after a 1012 close, with a new acknowledged socket', async () => {
      const [g, conn] = await connected({ autoReconnect: { initialDelayMs: 20, maxDelayMs: 100 } });
      const reconnected = new Promise<number>((resolve) =>
        g.once('reconnected', (_ack, attempts) => resolve(attempts)),
      );
      const next = cloud.nextConn();
      conn.ws.close(1012, 'Service restart');
      const second = await next;
      expect(await reconnected).toBe(1);
      expect(g.isOpen).toBe(true);
      expect(second.userId).toBe(EMAIL);
      expect(g.lastClose).toEqual({ code: 1012, reason: 'Service restart' });
    });

    it('autoReconnect: retries with growing delays while the cloud is unreachable, then connects', async () => {
      const [g, conn] = await connected({ autoReconnect: { initialDelayMs: 40, maxDelayMs: 400 } });
      const port = Number(new URL(cloud.url).port);
      // The cloud goes away entirely; each attempt fails until a new one listens on the same port.
      await cloud.close();
      await conn.closed;
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, 500));
      expect(g.isOpen).toBe(false);
      const reconnected = new Promise<number>((resolve) =>
        g.once('reconnected', (_ack, attempts) => resolve(attempts)),
      );
      cloud = await startFakeCloud(port);
      const attempts = await reconnected;
      // 40, 80, 160, 320, 400… (each in its upper half): 500 ms of outage take at least 3 failed attempts, not 12.
      expect(attempts).toBeGreaterThanOrEqual(4);
      expect(attempts).toBeLessThan(12);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
    });

    it('autoReconnect: no reconnect after disconnect() or a final close (4001 token revoked)', async () => {
      const [g, conn] = await connected({ autoReconnect: { initialDelayMs: 10, maxDelayMs: 20 } });
      conn.ws.close(4001, 'token revoked');
      await g.waitForClose();
      await new Promise((r) => setTimeout(r, 100));
      expect(cloud.conns).toHaveLength(1);
      expect(g.openHandles().timers).toBe(0);

      await g.connect();
      await g.disconnect();
      await new Promise((r) => setTimeout(r, 100));
      expect(cloud.conns).toHaveLength(2);
      expect(g.openHandles()).toEqual({ sockets: 0, timers: 0, waits: 0, uploads: 0, pcmStreams: 0 });
    });

    it('resolves on connection_ack and reports the glasses connection state', async () => {
      const [g, conn] = await connected();
      expect(g.state.sessionId).toBe(EMAIL);
      expect(g.state.connected).toBe(true);
      expect(conn.req.headers.authorization).toBe(`Bearer ${token}`);
      const state = await conn.next('glasses_connection_state');
      expect(state).toMatchObject({
        modelName: 'Even Realities G1',
        status: 'CONNECTED',
        wifi: { connected: false, ssid: null },
      });
      expect(typeof state.timestamp).toBe('string');
    });

    it('reports Wi-Fi for a model that has it and can carry the token in the query', async () => {
      const [, conn] = await connected({ model: 'live', tokenIn: 'query' });
      expect(conn.req.headers.authorization).toBeUndefined();
      expect(new URL(conn.req.url ?? '', 'http://x').searchParams.get('token')).toBe(token);
      expect(await conn.next('glasses_connection_state')).toMatchObject({
        modelName: 'Mentra Live',
        wifi: { connected: true },
      });
    });

    it('does not send the connection state when told not to', async () => {
      const [g, conn] = await connected({ sendConnectionState: false });
      await flush(g);
      expect(typesSeen(conn)).toEqual([]);
    });

    it('surfaces a refused upgrade with its HTTP status and JSON body', async () => {
      const g = glasses({ token: signCoreToken(EMAIL, 'wrong-secret') });
      const err = await g.connect().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UpgradeRefusedError);
      const refused = err as UpgradeRefusedError;
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({ type: 'connection_error', message: 'Invalid core token' });
      expect(refused.message).toContain('401');
      expect(cloud.conns).toHaveLength(0);
      await g.disconnect();
      expect(g.openHandles()).toEqual({ sockets: 0, timers: 0, waits: 0, uploads: 0, pcmStreams: 0 });
    });

    it('reports a token without email as a 401 with its own message', async () => {
      const g = glasses({ token: signCoreToken(EMAIL, SECRET, { email: undefined }) });
      await expect(g.connect()).rejects.toMatchObject({
        status: 401,
        body: { message: 'Invalid core token - no user ID' },
      });
    });

    it('refuses a second connect() while open', async () => {
      const [g] = await connected();
      await expect(g.connect()).rejects.toThrow(/already connected/);
    });
  });

  describe('keep-alive', () => {
    it('answers a server {"type":"ping"} with a bare {"type":"pong"}', async () => {
      const [, conn] = await connected();
      conn.send({ type: 'ping' });
      const pong = await conn.next('pong');
      expect(pong).toEqual({ type: 'pong' });
    });

    it('does not answer pings when autoAnswer.pings is off', async () => {
      const [g, conn] = await connected({ autoAnswer: { pings: false } });
      conn.send({ type: 'ping' });
      await flush(g);
      expect(conn.messages.some((m) => m.type === 'pong')).toBe(false);
    });

    it('ping() sends a bare ping and resolves on the cloud pong', async () => {
      const [g, conn] = await connected();
      const rtt = await g.ping();
      expect(rtt).toBeGreaterThanOrEqual(0);
      expect(conn.messages.filter((m) => m.type === 'ping')).toEqual([{ type: 'ping' }]);
    });

    it('ping() times out when the cloud does not answer', async () => {
      const [g, conn] = await connected();
      conn.ws.removeAllListeners('message');
      await expect(g.ping({ timeoutMs: 100 })).rejects.toThrow(/Timed out after 100 ms waiting for pong/);
    });
  });

  describe('state tracking', () => {
    it('keeps the last display per view, the mic state and counters', async () => {
      const [g, conn] = await connected();
      conn.send(display('main', { layoutType: 'text_wall', text: 'Hello world' }));
      conn.send(display('dashboard', { layoutType: 'double_text_wall', topText: '10:42', bottomText: '87%' }));
      conn.send({
        type: 'microphone_state_change',
        isMicrophoneEnabled: true,
        requiredData: ['pcm'],
        bypassVad: true,
      });
      conn.send({ type: 'set_location_tier', tier: 'high' });
      conn.send({ type: 'app_state_change', sessionId: EMAIL });
      await flush(g);

      expect(g.displayText('main')).toBe('Hello world');
      expect(g.displayText('dashboard')).toBe('10:42\n87%');
      expect(g.state.display.main?.packageName).toBe('com.test.app');
      expect(g.state.micEnabled).toBe(true);
      expect(g.state.requiredData).toEqual(['pcm']);
      expect(g.state.bypassVad).toBe(true);
      expect(g.state.locationTier).toBe('high');
      expect(g.state.appStateChanges).toBe(1);
      expect(g.received.map((m) => m.type)).toEqual([
        'connection_ack',
        'display_event',
        'display_event',
        'microphone_state_change',
        'set_location_tier',
        'app_state_change',
        'pong',
      ]);

      conn.send(display('main', { layoutType: 'clear_view' }));
      conn.send(display('dashboard', { layoutType: 'text_wall', text: '' }));
      conn.send({ type: 'microphone_state_change', isMicrophoneEnabled: false, requiredData: [] });
      await flush(g);
      expect(g.state.display).toEqual({ main: null, dashboard: null });
      expect(g.displayText('main')).toBe('');
      expect(g.state.micEnabled).toBe(false);
      expect(g.state.bypassVad).toBe(false);
    });

    it('emits every message as "message" and "msg:<type>", binary frames as "binary"', async () => {
      const [g, conn] = await connected();
      const types: string[] = [];
      const mics: boolean[] = [];
      const binaries: Buffer[] = [];
      g.on('message', (m) => types.push(m.type));
      g.on('msg:microphone_state_change', (m) => mics.push(m.isMicrophoneEnabled));
      g.on('binary', (b) => binaries.push(b));
      conn.send({ type: 'microphone_state_change', isMicrophoneEnabled: true, requiredData: ['pcm'] });
      conn.ws.send(Buffer.from([1, 2, 3]));
      conn.send({ type: 'some_future_type' });
      await flush(g);
      expect(types).toEqual(['microphone_state_change', 'some_future_type', 'pong']);
      expect(mics).toEqual([true]);
      expect(binaries.map((b) => [...b])).toEqual([[1, 2, 3]]);
    });

    it('renders every layout type as text', () => {
      expect(layoutToText({ layoutType: 'reference_card', title: 'T', text: 'body' })).toBe('T\nbody');
      expect(layoutToText({ layoutType: 'dashboard_card', leftText: 'L', rightText: 'R' })).toBe('L | R');
      expect(layoutToText({ layoutType: 'double_text_wall', topText: 'top', bottomText: '' })).toBe('top');
      expect(layoutToText({ layoutType: 'bitmap_view', data: 'xx' })).toBe('[bitmap]');
      expect(layoutToText({ layoutType: 'bitmap_animation', frames: ['a', 'b'], interval: 100, repeat: true })).toBe(
        '[bitmap animation: 2 frames]',
      );
      expect(layoutToText({ layoutType: 'clear_view' })).toBe('');
    });
  });

  describe('waits', () => {
    it('waitForDisplay with `since` finds a display that arrived (and was replaced) before the wait', async () => {
      const [g, conn] = await connected();
      const since = g.mark();
      conn.send(display('main', { layoutType: 'reference_card', title: 'Weather', text: 'Sunny 21°' }));
      conn.send(display('main', { layoutType: 'text_wall', text: 'Something else' }));
      await flush(g); // both displays are in before the wait starts

      const hit = await g.waitForDisplay(/Sunny \d+/, { since });
      expect(hit.layout).toMatchObject({ title: 'Weather' });

      // Without `since` only the current display and new ones count, so this one must time out.
      const err = await g.waitForDisplay('Sunny', { timeoutMs: 50 }).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/display_event on view "main" matching "Sunny"/);
      expect((err as Error).message).toContain('main display: "Something else"');
    });

    it('waitForDisplay resolves at once on the current display and waits on the dashboard view', async () => {
      const [g, conn] = await connected();
      conn.send(display('main', { layoutType: 'text_wall', text: 'Current' }));
      await flush(g);
      await expect(g.waitForDisplay('Curr')).resolves.toMatchObject({ layout: { text: 'Current' } });

      const pending = g.waitForDisplay('left | right', { view: 'dashboard' });
      conn.send(display('main', { layoutType: 'dashboard_card', leftText: 'left', rightText: 'right' }));
      conn.send(display('dashboard', { layoutType: 'dashboard_card', leftText: 'left', rightText: 'right' }));
      await expect(pending).resolves.toMatchObject({ view: 'dashboard' });
    });

    it('waitFor with a predicate and since; waitForMic', async () => {
      const [g, conn] = await connected();
      const since = g.mark();
      conn.send({ type: 'request_single_location', accuracy: 'high', correlationId: 'a' });
      conn.send({ type: 'request_single_location', accuracy: 'high', correlationId: 'b' });
      await flush(g);
      const b = await g.waitFor('request_single_location', (m) => m.correlationId === 'b', { since });
      expect(b.correlationId).toBe('b');

      await expect(g.waitForMic(false)).resolves.toBeNull(); // already off, nothing received
      const micOn = g.waitForMic(true);
      conn.send({ type: 'microphone_state_change', isMicrophoneEnabled: true, requiredData: ['pcm'] });
      await expect(micOn).resolves.toMatchObject({ requiredData: ['pcm'] });
    });

    it('fails pending waits when the socket closes, saying what was awaited', async () => {
      const [g, conn] = await connected();
      const pending = g.waitFor('photo_request', undefined, { timeoutMs: 10_000 });
      conn.ws.close(1008, 'policy');
      await expect(pending).rejects.toThrow(/photo_request: the socket closed \(1008 policy\)/);
      expect(g.openHandles().timers + g.openHandles().waits).toBe(0);
    });
  });

  describe('auto answers', () => {
    it('uploads the photo as multipart to the webhook with the request id and bearer token', async () => {
      const uploads: Array<{ headers: IncomingMessage['headers']; form: FormData }> = [];
      const webhook = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const request = new Request('http://webhook/photo-upload', {
            method: 'POST',
            headers: { 'content-type': req.headers['content-type'] ?? '' },
            body: Buffer.concat(chunks),
          });
          void request.formData().then((form) => {
            uploads.push({ headers: req.headers, form });
            res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}');
          });
        });
      });
      await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
      const webhookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/photo-upload`;
      try {
        const jpeg = Buffer.concat([TINY_JPEG, Buffer.from('distinct')]);
        const [g, conn] = await connected({ model: 'live', autoAnswer: { photos: { jpeg } } });
        const uploaded = new Promise((resolve) => g.once('photo-upload', resolve));
        conn.send({
          type: 'photo_request',
          requestId: 'req-1',
          appId: 'com.test.camera',
          webhookUrl,
          authToken: 'app-secret',
          size: 'medium',
        });
        await expect(uploaded).resolves.toMatchObject({ ok: true, status: 200, requestId: 'req-1' });

        expect(uploads).toHaveLength(1);
        const { headers, form } = uploads[0];
        expect(headers.authorization).toBe('Bearer app-secret');
        expect(headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
        expect(form.get('requestId')).toBe('req-1');
        expect(form.get('type')).toBe('photo_upload');
        const photo = form.get('photo') as File;
        expect(photo.name).toBe('photo.jpg');
        expect(photo.type).toBe('image/jpeg');
        expect(Buffer.from(await photo.arrayBuffer()).equals(jpeg)).toBe(true);
        // A successful upload says nothing on the socket.
        await flush(g);
        expect(conn.messages.some((m) => m.type === 'photo_response')).toBe(false);
      } finally {
        await closeServer(webhook);
      }
    });

    it('answers a photo_request with CAMERA_BUSY when photos are off, UPLOAD_FAILED when the webhook is down', async () => {
      const [, conn] = await connected({ autoAnswer: { photos: false } });
      conn.send({ type: 'photo_request', requestId: 'busy-1', appId: 'a', webhookUrl: 'http://127.0.0.1:9/x' });
      expect(await conn.next('photo_response')).toMatchObject({
        requestId: 'busy-1',
        success: false,
        error: { code: 'CAMERA_BUSY' },
      });

      const [, conn2] = await connected();
      conn2.send({ type: 'photo_request', requestId: 'down-1', appId: 'a', webhookUrl: 'http://127.0.0.1:9/x' });
      expect(await conn2.next('photo_response')).toMatchObject({
        requestId: 'down-1',
        success: false,
        error: { code: 'UPLOAD_FAILED' },
      });
    });

    it('runs the RTMP lifecycle: active status, keep-alive acks, stopped status', async () => {
      const [g, conn] = await connected({ model: 'live' });
      conn.send({ type: 'start_rtmp_stream', rtmpUrl: 'rtmp://x/live', appId: 'com.cam', streamId: 's1' });
      expect(await conn.next('rtmp_stream_status')).toMatchObject({
        streamId: 's1',
        status: 'active',
        appId: 'com.cam',
      });
      expect(g.state.rtmpStreams.s1).toMatchObject({ status: 'active', rtmpUrl: 'rtmp://x/live' });

      conn.send({ type: 'keep_rtmp_stream_alive', streamId: 's1', ackId: 'ack-7' });
      expect(await conn.next('keep_alive_ack')).toMatchObject({ streamId: 's1', ackId: 'ack-7' });
      expect(g.state.rtmpStreams.s1.keepAlivesReceived).toBe(1);

      conn.send({ type: 'stop_rtmp_stream', appId: 'com.cam', streamId: '' });
      expect(await conn.next('rtmp_stream_status', (m) => m.status === 'stopped')).toMatchObject({ streamId: 's1' });
      expect(g.state.rtmpStreams).toEqual({});
    });

    it('leaves keep-alives and stream starts unanswered when switched off', async () => {
      const [g, conn] = await connected({ autoAnswer: { keepAlive: false, rtmp: false } });
      conn.send({ type: 'start_rtmp_stream', rtmpUrl: 'rtmp://x', appId: 'a', streamId: 's2' });
      conn.send({ type: 'keep_rtmp_stream_alive', streamId: 's2', ackId: 'k' });
      await flush(g);
      expect(typesSeen(conn)).toEqual(['glasses_connection_state']);
      expect(g.state.rtmpStreams.s2.status).toBe('initializing');
    });

    it('answers a location poll with the last fix and the request correlationId', async () => {
      const [g, conn] = await connected();
      g.setLocation(52.52, 13.405, 12);
      expect(await conn.next('location_update')).toMatchObject({ lat: 52.52, lng: 13.405, accuracy: 12 });

      conn.send({ type: 'request_single_location', accuracy: 'high', correlationId: 'corr-9' });
      const reply = await conn.next('location_update', (m) => m.correlationId === 'corr-9');
      expect(reply).toMatchObject({ lat: 52.52, lng: 13.405, accuracy: 12 });
    });

    it('answers audio_play_request and rgb_led_control', async () => {
      const [g, conn] = await connected();
      conn.send({ type: 'audio_play_request', requestId: 'au-1', packageName: 'p', audioUrl: 'https://x/a.mp3' });
      conn.send({ type: 'rgb_led_control', requestId: 'led-1', packageName: 'p', action: 'on', color: 'red' });
      expect(await conn.next('audio_play_response')).toMatchObject({
        requestId: 'au-1',
        success: true,
        duration: 1000,
      });
      expect(await conn.next('rgb_led_control_response')).toMatchObject({ requestId: 'led-1', success: true });
      expect(g.state.led).toMatchObject({ color: 'red' });
    });
  });

  describe('senders', () => {
    it('sends the input events with their SDK field names', async () => {
      const [g, conn] = await connected({ model: 'g2' });
      g.pressButton();
      g.pressButton('long', 'camera');
      g.touch('DOUBLE_TAP');
      g.headPosition('up');
      g.vad(true);
      g.sendTranscript('hello there world', { isFinal: false, language: 'de-DE' });
      g.battery(55, true);
      g.notification({ title: 'Hi', content: 'Lunch?', app: 'Chat' });
      g.calendarEvent({ title: 'Standup', dtStart: new Date(0), dtEnd: '1970-01-01T00:15:00.000Z' });
      g.startApp('com.a');
      g.stopApp('com.a');
      g.send('dashboard_state', { isOpen: true });
      g.sendRaw('not json');
      await flush(g);
      const byType = (t: string): Record<string, unknown> | undefined => conn.messages.find((m) => m.type === t);

      expect(conn.messages.filter((m) => m.type === 'button_press')).toMatchObject([
        { buttonId: 'main', pressType: 'short' },
        { buttonId: 'camera', pressType: 'long' },
      ]);
      expect(byType('touch_event')).toMatchObject({ device_model: 'Even Realities G2', gesture_name: 'DOUBLE_TAP' });
      expect(byType('head_position')).toMatchObject({ position: 'up' });
      expect(byType('VAD')).toMatchObject({ status: true });
      const t = byType('local_transcription') as Record<string, number | string | boolean>;
      expect(t).toMatchObject({
        text: 'hello there world',
        isFinal: false,
        transcribeLanguage: 'de-DE',
        speakerId: 0,
        provider: 'simulator',
      });
      expect(t.startTime as number).toBeLessThan(t.endTime as number);
      expect(byType('glasses_battery_update')).toMatchObject({ level: 55, charging: true });
      expect(byType('phone_notification')).toMatchObject({ app: 'Chat', title: 'Hi', priority: 'normal' });
      expect(byType('calendar_event')).toMatchObject({ title: 'Standup', dtStart: '1970-01-01T00:00:00.000Z' });
      expect(conn.messages.filter((m) => m.type === 'start_app' || m.type === 'stop_app')).toMatchObject([
        { packageName: 'com.a' },
        { packageName: 'com.a' },
      ]);
      expect(byType('dashboard_state')).toMatchObject({ isOpen: true });
      expect(byType('(unparsed)')).toEqual({ type: '(unparsed)', raw: 'not json' });
    });

    it('setModel announces the new model', async () => {
      const [g, conn] = await connected();
      g.setModel('z100');
      expect(await conn.next('glasses_connection_state', (m) => m.modelName === 'Vuzix Z100')).toMatchObject({
        status: 'CONNECTED',
      });
      expect(() => g.setModel('hololens')).toThrow(/Unknown glasses model "hololens".*Even Realities G1/);
    });

    it('streams PCM as binary frames, paced in real time', async () => {
      const [g, conn] = await connected();
      const pcm = Buffer.alloc(9600, 7); // 300 ms of audio
      const started = Date.now();
      const result = await g.streamPcm(pcm, { frameBytes: 3200 });
      const elapsed = Date.now() - started;
      expect(result).toEqual({ bytesSent: 9600, frames: 3, aborted: false });
      expect(elapsed).toBeGreaterThanOrEqual(190); // frames at 0, 100, 200 ms

      const fast = await g.streamPcm(Buffer.alloc(32_000), { frameBytes: 320, realtime: false });
      expect(fast.frames).toBe(100);
      await flush(g);
      expect(Buffer.concat(conn.binary).length).toBe(9600 + 32_000);
      expect(conn.binary[0].length).toBe(3200);
    });

    it('stops a PCM stream on disconnect without rejecting or leaving timers', async () => {
      const [g] = await connected();
      const streaming = g.streamPcm(Buffer.alloc(32_000 * 10)); // 10 s of audio
      await new Promise((r) => setTimeout(r, 30));
      await g.disconnect();
      const result = await streaming;
      expect(result.aborted).toBe(true);
      expect(result.bytesSent).toBeLessThan(32_000 * 10);
      expect(g.openHandles()).toEqual({ sockets: 0, timers: 0, waits: 0, uploads: 0, pcmStreams: 0 });
    });

    it('throws when sending while not connected', () => {
      const g = glasses();
      expect(() => g.pressButton()).toThrow(/not open/);
    });
  });

  describe('disconnect, drop, reconnect', () => {
    it('disconnect() closes cleanly with 1000', async () => {
      const [g, conn] = await connected();
      const info = await g.disconnect();
      expect(info.code).toBe(1000);
      expect((await conn.closed).code).toBe(1000);
      expect(g.state.connected).toBe(false);
    });

    it('drop() makes the server see an abnormal 1006 close', async () => {
      const [g, conn] = await connected();
      await g.drop();
      expect((await conn.closed).code).toBe(1006);
      await expect(g.waitForClose()).resolves.toMatchObject({ code: 1006 });
    });

    it('reconnect() opens a new socket with the same token and model and keeps the phone state', async () => {
      const [g, conn1] = await connected({ model: 'live' });
      conn1.send(display('main', { layoutType: 'text_wall', text: 'Persisted' }));
      await flush(g);
      await g.drop();
      expect((await conn1.closed).code).toBe(1006);

      const conn2P = cloud.nextConn();
      const ack = await g.reconnect();
      const conn2 = await conn2P;
      expect(ack.sessionId).toBe(EMAIL);
      expect(conn2.req.headers.authorization).toBe(`Bearer ${token}`);
      expect(await conn2.next('glasses_connection_state')).toMatchObject({ modelName: 'Mentra Live' });
      expect(g.displayText()).toBe('Persisted');
      expect(g.state.connected).toBe(true);
    });

    it('reconnect() closes an open previous socket first, or keeps it when asked', async () => {
      const [g, conn1] = await connected();
      const conn2P = cloud.nextConn();
      await g.reconnect();
      expect((await conn1.closed).code).toBe(1000);
      const conn2 = await conn2P;

      const conn3P = cloud.nextConn();
      await g.reconnect({ previous: 'keep' });
      const conn3 = await conn3P;
      expect(conn2.ws.readyState).toBe(conn2.ws.OPEN);
      expect(g.openHandles().sockets).toBe(2);
      // Messages on the stale socket are no longer the phone's business.
      conn2.send(display('main', { layoutType: 'text_wall', text: 'stale' }));
      // The protocol pong comes back only after the client has handled the frame before it.
      await new Promise((resolve) => {
        conn2.ws.once('pong', resolve);
        conn2.ws.ping();
      });
      expect(g.displayText()).toBe('');
      expect(g.received.some((m) => m.type === 'display_event')).toBe(false);
      expect(await conn3.next('glasses_connection_state')).toMatchObject({ status: 'CONNECTED' });
      await g.closeStale({ abrupt: true });
      expect((await conn2.closed).code).toBe(1006);
      expect(g.isOpen).toBe(true);
    });

    it('leaves no sockets, timers or waits behind after disconnect', async () => {
      const count = (name: string): number => process.getActiveResourcesInfo().filter((r) => r === name).length;
      const before = { sockets: count('TCPSocketWrap'), timers: count('Timeout') };

      const [g, conn] = await connected();
      conn.send({ type: 'ping' });
      await conn.next('pong');
      void g.waitFor('display_event', undefined, { timeoutMs: 60_000 }).catch(() => undefined);
      expect(g.openHandles().waits).toBe(1);
      expect(count('TCPSocketWrap')).toBeGreaterThan(before.sockets);

      await g.disconnect();
      expect((await conn.closed).code).toBe(1000);
      expect(g.openHandles()).toEqual({ sockets: 0, timers: 0, waits: 0, uploads: 0, pcmStreams: 0 });
      // Give the server side a tick to release its end of the TCP connection.
      await new Promise((r) => setImmediate(r));
      expect(count('TCPSocketWrap')).toBe(before.sockets);
      expect(count('Timeout')).toBeLessThanOrEqual(before.timers);
    });
  });
});

describe('device models', () => {
  it('resolves names and aliases case-insensitively and lists valid names for unknown ones', () => {
    expect(DEFAULT_MODEL).toBe('Even Realities G1');
    expect(resolveModel('G1').name).toBe('Even Realities G1');
    expect(resolveModel('mentra live').name).toBe('Mentra Live');
    expect(resolveModel('nimo').name).toBe('NIMO');
    expect(resolveModel('simulated').hasWifi).toBe(false);
    expect(resolveModel('live').hasWifi).toBe(true);
    expect(() => resolveModel('glass')).toThrow(/Unknown glasses model "glass".*"Vuzix Z100" \(z100\)/);
  });
});

describe('signCoreToken', () => {
  it('signs an HS256 token carrying email and sub', () => {
    const t = signCoreToken(EMAIL, SECRET, { organizations: ['o1'] });
    const decoded = jwt.verify(t, SECRET, { algorithms: ['HS256'] }) as Record<string, unknown>;
    expect(decoded).toMatchObject({ email: EMAIL, sub: EMAIL, organizations: ['o1'] });
    expect(decoded.exp).toBeUndefined();
    expect(jwt.decode(t, { complete: true })?.header.alg).toBe('HS256');
    expect(() => signCoreToken(EMAIL, '')).toThrow(/secret is empty/);
  });
});
