import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AppSession } from '@mentra/sdk';
import { AppMessagingService } from '../../src/app-messaging/app-messaging.service.js';
import { connectGlasses, startCloud, type TestCloud } from '../support/cloud.js';
import { startRawApp, type RawApp } from '../support/raw-app.js';
import type { RawClient } from '../support/raw-ws.js';
import { eventually, serveSdkApp } from '../support/sdk-app.js';

const PKG = 'com.rooms.chat';
const ANN = 'ann@rooms.test';
const BEN = 'ben@rooms.test';
const CID = 'cid@rooms.test';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * App-to-app rooms as a boundary: a room's broadcast reaches its members only, members leave when their app
 * stops or their session ends, empty rooms are dropped, and one user's rooms per package are capped.
 */
describe('app-to-app rooms', () => {
  let cloud: TestCloud;
  let app: RawApp;
  const cleanups: Array<() => unknown> = [];
  /** Each user's current app socket. */
  const sockets = new Map<string, RawClient>();

  const start = async (user: string) => {
    const before = app.sockets.length;
    expect((await cloud.admin('POST', `/api/admin/sessions/${user}/apps/${PKG}/start`)).status).toBe(201);
    await eventually(() => app.sockets.length > before, 5000, `${user}'s app socket`);
    const socket = app.sockets.at(-1)!;
    await socket.next((m) => m.type === 'tpa_connection_ack');
    sockets.set(user, socket);
    return socket;
  };
  const send = (user: string, message: Record<string, unknown>) =>
    sockets.get(user)!.send({ packageName: PKG, sessionId: `${user}-${PKG}`, ...message });
  const mark = (user: string) => sockets.get(user)!.messages.length;
  const received = (user: string, from: number, type: string) =>
    sockets
      .get(user)!
      .messages.slice(from)
      .filter((m) => m.type === type);
  const roomCount = () => cloud.app.get(AppMessagingService).roomCount();

  beforeAll(async () => {
    cloud = await startCloud({
      APP_MESSAGES_PER_SECOND: '1000',
      MAX_APP_ROOMS_PER_USER: '3',
      GLASSES_GRACE_MS: '60000',
    });
    app = await startRawApp(PKG);
    app.apiKey = await cloud.registerApp({ packageName: PKG, publicUrl: app.url }, [ANN, BEN, CID]);
    for (const user of [ANN, BEN, CID]) {
      await connectGlasses(cloud, user, cleanups);
      await start(user);
    }
  });
  afterEach(async () => {
    for (const user of [ANN, BEN, CID])
      for (const r of ['r1', 'r2', 'r3', 'r4']) send(user, { type: 'app_room_leave', roomId: r });
    await eventually(async () => (await roomCount()) === 0, 3000, 'every room dropped');
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    await app?.close();
    await cloud?.close();
  });

  it('a broadcast to a room nobody joined reaches no one, and the sender is told it is not a member', async () => {
    const from = { ben: mark(BEN), cid: mark(CID), ann: mark(ANN) };
    send(ANN, { type: 'app_broadcast_message', roomId: 'nobody-here', payload: { leak: true }, messageId: 'b1' });
    const err = await sockets.get(ANN)!.next((m) => m.type === 'tpa_connection_error', 3000, from.ann);
    expect(err.code).toBe('PERMISSION_DENIED');
    await sleep(200);
    expect(received(BEN, from.ben, 'app_message_received')).toEqual([]);
    expect(received(CID, from.cid, 'app_message_received')).toEqual([]);
  });

  it("a room's broadcast reaches its other members only; a non-member cannot send into it", async () => {
    send(ANN, { type: 'app_room_join', roomId: 'r1' });
    send(BEN, { type: 'app_room_join', roomId: 'r1' });
    await sockets.get(ANN)!.next((m) => m.type === 'app_user_joined' && m.userId === BEN);
    const from = { ann: mark(ANN), ben: mark(BEN), cid: mark(CID) };
    send(ANN, { type: 'app_broadcast_message', roomId: 'r1', payload: { hi: 'room' }, messageId: 'b2' });
    const got = await sockets.get(BEN)!.next((m) => m.type === 'app_message_received', 3000, from.ben);
    expect(got).toMatchObject({ roomId: 'r1', payload: { hi: 'room' }, senderUserId: ANN });
    send(CID, { type: 'app_broadcast_message', roomId: 'r1', payload: { intruder: true }, messageId: 'b3' });
    expect((await sockets.get(CID)!.next((m) => m.type === 'tpa_connection_error', 3000, from.cid)).code).toBe(
      'PERMISSION_DENIED',
    );
    await sleep(200);
    expect(received(ANN, from.ann, 'app_message_received')).toEqual([]);
    expect(received(BEN, from.ben, 'app_message_received')).toHaveLength(1);
    expect(received(CID, from.cid, 'app_message_received')).toEqual([]);
  });

  it('members get app_room_updated (SDK shape) when someone joins or leaves', async () => {
    const from = { ann: mark(ANN), ben: mark(BEN) };
    send(ANN, {
      type: 'app_room_join',
      roomId: 'r2',
      roomConfig: { maxUsers: 5, isPrivate: true, metadata: { t: 1 } },
    });
    const first = await sockets.get(ANN)!.next((m) => m.type === 'app_room_updated', 3000, from.ann);
    expect(first).toMatchObject({
      roomId: 'r2',
      updateType: 'user_joined',
      roomData: { memberCount: 1, maxUsers: 5, isPrivate: true, metadata: { t: 1 } },
    });
    expect(typeof first.timestamp).toBe('string');
    send(BEN, { type: 'app_room_join', roomId: 'r2' });
    for (const user of [ANN, BEN])
      await sockets
        .get(user)!
        .next(
          (m) => m.type === 'app_room_updated' && m.roomData?.memberCount === 2,
          3000,
          from[user === ANN ? 'ann' : 'ben'],
        );
    const beforeLeave = mark(ANN);
    send(BEN, { type: 'app_room_leave', roomId: 'r2' });
    expect(await sockets.get(ANN)!.next((m) => m.type === 'app_room_updated', 3000, beforeLeave)).toMatchObject({
      roomId: 'r2',
      updateType: 'user_left',
      roomData: { memberCount: 1, maxUsers: 5 },
    });
    expect(await sockets.get(ANN)!.next((m) => m.type === 'app_user_left', 3000, beforeLeave)).toMatchObject({
      userId: BEN,
      roomId: 'r2',
    });
  });

  it('a member whose app stops leaves its rooms (the others are told); started again, it is in none', async () => {
    send(ANN, { type: 'app_room_join', roomId: 'r3' });
    send(BEN, { type: 'app_room_join', roomId: 'r3' });
    send(BEN, { type: 'app_room_join', roomId: 'r4' });
    await sockets.get(ANN)!.next((m) => m.type === 'app_user_joined' && m.roomId === 'r3' && m.userId === BEN);
    await eventually(async () => (await roomCount()) === 2, 3000, 'r3 and r4 exist');
    const from = mark(ANN);
    expect((await cloud.admin('POST', `/api/admin/sessions/${BEN}/apps/${PKG}/stop`)).status).toBe(201);
    expect(await sockets.get(ANN)!.next((m) => m.type === 'app_user_left', 3000, from)).toMatchObject({
      userId: BEN,
      roomId: 'r3',
    });
    expect(await sockets.get(ANN)!.next((m) => m.type === 'app_room_updated', 3000, from)).toMatchObject({
      roomId: 'r3',
      updateType: 'user_left',
      roomData: { memberCount: 1 },
    });
    // r4 had only Ben: dropped.
    await eventually(async () => (await roomCount()) === 1, 3000, 'r4 dropped');
    await start(BEN);
    const benFrom = mark(BEN);
    send(ANN, { type: 'app_broadcast_message', roomId: 'r3', payload: { after: 'restart' }, messageId: 'b4' });
    await sleep(300);
    expect(received(BEN, benFrom, 'app_message_received')).toEqual([]);
  });

  it("a member whose session ends leaves its rooms; the room goes when its last member's session does", async () => {
    send(CID, { type: 'app_room_join', roomId: 'r1' });
    send(ANN, { type: 'app_room_join', roomId: 'r1' });
    send(CID, { type: 'app_room_join', roomId: 'r2' });
    await sockets.get(CID)!.next((m) => m.type === 'app_user_joined' && m.userId === ANN);
    await eventually(async () => (await roomCount()) === 2, 3000, 'two rooms');
    const from = mark(ANN);
    expect((await cloud.admin('DELETE', `/api/admin/sessions/${CID}`)).status).toBe(204);
    expect(await sockets.get(ANN)!.next((m) => m.type === 'app_user_left', 3000, from)).toMatchObject({
      userId: CID,
      roomId: 'r1',
    });
    await eventually(async () => (await roomCount()) === 1, 3000, "Cid's own room dropped");
    await connectGlasses(cloud, CID, cleanups);
    await start(CID);
  });

  it('one user is in at most MAX_APP_ROOMS_PER_USER rooms of a package; the next join is refused', async () => {
    const from = mark(ANN);
    for (const r of ['r1', 'r2', 'r3', 'r4']) send(ANN, { type: 'app_room_join', roomId: r });
    const err = await sockets.get(ANN)!.next((m) => m.type === 'tpa_connection_error', 3000, from);
    expect(err.code).toBe('RATE_LIMITED');
    expect(err.message).toMatch(/MAX_APP_ROOMS_PER_USER/);
    expect(await roomCount()).toBe(3);
    expect(await cloud.app.get(AppMessagingService).roomCount()).toBe(3);
    // Leaving one makes room for another.
    send(ANN, { type: 'app_room_leave', roomId: 'r1' });
    send(ANN, { type: 'app_room_join', roomId: 'r4' });
    await eventually(async () => (await roomCount()) === 3, 3000, 'r4 joined');
    expect(sockets.get(ANN)!.closed).toBeNull();
  });

  it('a full room (roomConfig.maxUsers) refuses the next member with CONFLICT', async () => {
    send(ANN, { type: 'app_room_join', roomId: 'r1', roomConfig: { maxUsers: 1 } });
    await sockets.get(ANN)!.next((m) => m.type === 'app_room_updated' && m.roomId === 'r1');
    const from = mark(BEN);
    send(BEN, { type: 'app_room_join', roomId: 'r1' });
    expect((await sockets.get(BEN)!.next((m) => m.type === 'tpa_connection_error', 3000, from)).code).toBe('CONFLICT');
  });
});

