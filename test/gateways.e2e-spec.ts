import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signCoreToken, SimulatedGlasses } from '../src/simulator/index.js';
import { startCloud, type TestCloud } from './support/cloud.js';
import { startRawApp, type RawApp } from './support/raw-app.js';
import { RawClient } from './support/raw-ws.js';
import { eventually } from './support/sdk-app.js';

const USER = 'gate@example.com';
const OTHER = 'other@example.com';

/** Bad input on both gateways: a clear error to the sender, everyone else carries on. */
describe('gateways: authentication and bad input', () => {
  let cloud: TestCloud;
  let app: RawApp;
  let glasses: SimulatedGlasses;
  let bystander: SimulatedGlasses;
  let glassesWs: string;
  let appWs: string;

  beforeAll(async () => {
    cloud = await startCloud({ MAX_MESSAGE_BYTES: '4096', MAX_FRAME_BYTES: '65536' });
    glassesWs = cloud.url.replace('http', 'ws') + '/glasses-ws';
    appWs = cloud.url.replace('http', 'ws') + '/app-ws';
    app = await startRawApp('com.example.gate', () => ({ subscriptions: ['button_press'] }));
    app.apiKey = await cloud.registerApp({ packageName: 'com.example.gate', publicUrl: app.url }, [USER, OTHER]);
    await cloud.registerApp({ packageName: 'com.example.second', publicUrl: 'http://127.0.0.1:9' }, [USER]);
    glasses = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token(USER) });
    await glasses.connect();
    bystander = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token(OTHER) });
    await bystander.connect();
    glasses.startApp('com.example.gate');
    bystander.startApp('com.example.gate');
    await eventually(
      () =>
        app.sockets.length === 2 &&
        cloud.registry.get(USER)?.subscriptions.subscriptionsOf('com.example.gate').length === 1 &&
        cloud.registry.get(OTHER)?.subscriptions.subscriptionsOf('com.example.gate').length === 1,
      5000,
      'both apps running',
    );
  });
  afterAll(async () => {
    await glasses.disconnect().catch(() => undefined);
    await bystander.disconnect().catch(() => undefined);
    await app.close();
    await cloud.close();
  });

  /** The other user's session keeps working: a press still reaches their app. */
  async function bystanderStillServed(): Promise<void> {
    const socket = app.sockets.find((s) =>
      s.messages.some((m) => m.type === 'tpa_connection_ack' && m.sessionId.startsWith(OTHER)),
    )!;
    const from = socket.messages.length;
    bystander.pressButton('short', `probe-${from}`);
    const got = await socket.next((m) => m.type === 'data_stream' && m.data.buttonId === `probe-${from}`, 3000, from);
    expect(got.streamType).toBe('button_press');
  }

  describe('glasses upgrade', () => {
    it('refuses a missing token with 401 and a JSON connection_error', async () => {
      const r = await RawClient.refused(glassesWs);
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({ type: 'connection_error', message: 'No core token provided' });
    });

    it('refuses bad signatures, alg none, garbage and tokens without email', async () => {
      const bad = [
        signCoreToken(USER, 'not-the-secret-at-all-0123456789'),
        `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ email: USER })).toString('base64url')}.`,
        'garbage',
      ];
      for (const token of bad) {
        const r = await RawClient.refused(glassesWs, { authorization: `Bearer ${token}` });
        expect(r.status).toBe(401);
        expect(r.body).toMatchObject({ type: 'connection_error', message: 'Invalid core token' });
      }
      const noEmail = signCoreToken(USER, cloud.config.jwtSecret, { email: undefined });
      const r = await RawClient.refused(glassesWs, { authorization: `Bearer ${noEmail}` });
      expect(r).toMatchObject({ status: 401, body: { message: 'Invalid core token - no user ID' } });
    });

    it('accepts ?token= but refuses a header and a query naming different users', async () => {
      const ok = await RawClient.open(`${glassesWs}?token=${cloud.token('query@example.com')}`);
      await ok.next((m) => m.type === 'connection_ack' && m.sessionId === 'query@example.com');
      ok.close();
      const forged = signCoreToken(OTHER, 'forged-secret-forged-secret-1234');
      const a = await RawClient.refused(`${glassesWs}?token=${forged}`, {
        authorization: `Bearer ${cloud.token('query@example.com')}`,
      });
      expect(a.status).toBe(401);
      const b = await RawClient.refused(`${glassesWs}?token=${cloud.token(OTHER)}`, {
        authorization: `Bearer ${cloud.token('query@example.com')}`,
      });
      expect(b.status).toBe(401);
    });

    it('answers an unknown WebSocket path with a JSON 404', async () => {
      const r = await RawClient.refused(cloud.url.replace('http', 'ws') + '/nope-ws');
      expect(r).toMatchObject({ status: 404, body: { code: 'UNKNOWN_PATH' } });
    });
  });

  describe('glasses messages', () => {
    it('answers malformed JSON, non-objects, missing types and unknown types with connection_error and keeps the socket', async () => {
      const cases: Array<[string, string]> = [
        ['{not json', 'MALFORMED_MESSAGE'],
        ['[1,2,3]', 'MALFORMED_MESSAGE'],
        ['{"no":"type"}', 'MALFORMED_MESSAGE'],
        ['{"type":42}', 'MALFORMED_MESSAGE'],
        ['{"type":"definitely_not_a_type"}', 'UNKNOWN_MESSAGE_TYPE'],
        ['{"type":"start_app"}', 'MALFORMED_MESSAGE'],
        ['{"type":"start_app","packageName":{"$gt":""}}', 'MALFORMED_MESSAGE'],
      ];
      for (const [text, code] of cases) {
        const mark = glasses.mark();
        glasses.sendRaw(text);
        const err = await glasses.waitFor('connection_error', (m) => m.code === code, { since: mark });
        expect(err.message.length).toBeGreaterThan(5);
      }
      expect(glasses.isOpen).toBe(true);
      await glasses.ping();
      await bystanderStillServed();
    });

    it('refuses messages over MAX_MESSAGE_BYTES with an error, and closes 1009 only above MAX_FRAME_BYTES', async () => {
      const mark = glasses.mark();
      glasses.sendRaw(JSON.stringify({ type: 'button_press', buttonId: 'x'.repeat(8000), pressType: 'short' }));
      await glasses.waitFor('connection_error', (m) => m.code === 'MESSAGE_TOO_LARGE', { since: mark });
      expect(glasses.isOpen).toBe(true);
      const victim = await RawClient.open(glassesWs, { authorization: `Bearer ${cloud.token('big@example.com')}` });
      victim.send('x'.repeat(70_000));
      expect((await victim.waitClosed()).code).toBe(1009);
      await bystanderStillServed();
    });

    it('a second connection of the same user replaces the first, whose late close changes nothing', async () => {
      const first = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token('twice@example.com') });
      await first.connect();
      const second = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token('twice@example.com') });
      await second.connect();
      const closed = await first.waitForClose();
      expect(closed.code).toBe(4000);
      await new Promise((r) => setTimeout(r, 50));
      const s = cloud.registry.get('twice@example.com')!;
      expect(s.ctx.glassesOpen).toBe(true);
      expect(s.ctx.disconnectedAt).toBeNull();
      await second.disconnect();
    });
  });

  describe('app socket', () => {
    it('needs tpa_connection_init first: another first frame gets NOT_INITIALIZED and closes the socket (1008)', async () => {
      const c = await RawClient.open(appWs);
      c.send({ type: 'subscription_update', subscriptions: ['button_press'] });
      const err = await c.next((m) => m.type === 'tpa_connection_error');
      expect(err.code).toBe('NOT_INITIALIZED');
      expect((await c.waitClosed()).code).toBe(1008);
    });

    it("refuses a wrong API key, another app's key and malformed init with tpa_connection_error + close 1008", async () => {
      const sessionId = `${USER}-com.example.gate`;
      const attempts = [
        { type: 'tpa_connection_init', sessionId, packageName: 'com.example.gate', apiKey: 'f'.repeat(64) },
        {
          type: 'tpa_connection_init',
          sessionId: `${USER}-com.example.second`,
          packageName: 'com.example.second',
          apiKey: app.apiKey,
        },
        { type: 'tpa_connection_init', sessionId, packageName: 'com.example.gate', apiKey: { $ne: '' } },
      ];
      const codes = [];
      for (const init of attempts) {
        const c = await RawClient.open(appWs);
        c.send(init);
        const err = await c.next((m) => m.type === 'tpa_connection_error');
        codes.push(err.code);
        expect((await c.waitClosed()).code).toBe(1008);
      }
      expect(codes).toEqual(['INVALID_API_KEY', 'INVALID_API_KEY', 'MALFORMED_MESSAGE']);
      await bystanderStillServed();
    });

    it("cannot attach to another user's session or an app the user never started", async () => {
      const cases = [
        // the right key, but a user whose session does not run this app
        { sessionId: `ghost@example.com-com.example.gate`, code: 'SESSION_NOT_FOUND' },
        // a session id that names another package than the one authenticated
        { sessionId: `${OTHER}-com.example.second`, code: 'SESSION_NOT_FOUND' },
      ];
      const sessionless = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token('nostart@example.com') });
      await sessionless.connect();
      cases.push({ sessionId: 'nostart@example.com-com.example.gate', code: 'APP_NOT_STARTED' });
      for (const { sessionId, code } of cases) {
        const c = await RawClient.open(appWs);
        c.send({ type: 'tpa_connection_init', sessionId, packageName: 'com.example.gate', apiKey: app.apiKey });
        const err = await c.next((m) => m.type === 'tpa_connection_error');
        expect(err.code, sessionId).toBe(code);
        expect((await c.waitClosed()).code).toBe(1008);
      }
      await sessionless.disconnect();
      // The legitimate sockets were not disturbed.
      expect(app.sockets.every((s) => s.closed === null)).toBe(true);
      await bystanderStillServed();
    });

    it('answers bad messages after init with errors and never closes the socket', async () => {
      const socket = app.sockets.find((s) =>
        s.messages.some((m) => m.type === 'tpa_connection_ack' && m.sessionId.startsWith(USER)),
      )!;
      const from = socket.messages.length;
      socket.send('{oops');
      socket.send({ type: 'no_such_type' });
      socket.send({ type: 'display_event', layout: { layoutType: 'hologram' } });
      socket.send({ type: 'subscription_update', subscriptions: 'all' });
      socket.send({
        type: 'tpa_connection_init',
        sessionId: `${OTHER}-com.example.gate`,
        packageName: 'com.example.gate',
        apiKey: app.apiKey,
      });
      socket.send(Buffer.from([1, 2, 3]));
      socket.send('y'.repeat(5000));
      const codes = await eventually(
        () => {
          const errors = socket.messages
            .slice(from)
            .filter((m) => m.type === 'tpa_connection_error')
            .map((m) => m.code);
          return errors.length >= 7 ? errors : null;
        },
        3000,
        'seven errors',
      );
      expect(codes).toEqual([
        'MALFORMED_MESSAGE',
        'UNKNOWN_MESSAGE_TYPE',
        'MALFORMED_MESSAGE',
        'MALFORMED_MESSAGE',
        'ALREADY_INITIALIZED',
        'MALFORMED_MESSAGE',
        'MESSAGE_TOO_LARGE',
      ]);
      expect(socket.closed).toBeNull();
      // The second init named another user's session: that user's app got nothing from it.
      const other = cloud.registry.get(OTHER)!;
      expect(other.subscriptions.subscriptionsOf('com.example.gate')).toEqual(['button_press']);
      // And this socket still works.
      const before = socket.messages.length;
      glasses.pressButton('short', 'after-bad-input');
      await socket.next((m) => m.type === 'data_stream' && m.data.buttonId === 'after-bad-input', 3000, before);
    });
  });
});
