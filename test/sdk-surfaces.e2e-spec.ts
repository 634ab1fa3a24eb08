import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AppSession } from '@mentra/sdk';
import { SimulatedGlasses } from '../src/simulator/index.js';
import { rewriteTtsUrl } from '../src/tts/tts-url.js';
import { wavInfo } from '../src/tts/wav.util.js';
import { connectGlasses, startCloud, type TestCloud } from './support/cloud.js';
import { eventually, serveSdkApp, type SdkAppHandle } from './support/sdk-app.js';

/**
 * The SDK's HTTP surfaces with real parts: the service on a loopback port, real @mentra/sdk apps
 * started through the admin API for simulated glasses, and the SDK's own methods wherever it has one.
 */

interface StartedApp {
  handle: SdkAppHandle;
  apiKey: string;
  packageName: string;
  /** The AppSession of each user, set by onSession. */
  sessions: Map<string, AppSession>;
}

const SETTINGS_SCHEMA = [
  { type: 'group', title: 'General' },
  { type: 'toggle', key: 'enabled', label: 'Enabled', defaultValue: true },
  {
    type: 'select',
    key: 'mode',
    label: 'Mode',
    defaultValue: 'fast',
    options: [
      { label: 'Fast', value: 'fast' },
      { label: 'Slow', value: 'slow' },
    ],
  },
];

