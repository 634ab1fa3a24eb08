import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedGlasses } from '../../src/simulator/index.js';
import { startCloud, type TestCloud } from '../support/cloud.js';
import { startRawApp, type RawApp } from '../support/raw-app.js';
import { eventually } from '../support/sdk-app.js';

const USER = 'caps@security.test';
const OTHER = 'caps-other@security.test';
const A = 'com.security.capsa';
const B = 'com.security.capsb';

/** Caps on what one user or session may hold at once: language streams, and unused webview temp tokens. */
describe('per-session and per-user caps', () => {
  let cloud: TestCloud;
  let appA: RawApp;
  let appB: RawApp;
  const glasses: SimulatedGlasses[] = [];

  beforeAll(async () => {
    cloud = await startCloud({ MAX_LANGUAGE_STREAMS_PER_SESSION: '2', MAX_WEBVIEW_TEMP_TOKENS_PER_USER: '3' });
    appA = await startRawApp(A);
    appB = await startRawApp(B);
    const mic = [{ type: 'MICROPHONE' }];
    appA.apiKey = await cloud.registerApp({ packageName: A, publicUrl: appA.url, permissions: mic }, [USER, OTHER]);
    appB.apiKey = await cloud.registerApp({ packageName: B, publicUrl: appB.url, permissions: mic }, [USER]);
    for (const user of [USER, OTHER]) {
      const g = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token(user) });
      glasses.push(g);
      await g.connect();
    }
    glasses[0]!.startApp(A);
    glasses[0]!.startApp(B);
    await eventually(() => appA.sockets.length === 1 && appB.sockets.length === 1, 5000, 'both apps running');
    await eventually(() => appA.sockets[0]!.messages.some((m) => m.type === 'tpa_connection_ack'), 3000, 'ack A');
    await eventually(() => appB.sockets[0]!.messages.some((m) => m.type === 'tpa_connection_ack'), 3000, 'ack B');
  });
  afterAll(async () => {
    for (const g of glasses) await g.disconnect().catch(() => undefined);
    await appA?.close();
    await appB?.close();
    await cloud?.close();
  });

  describe('transcription languages and translation pairs per session (MAX_LANGUAGE_STREAMS_PER_SESSION)', () => {
    const subscribe = (app: RawApp, subscriptions: string[]) => {
      const socket = app.sockets[0]!;
      const from = socket.messages.length;
      socket.send({ type: 'subscription_update', packageName: app.packageName, subscriptions });
      return { socket, from };
    };
    const subs = (pkg: string) => cloud.registry.get(USER)!.subscriptions.subscriptionsOf(pkg).sort();

    it('a language past the cap is not subscribed, and the app is told which (LIMIT_EXCEEDED)', async () => {
      const { socket, from } = subscribe(appA, [
        'transcription:en-US',
        'transcription:de-DE',
        'transcription:fr-FR',
        'button_press',
      ]);
      const err = await socket.next((m) => m.code === 'LIMIT_EXCEEDED', 3000, from);
      expect(err.type).toBe('tpa_connection_error');
      expect(err.message).toMatch(/at most 2 .*transcription:fr-FR/);
      expect(subs(A)).toEqual(['button_press', 'transcription:de-DE', 'transcription:en-US']);
      expect(socket.closed).toBeNull();
    });

    it("counts the session's languages across apps: a shared language fits, a new pair does not", async () => {
      const { socket, from } = subscribe(appB, ['transcription:en-US?hints=de', 'translation:es-ES-to-en-US']);
      const err = await socket.next((m) => m.code === 'LIMIT_EXCEEDED', 3000, from);
      expect(err.message).toMatch(/translation:es-ES-to-en-US/);
      expect(subs(B)).toEqual(['transcription:en-US?hints=de']);
    });

    it('a place freed by one app is taken when the other subscribes again; another session has its own count', async () => {
      subscribe(appA, ['transcription:en-US', 'button_press']);
      await eventually(() => subs(A).length === 2, 3000, 'A drops de-DE');
      const { socket, from } = subscribe(appB, ['transcription:en-US?hints=de', 'translation:es-ES-to-en-US']);
      await eventually(() => subs(B).length === 2, 3000, 'B gets its pair');
      await new Promise((r) => setTimeout(r, 100));
      expect(socket.messages.slice(from).some((m) => m.code === 'LIMIT_EXCEEDED')).toBe(false);
      // The other user's session starts from zero.
      glasses[1]!.startApp(A);
      await eventually(() => appA.sockets.length === 2, 5000, 'A for the other user');
      const other = appA.sockets[1]!;
      await other.next((m) => m.type === 'tpa_connection_ack');
      other.send({
        type: 'subscription_update',
        packageName: A,
        subscriptions: ['transcription:ja-JP', 'transcription:ko-KR'],
      });
      await eventually(
        () => cloud.registry.get(OTHER)!.subscriptions.subscriptionsOf(A).length === 2,
        3000,
        'two languages for the other user',
      );
    });
  });

  describe('webview temp tokens per user (MAX_WEBVIEW_TEMP_TOKENS_PER_USER)', () => {
    const generate = (user: string) =>
      fetch(`${cloud.url}/api/auth/generate-webview-token`, {
        method: 'POST',
        headers: { authorization: `Bearer ${cloud.token(user)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ packageName: A }),
      });

    it('a user holds at most that many unused tokens (429 LIMIT_EXCEEDED); an exchanged one frees a place', async () => {
      const tokens: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await generate(USER);
        expect(res.status).toBe(200);
        tokens.push(((await res.json()) as { token: string }).token);
      }
      const refused = await generate(USER);
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as { code: string }).code).toBe('LIMIT_EXCEEDED');
      // Another user is not affected.
      expect((await generate(OTHER)).status).toBe(200);
      // The app exchanges one (single use): the user may get a new one.
      const exchanged = await fetch(`${cloud.url}/api/auth/exchange-user-token`, {
        method: 'POST',
        headers: { authorization: `Bearer ${appA.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ aos_temp_token: tokens[0], packageName: A }),
      });
      expect(await exchanged.json()).toEqual({ success: true, userId: USER });
      expect((await generate(USER)).status).toBe(200);
      expect((await generate(USER)).status).toBe(429);
    });
  });
});
