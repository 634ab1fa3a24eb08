import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AppSession } from '@mentra/sdk';
import { SimulatedGlasses } from '../src/simulator/index.js';
import { startCloud, type TestCloud } from './support/cloud.js';
import { startRawApp } from './support/raw-app.js';
import { eventually, serveSdkApp } from './support/sdk-app.js';

/** App-to-app messaging with the unmodified SDK (upstream never routed these messages). */
describe('app-to-app messaging', () => {
  let cloud: TestCloud;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const users = ['ann@example.com', 'ben@example.com', 'cid@example.com'];
  const sessions = new Map<string, AppSession>();
  const received = new Map<string, any[]>();

  beforeAll(async () => {
    cloud = await startCloud({ APP_MESSAGES_PER_SECOND: '10' });
    const { app } = await serveSdkApp(cloud, { packageName: 'com.example.chat' }, users, (s) => {
      sessions.set(s.userId, s);
      s.onAppMessage((m: any) => (received.get(s.userId) ?? received.set(s.userId, []).get(s.userId)!).push(m));
    });
    cleanups.push(() => app.close());
    // A different package run by the same users must never see the chat's messages.
    const other = await startRawApp('com.example.other', () => ({}));
    cleanups.push(() => other.close());
    other.apiKey = await cloud.registerApp({ packageName: 'com.example.other', publicUrl: other.url }, users);
    for (const u of users) {
      const g = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token(u) });
      cleanups.push(() => g.disconnect().catch(() => undefined));
      await g.connect();
      if (u !== 'cid@example.com')
        expect((await cloud.admin('POST', `/api/admin/sessions/${u}/apps/com.example.chat/start`)).status).toBe(201);
      expect((await cloud.admin('POST', `/api/admin/sessions/${u}/apps/com.example.other/start`)).status).toBe(201);
    }
    await eventually(() => sessions.size === 2, 5000, 'two chat sessions');
    (globalThis as any).__otherApp = other;
  });
  afterEach(() => received.clear());
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    await cloud.close();
  });

  it("discoverAppUsers lists the other users running the package, for the app's own key only", async () => {
    const ann = sessions.get('ann@example.com')!;
    const list = await ann.discoverAppUsers(cloud.url);
    expect(list.users.map((u: any) => u.userId)).toEqual(['ben@example.com']);
    expect(list.totalUsers).toBe(1);
    expect(list.users[0]).toMatchObject({ sessionId: 'ben@example.com-com.example.chat' });
    const bad = await fetch(`${cloud.url}/api/app-communication/discover-users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${'0'.repeat(64)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ packageName: 'com.example.chat', userId: 'ann@example.com' }),
    });
    expect(bad.status).toBe(401);
  });

  it('a broadcast reaches every other user running the package once, not the sender, not other packages', async () => {
    await sessions.get('ann@example.com')!.broadcastToAppUsers({ text: 'hi all' });
    await eventually(() => received.get('ben@example.com')?.length === 1, 3000, 'ben got it');
    await new Promise((r) => setTimeout(r, 200));
    expect(received.get('ann@example.com')).toBeUndefined();
    expect(received.get('ben@example.com')![0]).toMatchObject({
      payload: { text: 'hi all' },
      senderUserId: 'ann@example.com',
      senderSessionId: 'ann@example.com-com.example.chat',
    });
    const other = (globalThis as any).__otherApp;
    expect(other.sockets.some((s: any) => s.messages.some((m: any) => m.type === 'app_message_received'))).toBe(false);
  });

  it('a direct message reaches only its target and resolves true; a target not running the app resolves false at once', async () => {
    const ann = sessions.get('ann@example.com')!;
    expect(await ann.sendDirectMessage('ben@example.com', { text: 'psst' })).toBe(true);
    await eventually(() => received.get('ben@example.com')?.length === 1, 3000, 'delivered');
    const t0 = Date.now();
    expect(await ann.sendDirectMessage('cid@example.com', { text: 'nope' })).toBe(false);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('takes the sender from the socket, never from the message', async () => {
    const other = (globalThis as any).__otherApp;
    void other;
    // Ben's chat socket claims to be Ann.
    const ben = sessions.get('ben@example.com')!;
    (ben as any).send({
      type: 'app_broadcast_message',
      packageName: 'com.example.chat',
      sessionId: 'ann@example.com-com.example.chat',
      payload: { forged: true },
      messageId: 'm1',
      senderUserId: 'ann@example.com',
    });
    await eventually(() => received.get('ann@example.com')?.length === 1, 3000, 'ann got it');
    expect(received.get('ann@example.com')![0]).toMatchObject({
      senderUserId: 'ben@example.com',
      senderSessionId: 'ben@example.com-com.example.chat',
    });
  });

  it('rate limits a flood with an error and keeps the socket', async () => {
    const ann = sessions.get('ann@example.com')!;
    const errors: string[] = [];
    const off = ann.events.onError((e: any) => errors.push(String(e?.message ?? e)));
    await new Promise((r) => setTimeout(r, 1100)); // a fresh one-second window
    for (let i = 0; i < 30; i++) await ann.broadcastToAppUsers({ i });
    await eventually(() => errors.some((e) => /Too many app messages/.test(e)), 3000, 'rate limit error');
    const got = received.get('ben@example.com')?.length ?? 0;
    expect(got).toBeGreaterThanOrEqual(5);
    expect(got).toBeLessThanOrEqual(10);
    off();
    await new Promise((r) => setTimeout(r, 1100));
    expect(await ann.sendDirectMessage('ben@example.com', { after: true })).toBe(true);
  });

  it('room join and leave never close the socket; members hear about each other', async () => {
    const ann = sessions.get('ann@example.com')!;
    const ben = sessions.get('ben@example.com')!;
    const joined: any[] = [];
    ann.onAppUserJoined((m: any) => joined.push(m));
    await new Promise((r) => setTimeout(r, 1100)); // out of the previous test's rate-limit window
    await ann.joinAppRoom('room-1');
    await ben.joinAppRoom('room-1');
    await eventually(() => joined.length === 1, 3000, 'join seen');
    expect(joined[0]).toMatchObject({ userId: 'ben@example.com', roomId: 'room-1' });
    await ben.leaveAppRoom('room-1');
    await ann.joinAppRoom('');
    await new Promise((r) => setTimeout(r, 200));
    expect(await ann.sendDirectMessage('ben@example.com', { still: 'open' })).toBe(true);
  });
});