describe('SDK surfaces: simple storage, settings, permissions and TTS with the unmodified SDK', () => {
  let cloud: TestCloud;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];

  beforeAll(async () => {
    cloud = await startCloud({ APP_GRACE_MS: '300', GLASSES_GRACE_MS: '500' });
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await cloud.close();
  });

  async function glassesFor(userId: string): Promise<SimulatedGlasses> {
    return (await connectGlasses(cloud, userId, cleanups)).glasses;
  }

  /** Registers the app (installed for `users`), serves it with the real SDK and points the cloud at it. */
  async function sdkApp(
    packageName: string,
    users: string[],
    extra: Record<string, unknown> = {},
    onSession?: (s: AppSession, userId: string) => void,
  ): Promise<StartedApp> {
    const sessions = new Map<string, AppSession>();
    const { app: handle, apiKey } = await serveSdkApp(
      cloud,
      { packageName, permissions: [{ type: 'MICROPHONE' }], ...extra },
      users,
      (session, _sessionId, userId) => {
        sessions.set(userId, session);
        onSession?.(session, userId);
      },
    );
    cleanups.push(() => handle.close());
    return { handle, apiKey, packageName, sessions };
  }

  async function start(app: StartedApp, userId: string): Promise<AppSession> {
    app.sessions.delete(userId);
    const res = await cloud.admin(
      'POST',
      `/api/admin/sessions/${encodeURIComponent(userId)}/apps/${app.packageName}/start`,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return eventually(() => app.sessions.get(userId), 5000, `${app.packageName} session for ${userId}`);
  }

  async function stop(app: StartedApp, userId: string): Promise<void> {
    const res = await cloud.admin(
      'POST',
      `/api/admin/sessions/${encodeURIComponent(userId)}/apps/${app.packageName}/stop`,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }

  /** A raw call to the storage routes, with any Authorization header (or none). */
  async function storage(
    method: string,
    path: string,
    auth: string | undefined,
    body?: unknown,
  ): Promise<{ status: number; body: any; contentType: string | null }> {
    const res = await fetch(`${cloud.url}/api/sdk/simple-storage/${path}`, {
      method,
      headers: {
        ...(auth !== undefined ? { authorization: auth } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return {
      status: res.status,
      body: text ? JSON.parse(text) : undefined,
      contentType: res.headers.get('content-type'),
    };
  }

  const cred = (app: StartedApp): string => `Bearer ${app.packageName}:${app.apiKey}`;

  /** The stored data as sorted entries (a `__proto__` key stays an own property of the parsed JSON). */
  async function stored(app: StartedApp, userId: string): Promise<Array<[string, string]>> {
    const res = await storage('GET', encodeURIComponent(userId), cred(app));
    expect(res.status).toBe(200);
    expect(res.body.success).toBe(true);
    return (Object.entries(res.body.data) as Array<[string, string]>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  describe('simple storage', () => {
    it('set/get/keys/delete/clear round-trip through the cloud, per (user, package), and survive a stop', async () => {
      const alice = 'alice-storage@example.com'; // a "-" in the email, as in the core test
      const bob = 'bob-storage@example.com';
      const notes = await sdkApp('com.example.storage', [alice, bob]);
      const other = await sdkApp('com.example.storage.other', [alice]);
      await glassesFor(alice);
      await glassesFor(bob);

      const s = await start(notes, alice);
      const values: Record<string, string> = {
        greeting: 'hello',
        __proto__: 'proto-value',
        $where: 'operator-looking',
        'a.b': 'dotted',
        'slash/and space': 'ü ✓ 🙂',
        constructor: 'not a function',
      };
      for (const key of Object.keys(values)) await s.simpleStorage.set(key, values[key]!);
      expect(Object.getPrototypeOf(values)).toBe(Object.prototype);
      await s.simpleStorage.flush();

      expect(await stored(notes, alice)).toEqual(
        Object.entries(values).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      );
      expect(({} as Record<string, unknown>).greeting).toBeUndefined(); // no prototype pollution in this process either

      // Another user of the app and another app of the user see nothing of it.
      expect(await stored(notes, bob)).toEqual([]);
      expect(await stored(other, alice)).toEqual([]);
      const sOther = await start(other, alice);
      expect(await sOther.simpleStorage.keys()).toEqual([]);
      await sOther.simpleStorage.set('greeting', 'from the other app');
      await sOther.simpleStorage.flush();
      expect(await stored(notes, alice)).toContainEqual(['greeting', 'hello']);

      // A write right before a stop is flushed by the SDK after its stop webhook was answered: no session needed.
      await s.simpleStorage.set('late', 'written while stopping');
      await stop(notes, alice);
      await eventually(
        async () => (await stored(notes, alice)).some(([k]) => k === 'late'),
        8000,
        'the flush after stop',
      );

      // A new session reads everything back with the SDK's own methods.
      const s2 = await start(notes, alice);
      expect(await s2.simpleStorage.get('greeting')).toBe('hello');
      expect(await s2.simpleStorage.get('$where')).toBe('operator-looking');
      expect(await s2.simpleStorage.get('slash/and space')).toBe('ü ✓ 🙂');
      expect((await s2.simpleStorage.keys()).sort()).toEqual([...Object.keys(values), 'late'].sort());

      expect(await s2.simpleStorage.delete('slash/and space')).toBe(true);
      expect(await s2.simpleStorage.delete('a.b')).toBe(true);
      expect((await stored(notes, alice)).map(([k]) => k)).not.toContain('slash/and space');
      expect((await stored(notes, alice)).map(([k]) => k)).not.toContain('a.b');
      expect((await stored(notes, alice)).map(([k]) => k)).toContain('$where');

      expect(await s2.simpleStorage.clear()).toBe(true);
      expect(await stored(notes, alice)).toEqual([]);
      expect(await stored(other, alice)).toEqual([['greeting', 'from the other app']]);
    });

    it('every other credential gets 401 with a JSON error, and changes nothing', async () => {
      const user = 'carol-storage@example.com';
      const app = await sdkApp('com.example.locked', [user]);
      const intruder = await sdkApp('com.example.intruder', [user]);
      const path = encodeURIComponent(user);
      expect((await storage('PUT', path, cred(app), { data: { secret: 'kept' } })).status).toBe(200);

      const bad: Array<string | undefined> = [
        undefined,
        '',
        `Bearer ${app.packageName}:${'0'.repeat(64)}`, // wrong key
        `Bearer ${app.packageName}:${intruder.apiKey}`, // another package's key
        `Bearer ${app.apiKey}`, // bare key, as the raw-key routes take it
        `Bearer ${app.packageName}:`,
        `Bearer :${app.apiKey}`,
        `Basic ${Buffer.from(`${app.packageName}:${app.apiKey}`).toString('base64')}`,
        `${app.packageName}:${app.apiKey}`, // no scheme
        `Bearer ${app.packageName}:${app.apiKey}:extra`,
        `Bearer com.example.unknown:${app.apiKey}`,
        `Bearer ${'x'.repeat(2000)}:${app.apiKey}`,
      ];
      for (const auth of bad) {
        for (const [method, p, body] of [
          ['GET', path, undefined],
          ['PUT', path, { data: { secret: 'overwritten', extra: 'x' } }],
          ['DELETE', `${path}/secret`, undefined],
          ['DELETE', path, undefined],
        ] as const) {
          const res = await storage(method, p, auth, body);
          expect(res.status, `${method} ${p} with ${String(auth).slice(0, 60)}`).toBe(401);
          expect(res.contentType).toMatch(/application\/json/);
          expect(res.body).toMatchObject({ statusCode: 401, code: 'INVALID_API_KEY', message: expect.any(String) });
        }
      }
      expect(await stored(app, user)).toEqual([['secret', 'kept']]);
      // The intruder's own valid credential only ever reaches its own (empty) scope.
      expect(await stored(intruder, user)).toEqual([]);
    });

    it('a store over 1 MB → 413 and nothing of that batch is stored (raw and through the SDK)', async () => {
      const user = 'dave-storage@example.com';
      const app = await sdkApp('com.example.bigdata', [user]);
      await glassesFor(user);
      const path = encodeURIComponent(user);
      const big = (c: string): string => c.repeat(100_000);

      // Several 100,000-character values in one batch fit the JSON body limit and the store.
      const five = Object.fromEntries(['a', 'b', 'c', 'd', 'e'].map((k) => [k, big(k)]));
      expect((await storage('PUT', path, cred(app), { data: five })).status).toBe(200);
      // Six more would make 1.1 MB: refused as a whole.
      const six = Object.fromEntries(['f', 'g', 'h', 'i', 'j', 'k'].map((k) => [k, big(k)]));
      const over = await storage('PUT', path, cred(app), { data: { ...six, small: 'tiny' } });
      expect(over.status).toBe(413);
      expect(over.body).toMatchObject({ statusCode: 413, code: 'STORAGE_LIMIT_EXCEEDED' });
      expect((await stored(app, user)).map(([k]) => k)).toEqual(['a', 'b', 'c', 'd', 'e']);
      // One value over 100,000 characters: also refused whole.
      const tooLong = await storage('PUT', path, cred(app), { data: { ok: 'fine', long: 'x'.repeat(100_001) } });
      expect(tooLong.status).toBe(413);
      expect(tooLong.body.code).toBe('STORAGE_VALUE_TOO_LARGE');
      // Not strings, or no data: 400.
      expect((await storage('PUT', path, cred(app), { data: { n: 5 } })).status).toBe(400);
      expect((await storage('PUT', path, cred(app), { nodata: true })).status).toBe(400);
      // A trailing slash (the SDK's delete('') / delete('.')) never clears the store.
      expect((await storage('DELETE', `${path}/`, cred(app))).status).toBe(400);
      expect((await stored(app, user)).map(([k]) => k)).toEqual(['a', 'b', 'c', 'd', 'e']);

      // Through the SDK: its flush reports the 413 as the 1 MB error.
      const s = await start(app, user);
      await s.simpleStorage.setMultiple({
        f: big('f'),
        g: big('g'),
        h: big('h'),
        i: big('i'),
        j: big('j'),
        k: big('k'),
      });
      await expect(s.simpleStorage.flush()).rejects.toThrow(/1MB/);
      expect((await stored(app, user)).map(([k]) => k)).toEqual(['a', 'b', 'c', 'd', 'e']);
    });
  });

  describe('settings', () => {
    it('settings.fetch() returns merged settings; admin and phone changes reach the running app at once', async () => {
      const user = 'erin-settings@example.com';
      const changes: Array<{ key: string; value: unknown }> = [];
      const updates: unknown[] = [];
      const app = await sdkApp('com.example.settings', [user], { settings: SETTINGS_SCHEMA }, (session) => {
        session.events.onSettingChange('mode', (value) => changes.push({ key: 'mode', value }));
        session.events.onSettingChange('enabled', (value) => changes.push({ key: 'enabled', value }));
        session.events.onSettingsUpdate((settings) => updates.push(settings));
      });
      await glassesFor(user);
      const s = await start(app, user);

      const fetched = await s.settings.fetch();
      expect(fetched.map((x) => [x.key, x.value])).toEqual([
        ['enabled', true],
        ['mode', 'fast'],
      ]);
      expect(fetched[1]).toMatchObject({ type: 'select', label: 'Mode', defaultValue: 'fast' });

      const put = await cloud.admin(
        'PUT',
        `/api/admin/users/${encodeURIComponent(user)}/apps/${app.packageName}/settings`,
        { settings: [{ key: 'mode', value: 'slow' }] },
      );
      expect(put.status, JSON.stringify(put.body)).toBe(200);
      expect(put.body).toMatchObject({ userId: user, packageName: app.packageName, delivered: true });
      await eventually(
        () => changes.some((c) => c.key === 'mode' && c.value === 'slow'),
        3000,
        'onSettingChange(mode)',
      );
      expect(s.settings.get('mode')).toBe('slow');
      expect(s.settings.get('enabled')).toBe(true);
      expect((await s.settings.fetch()).find((x) => x.key === 'mode')?.value).toBe('slow');

      // The phone's route (core token) merges, pushes settings_update, and POSTs the app server's /settings.
      const phone = await fetch(`${cloud.url}/appsettings/${app.packageName}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${cloud.token(user)}`, 'content-type': 'application/json' },
        body: JSON.stringify([{ key: 'enabled', value: false }]),
      });
      expect(phone.status).toBe(200);
      expect(
        ((await phone.json()) as { settings: Array<{ key: string; value: unknown }> }).settings.map((x) => [
          x.key,
          x.value,
        ]),
      ).toEqual([
        ['enabled', false],
        ['mode', 'slow'],
      ]);
      await eventually(
        () => changes.some((c) => c.key === 'enabled' && c.value === false),
        3000,
        'onSettingChange(enabled)',
      );
      expect(s.settings.get('enabled')).toBe(false);
      expect(s.settings.get('mode')).toBe('slow');
      // The socket's settings_update and the app server's /settings copy both arrived.
      await eventually(() => updates.length >= 3, 3000, 'settings_update events');

      // Bad input: a clear error, nothing changes.
      const unknownKey = await cloud.admin(
        'PUT',
        `/api/admin/users/${encodeURIComponent(user)}/apps/${app.packageName}/settings`,
        { settings: [{ key: 'nope', value: 1 }] },
      );
      expect(unknownKey.status).toBe(400);
      expect(
        (
          await cloud.admin(
            'PUT',
            `/api/admin/users/${encodeURIComponent(user)}/apps/${app.packageName}/settings`,
            { settings: [{ key: 'mode', value: 'x' }] },
            'wrong-admin-key',
          )
        ).status,
      ).toBe(401);
      const noToken = await fetch(`${cloud.url}/appsettings/${app.packageName}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '[{"key":"mode","value":"fast"}]',
      });
      expect(noToken.status).toBe(401);
      const badBody = await fetch(`${cloud.url}/appsettings/${app.packageName}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${cloud.token(user)}`, 'content-type': 'application/json' },
        body: '{"whatever":1}',
      });
      expect(badBody.status).toBe(400);
      const wrongBearer = await fetch(`${cloud.url}/appsettings/user/${app.packageName}`, {
        headers: { authorization: `Bearer ${user}` },
      });
      expect(wrongBearer.status).toBe(401);
      // The SDK's bearer for an app that is not running for the user (here: does not exist) is no credential.
      const unknownApp = await fetch(`${cloud.url}/appsettings/user/com.example.nothing`, {
        headers: { authorization: `Bearer ${user}-com.example.nothing` },
      });
      expect(unknownApp.status).toBe(401);
      expect((await s.settings.fetch()).map((x) => [x.key, x.value])).toEqual([
        ['enabled', false],
        ['mode', 'slow'],
      ]);
    });
  });

  describe('permissions', () => {
    it('answers what the SDK reads: JSON {permissions:[{type, description?}]}, 404 JSON for an unknown app', async () => {
      await sdkApp('com.example.perms', [], {
        permissions: [{ type: 'MICROPHONE', description: 'captions' }, { type: 'LOCATION' }],
      });
      const res = await fetch(`${cloud.url}/api/public/permissions/${encodeURIComponent('com.example.perms')}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      const body = (await res.json()) as { permissions: Array<{ type: string }> };
      expect(body).toEqual({
        success: true,
        packageName: 'com.example.perms',
        permissions: [{ type: 'MICROPHONE', description: 'captions' }, { type: 'LOCATION' }],
      });
      // The SDK's check: data.permissions.some((p) => p.type === "MICROPHONE").
      expect(body.permissions.some((p) => p.type === 'MICROPHONE')).toBe(true);

      const missing = await fetch(`${cloud.url}/api/public/permissions/com.example.absent`);
      expect(missing.status).toBe(404);
      expect(missing.headers.get('content-type')).toMatch(/application\/json/);
      expect(await missing.json()).toMatchObject({ statusCode: 404, code: 'APP_NOT_FOUND' });
    });
  });

  describe('text to speech', () => {
    it('speaks a real WAV for the URL the SDK builds (rewritten to PUBLIC_URL), caches it, and refuses bad input', async () => {
      // Exactly what session.audio.speak("hello world") puts in audio_play_request here.
      // (The SDK's own static helper; private in its typings, public at runtime.)
      const sdkBase = (AppSession as unknown as { convertToHttps(url: string): string }).convertToHttps(
        cloud.config.appWsUrl,
      );
      const params = new URLSearchParams();
      params.append('text', 'hello world');
      params.append('voice_id', '21m00Tcm4TlvDq8ikWAM'); // an upstream hosted voice: the default voice is used
      const sdkUrl = `${sdkBase}/api/tts?${params.toString()}`;
      expect(sdkUrl.startsWith('https://')).toBe(true);
      const url = rewriteTtsUrl(sdkUrl, cloud.config.publicUrl);
      expect(url).toBe(`${cloud.url}/api/tts?text=hello+world&voice_id=21m00Tcm4TlvDq8ikWAM`);

      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('audio/wav');
      const wav = Buffer.from(await res.arrayBuffer());
      expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
      expect(wav.toString('ascii', 8, 12)).toBe('WAVE');
      expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
      expect(wav.length).toBeGreaterThan(20_000); // ~1 s of 22 kHz 16-bit speech
      const info = wavInfo(wav);
      expect(info).toMatchObject({ channels: 1, bitsPerSample: 16 });
      expect(info!.dataBytes).toBe(wav.length - 44);
      expect(res.headers.get('x-tts-cache')).toBe('miss');

      const again = await fetch(url);
      expect(again.headers.get('x-tts-cache')).toBe('hit');
      expect(Buffer.from(await again.arrayBuffer()).equals(wav)).toBe(true);

      const noText = await fetch(`${cloud.url}/api/tts`);
      expect(noText.status).toBe(400);
      expect(await noText.json()).toMatchObject({ statusCode: 400, code: 'BAD_REQUEST' });
      expect((await fetch(`${cloud.url}/api/tts?text=+++`)).status).toBe(400);
      expect((await fetch(`${cloud.url}/api/tts?text=a&text=b`)).status).toBe(400);
      expect((await fetch(`${cloud.url}/api/tts?text=${'a'.repeat(1001)}`)).status).toBe(413);
    });

    it('limits requests per client IP with 429', async () => {
      let limited: Response | undefined;
      for (let i = 0; i < 40 && !limited; i++) {
        const res = await fetch(`${cloud.url}/api/tts?text=rate+limit`);
        if (res.status === 429) limited = res;
        else {
          expect(res.status).toBe(200);
          await res.arrayBuffer();
        }
      }
      expect(limited, 'no 429 within 40 requests').toBeDefined();
      expect(limited!.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await limited!.json()).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
    });
  });
});
