import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type TestCloud } from '../support/cloud.js';
import { startRawApp, type RawApp } from '../support/raw-app.js';
import { RawClient } from '../support/raw-ws.js';
import { eventually } from '../support/sdk-app.js';

const USER = 'owner@replies.test';
const A = 'com.replies.a';
const B = 'com.replies.b';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The glasses answer photo and audio-play requests by requestId alone. A requestId pending for one app stays that
 * app's: another app of the same user that reuses it is refused, and the glasses' answer reaches only the owner.
 */
describe('photo and audio-play replies go to the app that asked, never to one that reused its requestId', () => {
  let cloud: TestCloud;
  let glasses: RawClient;
  const apps = new Map<string, RawApp>();
  const socket = (pkg: string) => apps.get(pkg)!.sockets.at(-1)!;
  const send = (pkg: string, message: Record<string, unknown>) =>
    socket(pkg).send({
      packageName: pkg,
      sessionId: `${USER}-${pkg}`,
      timestamp: new Date().toISOString(),
      ...message,
    });

  beforeAll(async () => {
    cloud = await startCloud();
    glasses = await RawClient.open(`${cloud.url.replace(/^http/, 'ws')}/glasses-ws`, {
      authorization: `Bearer ${cloud.token(USER)}`,
    });
    await glasses.next((m) => m.type === 'connection_ack');
    for (const pkg of [A, B]) {
      const app = await startRawApp(pkg);
      app.apiKey = await cloud.registerApp(
        { packageName: pkg, publicUrl: app.url, permissions: [{ type: 'CAMERA' }] },
        [USER],
      );
      apps.set(pkg, app);
      expect((await cloud.admin('POST', `/api/admin/sessions/${USER}/apps/${pkg}/start`)).status).toBe(201);
      await socket(pkg).next((m) => m.type === 'tpa_connection_ack');
    }
  });
  afterAll(async () => {
    glasses?.close();
    for (const app of apps.values()) await app.close();
    await cloud?.close();
  });

  it("photo: B's request with A's pending requestId is refused (CONFLICT); the glasses' answer reaches A only", async () => {
    const g = glasses.messages.length;
    const fromA = socket(A).messages.length;
    const fromB = socket(B).messages.length;
    send(A, { type: 'photo_request', requestId: 'photo-shared-1', size: 'small' });
    const toGlasses = await glasses.next((m) => m.type === 'photo_request', 3000, g);
    expect(toGlasses).toMatchObject({ requestId: 'photo-shared-1', appId: A });
    send(B, { type: 'photo_request', requestId: 'photo-shared-1', size: 'small' });
    const err = await socket(B).next((m) => m.type === 'tpa_connection_error', 3000, fromB);
    expect(err.code).toBe('CONFLICT');
    await sleep(100);
    // B's request never reached the glasses (it would have sent them B's upload URL under A's id).
    expect(glasses.messages.slice(g).filter((m) => m.type === 'photo_request')).toHaveLength(1);
    glasses.send({
      type: 'photo_response',
      requestId: 'photo-shared-1',
      success: true,
      photoUrl: 'http://glasses.local/a.jpg',
      timestamp: new Date().toISOString(),
    });
    const answer = await socket(A).next((m) => m.type === 'photo_response', 3000, fromA);
    expect(answer).toMatchObject({ requestId: 'photo-shared-1', success: true, sessionId: `${USER}-${A}` });
    await sleep(200);
    expect(
      socket(B)
        .messages.slice(fromB)
        .filter((m) => m.type === 'photo_response'),
    ).toEqual([]);
  });

  it('photo: the same app may reuse its own pending requestId (the newer request replaces it)', async () => {
    const g = glasses.messages.length;
    send(A, { type: 'photo_request', requestId: 'photo-own-1' });
    send(A, { type: 'photo_request', requestId: 'photo-own-1' });
    await eventually(
      () => glasses.messages.slice(g).filter((m) => m.type === 'photo_request').length === 2,
      3000,
      'both requests at the glasses',
    );
    expect(socket(A).messages.some((m) => m.type === 'tpa_connection_error' && m.code === 'CONFLICT')).toBe(false);
    glasses.send({ type: 'photo_response', requestId: 'photo-own-1', success: false, error: { code: 'CAMERA_BUSY' } });
  });

  it("audio: B's play request with A's pending requestId is refused; the glasses' answer reaches A only", async () => {
    const g = glasses.messages.length;
    const fromA = socket(A).messages.length;
    const fromB = socket(B).messages.length;
    send(A, { type: 'audio_play_request', requestId: 'audio-shared-1', audioUrl: 'http://127.0.0.1:9/a.mp3' });
    await glasses.next((m) => m.type === 'audio_play_request' && m.requestId === 'audio-shared-1', 3000, g);
    send(B, { type: 'audio_play_request', requestId: 'audio-shared-1', audioUrl: 'http://127.0.0.1:9/b.mp3' });
    const refused = await socket(B).next((m) => m.type === 'audio_play_response', 3000, fromB);
    expect(refused).toMatchObject({ requestId: 'audio-shared-1', success: false });
    expect(refused.error).toMatch(/^CONFLICT/);
    expect((await socket(B).next((m) => m.type === 'tpa_connection_error', 3000, fromB)).code).toBe('CONFLICT');
    await sleep(100);
    expect(glasses.messages.slice(g).filter((m) => m.type === 'audio_play_request')).toHaveLength(1);
    glasses.send({
      type: 'audio_play_response',
      requestId: 'audio-shared-1',
      success: true,
      duration: 1234,
      timestamp: new Date().toISOString(),
    });
    const answer = await socket(A).next((m) => m.type === 'audio_play_response', 3000, fromA);
    expect(answer).toMatchObject({ requestId: 'audio-shared-1', success: true, duration: 1234 });
    await sleep(200);
    expect(
      socket(B)
        .messages.slice(fromB)
        .filter((m) => m.type === 'audio_play_response' && m.success),
    ).toEqual([]);
  });
});