describe('app-to-app rooms with the real SDK', () => {
  it('session.onAppRoomUpdated fires for the members of a room when someone joins', async () => {
    const cloud = await startCloud();
    const cleanups: Array<() => unknown> = [];
    try {
      const sessions = new Map<string, AppSession>();
      const updates = new Map<string, any[]>();
      const { app } = await serveSdkApp(cloud, { packageName: 'com.rooms.sdk' }, [ANN, BEN], (s) => {
        sessions.set(s.userId, s);
        s.onAppRoomUpdated((m: any) => (updates.get(s.userId) ?? updates.set(s.userId, []).get(s.userId)!).push(m));
      });
      cleanups.push(() => app.close());
      for (const user of [ANN, BEN]) {
        await connectGlasses(cloud, user, cleanups);
        expect((await cloud.admin('POST', `/api/admin/sessions/${user}/apps/com.rooms.sdk/start`)).status).toBe(201);
      }
      await eventually(() => sessions.size === 2, 5000, 'two SDK sessions');
      await sessions.get(ANN)!.joinAppRoom('lobby', { maxUsers: 10 });
      await eventually(() => updates.get(ANN)?.length === 1, 3000, "Ann's own join");
      await sessions.get(BEN)!.joinAppRoom('lobby');
      const annSaw = await eventually(() => updates.get(ANN)?.[1], 3000, "Ben's join seen by Ann");
      expect(annSaw).toMatchObject({
        roomId: 'lobby',
        updateType: 'user_joined',
        roomData: { memberCount: 2, maxUsers: 10 },
      });
      await eventually(() => updates.get(BEN)?.length === 1, 3000, "Ben's own join");
    } finally {
      for (const c of cleanups.reverse()) await c();
      await cloud.close();
    }
  });
});
