import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedGlasses } from '../src/simulator/index.js';
import { startCloud, type TestCloud } from './support/cloud.js';
import { startRawApp, type RawApp } from './support/raw-app.js';
import { eventually } from './support/sdk-app.js';

const GRACE_MS = 400;

/** Labels every object of one session (the session and each manager) in a FinalizationRegistry. */
function trackSession(cloud: TestCloud, userId: string, finalized: Set<string>): string[] {
  const registry = new FinalizationRegistry<string>((label) => finalized.add(label));
  (globalThis as { __keepFinalizer?: unknown[] }).__keepFinalizer ??= [];
  (globalThis as { __keepFinalizer?: unknown[] }).__keepFinalizer!.push(registry);
  const session = cloud.registry.get(userId)!;
  const labels: string[] = [];
  registry.register(session, 'UserSession');
  labels.push('UserSession');
  for (const [key, value] of Object.entries(session)) {
    if (value && typeof value === 'object') {
      registry.register(value, `${key}:${value.constructor.name}`);
      labels.push(`${key}:${value.constructor.name}`);
    }
  }
  return labels;
}

describe('session lifecycle: reconnect within grace, dispose after it, nothing leaks', () => {
  let cloud: TestCloud;
  let app: RawApp;

  beforeAll(async () => {
    cloud = await startCloud({ GLASSES_GRACE_MS: String(GRACE_MS), APP_GRACE_MS: '200' });
    app = await startRawApp('com.example.life', () => ({ subscriptions: ['button_press', 'audio_chunk'] }));
    app.apiKey = await cloud.registerApp(
      { packageName: 'com.example.life', publicUrl: app.url, permissions: [{ type: 'MICROPHONE' }] },
      ['life@example.com', 'gc@example.com', 'restart@example.com'],
    );
  });
  afterAll(async () => {
    await app.close();
    await cloud.close();
  });

  it('a reconnect within grace keeps the session, its apps and subscriptions, and re-sends the mic state and display', async () => {
    const glasses = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token('life@example.com') });
    await glasses.connect();
    glasses.startApp('com.example.life');
    await eventually(
      () => cloud.registry.get('life@example.com')?.subscriptions.subscriptionsOf('com.example.life').length === 2,
      5000,
      'subscriptions',
    );
    await glasses.waitForMic(true);
    const before = cloud.registry.get('life@example.com')!;
    const startTime = before.summary().startTime;
    const socket = app.sockets.at(-1)!;

    await glasses.drop();
    await eventually(() => before.ctx.disconnectedAt !== null, 2000, 'disconnect noticed');
    const mark = glasses.mark();
    await glasses.reconnect();
    const mic = await glasses.waitFor('microphone_state_change', undefined, { since: mark });
    expect(mic).toMatchObject({ isMicrophoneEnabled: true, requiredData: ['pcm'], bypassVad: true });

    // Past the original grace period the session is still the same one.
    await new Promise((r) => setTimeout(r, GRACE_MS + 200));
    const after = cloud.registry.get('life@example.com')!;
    expect(after).toBe(before);
    expect(after.summary()).toMatchObject({ startTime, disconnectedAt: null, runningApps: ['com.example.life'] });
    expect(after.subscriptions.subscriptionsOf('com.example.life').sort()).toEqual(['audio_chunk', 'button_press']);
    expect(socket.closed).toBeNull();
    // The app was not restarted: still one webhook.
    expect(app.webhooks.filter((w) => w.type === 'session_request' && w.userId === 'life@example.com')).toHaveLength(1);
    // Events and audio still flow to the app.
    const from = socket.messages.length;
    glasses.pressButton('short', 'after-reconnect');
    await socket.next((m) => m.type === 'data_stream' && m.data.buttonId === 'after-reconnect', 3000, from);
    const pcm = Buffer.alloc(3200, 7);
    const binaryBefore = socket.binary.length;
    glasses.sendAudio(pcm);
    await eventually(() => socket.binary.length > binaryBefore, 2000, 'audio chunk');
    expect(socket.binary.at(-1)!.equals(pcm)).toBe(true);
    await glasses.disconnect();
  });

  it('keeps PCM aligned across odd-sized frames', async () => {
    const glasses = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token('life@example.com') });
    await glasses.connect();
    const socket = app.sockets.at(-1)!;
    const start = socket.binary.length;
    const pcm = Buffer.from(Array.from({ length: 11 }, (_, i) => i + 1));
    glasses.sendAudio(pcm.subarray(0, 5));
    glasses.sendAudio(pcm.subarray(5, 8));
    glasses.sendAudio(pcm.subarray(8, 11));
    await eventually(() => socket.binary.length >= start + 3, 2000, 'three chunks');
    const got = socket.binary.slice(start);
    expect(got.map((b) => b.length)).toEqual([4, 4, 2]);
    expect(Buffer.concat(got)).toEqual(pcm.subarray(0, 10));
    await glasses.disconnect();
  });

  it('after the grace period the session is disposed: apps get app_stopped + 1000 "User session ended", and every object is collected', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc, 'tests run with --expose-gc').toBeTypeOf('function');
    const finalized = new Set<string>();
    const glasses = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token('gc@example.com') });
    await glasses.connect();
    glasses.startApp('com.example.life');
    await eventually(
      () => cloud.registry.get('gc@example.com')?.subscriptions.subscriptionsOf('com.example.life').length === 2,
      5000,
      'running',
    );
    glasses.sendAudio(Buffer.alloc(640));
    glasses.pressButton();
    const labels = trackSession(cloud, 'gc@example.com', finalized);
    expect(labels.length).toBeGreaterThanOrEqual(10);
    const socket = app.sockets.find((s) =>
      s.messages.some((m) => m.type === 'tpa_connection_ack' && m.sessionId.startsWith('gc@')),
    )!;

    await glasses.disconnect();
    await eventually(() => cloud.registry.get('gc@example.com') === undefined, GRACE_MS + 2000, 'session ended');
    const closed = await socket.waitClosed();
    expect(closed).toEqual({ code: 1000, reason: 'User session ended' });
    expect(socket.messages.at(-1)).toMatchObject({ type: 'app_stopped' });
    // The persisted running list survives, so the next fresh connection restarts the app.
    expect((await cloud.admin('GET', '/api/admin/users/gc@example.com')).body.runningApps).toEqual([
      'com.example.life',
    ]);

    await eventually(
      async () => {
        gc!();
        await new Promise((r) => setTimeout(r, 20));
        return labels.every((l) => finalized.has(l));
      },
      10_000,
      `collection of ${labels.join(', ')}`,
    ).catch((err) => {
      throw new Error(
        `${(err as Error).message}; not collected: ${labels.filter((l) => !finalized.has(l)).join(', ')}`,
      );
    });
  });

  it('an open socket does not keep its upgrade request alive (headers and all, for every open socket)', async () => {
    const gc = (globalThis as { gc?: () => void }).gc!;
    let collected = false;
    const registry = new FinalizationRegistry<string>(() => (collected = true));
    ((globalThis as { __keepFinalizer?: unknown[] }).__keepFinalizer ??= []).push(registry);
    const server = cloud.app.getHttpServer() as import('node:http').Server;
    const mark = (req: import('node:http').IncomingMessage) => registry.register(req, 'upgrade request');
    server.prependOnceListener('upgrade', mark);
    const glasses = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token('upgrade@example.com') });
    await glasses.connect();
    // Nest's connection stream holds the arguments of the gateway's latest connection (distinctUntilChanged):
    // one request per gateway, not one per socket. A second connection takes that place.
    const next = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token('upgrade2@example.com') });
    await next.connect();
    try {
      await eventually(
        async () => {
          gc();
          await new Promise((r) => setTimeout(r, 20));
          return collected;
        },
        5000,
        'the upgrade request collected while its socket is open',
      );
      expect(cloud.registry.get('upgrade@example.com')?.ctx.glassesOpen).toBe(true);
    } finally {
      await glasses.disconnect();
      await next.disconnect();
    }
  });

  it('a new session after dispose starts the previously running apps again', async () => {
    const webhooksBefore = app.webhooks.filter((w) => w.userId === 'restart@example.com').length;
    const glasses = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token('restart@example.com') });
    await glasses.connect();
    glasses.startApp('com.example.life');
    await eventually(() => cloud.registry.get('restart@example.com')?.apps.runningApps().length === 1, 5000, 'running');
    await glasses.disconnect();
    await eventually(() => cloud.registry.get('restart@example.com') === undefined, GRACE_MS + 2000, 'ended');
    await glasses.reconnect();
    await eventually(
      () => cloud.registry.get('restart@example.com')?.apps.runningApps().includes('com.example.life'),
      5000,
      'restarted',
    );
    expect(app.webhooks.filter((w) => w.userId === 'restart@example.com' && w.type === 'session_request').length).toBe(
      webhooksBefore + 2,
    );
    await glasses.disconnect();
  });
});
