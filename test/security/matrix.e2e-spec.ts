import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SimulatedGlasses } from '../../src/simulator/index.js';
import { RawClient } from '../support/raw-ws.js';
import { startRawApp, type RawApp } from '../support/raw-app.js';
import { spawnSdkWebviewApp, type SdkWebviewProcess } from '../support/sdk-webview-process.js';
import {
  ensureBuilt,
  http,
  ROOT,
  sleep,
  spawnService,
  until,
  type HttpResult,
  type Service,
} from '../faults/support.js';

/**
 * The security matrix against the real process (`node dist/main.js`): every case is a test; the
 * summary line counts the cases tried, those refused as expected, those accepted harmlessly (the input got an
 * answer, but nothing leaked or changed: a case says so with acceptedHarmlessly()) and the breaches (a case whose
 * expectation failed). Admin failures come from their own loopback source addresses (127.0.0.x), because the
 * admin guard rate-limits failures per IP.
 */
let tried = 0;
let refused = 0;
let harmless = 0;
let breaches = 0;
const failedCases: string[] = [];
let acceptedNow = false;
/** Marks the running case as one whose input is accepted, harmlessly, rather than refused. */
const acceptedHarmlessly = () => (acceptedNow = true);
let ipSeq = 10;
/** A fresh client IP on loopback for up to 9 failed admin calls (the limiter allows 10 a minute). */
const freshIp = () => `127.0.0.${ipSeq++}`;

const INGEST_SECRET = randomBytes(32).toString('hex');

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
function jwt(header: object, payload: object, secret: string | null): string {
  const head = `${b64(header)}.${b64(payload)}`;
  return secret === null ? `${head}.` : `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      out.push(`${relative(dir, p)}${e.isDirectory() ? '/' : ''}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

describe('security matrix (real process)', () => {
  let svc: Service;
  let around: string;
  let before: { around: string[]; root: string[] };
  let appA: RawApp;
  let keyB = '';
  const USER1 = 'victim@security.test';
  const USER2 = 'other@security.test';
  const A = 'com.security.a';
  const B = 'com.security.b';
  const glasses: SimulatedGlasses[] = [];

  beforeAll(async () => {
    await ensureBuilt();
    around = mkdtempSync(join(tmpdir(), 'mentra-security-'));
    const rootEntries = readdirSync(ROOT).sort();
    svc = await spawnService({
      dataDir: join(around, 'data'),
      env: {
        LOG_LEVEL: 'error',
        GLASSES_GRACE_MS: '60000',
        APP_WS_INIT_DEADLINE_MS: '1000',
        APP_WS_PENDING_PER_ADDRESS: '16',
        // Managed streaming with an ingest that is never reached: the callback cases below play the ingest.
        MANAGED_RTMP_INGEST_URL: 'rtmp://127.0.0.1:9/live',
        MANAGED_HLS_BASE_URL: 'http://127.0.0.1:9/hls',
        MANAGED_DASH_BASE_URL: 'http://127.0.0.1:9/dash',
        INGEST_CALLBACK_SECRET: INGEST_SECRET,
        MAX_APP_ROOMS_PER_USER: '5',
        SIMPLE_STORAGE_MAX_USERS_PER_PACKAGE: '3',
      },
    });
    before = { around: listTree(around).filter((p) => !p.startsWith('data/')), root: rootEntries };
    appA = await startRawApp(A, () => ({ subscriptions: ['button_press', 'transcription:en-US'] }));
    appA.apiKey = await svc.registerApp({ packageName: A, publicUrl: appA.url }, [USER1, USER2]);
    keyB = await svc.registerApp({ packageName: B, publicUrl: 'http://127.0.0.1:9' }, [USER1]);
    const g = new SimulatedGlasses({ cloudUrl: svc.url, token: svc.token(USER1) });
    glasses.push(g);
    await g.connect();
    g.startApp(A);
    await until(
      async () => (await svc.admin('GET', `/api/admin/sessions/${USER1}`)).body?.runningApps?.includes(A),
      10_000,
      'A running for the victim',
    );
    const g2 = new SimulatedGlasses({ cloudUrl: svc.url, token: svc.token(USER2) });
    glasses.push(g2);
    await g2.connect();
  }, 180_000);

  beforeEach(() => {
    acceptedNow = false;
  });

  afterEach((ctx) => {
    tried++;
    if (ctx.task.result?.state === 'fail') {
      breaches++;
      failedCases.push(ctx.task.name);
    } else if (acceptedNow) harmless++;
    else refused++;
  });

  afterAll(async () => {
    for (const g of glasses) await g.disconnect().catch(() => undefined);
    await appA?.close();
    await svc?.close();
    rmSync(around, { recursive: true, force: true });
    console.log(
      `[security] cases=${tried} refused=${refused} harmless=${harmless} breaches=${breaches}${failedCases.length ? ` failed: ${failedCases.join(' | ')}` : ''}`,
    );
  });

  // ------------------------------------------------------------------------------------------ glasses
  describe('glasses upgrade', () => {
    const now = () => Math.floor(Date.now() / 1000);
    const refused = async (headers: Record<string, string>, query = '') =>
      RawClient.refused(`${svc.wsUrl}/glasses-ws${query}`, headers);
    const expect401 = async (token: string | null, where: 'header' | 'query' = 'header') => {
      const r =
        where === 'header'
          ? await refused(token === null ? {} : { authorization: `Bearer ${token}` })
          : await refused({}, `?token=${encodeURIComponent(token ?? '')}`);
      expect(r.status).toBe(401);
      expect(r.body.type).toBe('connection_error');
    };

    it('no token → 401', () => expect401(null));
    it('bad signature → 401', async () => {
      const good = svc.token(USER1);
      await expect401(`${good.slice(0, -4)}AAAA`);
    });
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      it(`alg "${alg}" → 401 (header and query)`, async () => {
        const t = jwt({ alg, typ: 'JWT' }, { email: USER1, sub: USER1, iat: now() }, null);
        await expect401(t);
        await expect401(t, 'query');
      });
    }
    it('expired token (exp in the past) → 401', () =>
      expect401(
        jwt({ alg: 'HS256', typ: 'JWT' }, { email: USER1, iat: now() - 7200, exp: now() - 3600 }, svc.jwtSecret),
      ));
    it('a token with exp in the future works (control)', async () => {
      acceptedHarmlessly();
      const g = new SimulatedGlasses({
        cloudUrl: svc.url,
        token: jwt(
          { alg: 'HS256', typ: 'JWT' },
          { email: 'exp-ok@security.test', iat: now(), exp: now() + 3600 },
          svc.jwtSecret,
        ),
      });
      await g.connect();
      await g.disconnect();
    });
    it('signed with an empty secret → 401', () =>
      expect401(jwt({ alg: 'HS256', typ: 'JWT' }, { email: USER1, iat: now() }, '')));
    it('signed with the admin key → 401', () =>
      expect401(jwt({ alg: 'HS256', typ: 'JWT' }, { email: USER1, iat: now() }, svc.adminKey)));
    it('HS512/RS256 algorithm confusion → 401', async () => {
      const head = `${b64({ alg: 'HS512', typ: 'JWT' })}.${b64({ email: USER1 })}`;
      await expect401(`${head}.${createHmac('sha512', svc.jwtSecret).update(head).digest('base64url')}`);
      await expect401(jwt({ alg: 'RS256', typ: 'JWT' }, { email: USER1 }, svc.jwtSecret));
    });
    it('a valid token of one user in the header and a forged one of another in ?token= → 401', async () => {
      const forged = jwt({ alg: 'HS256', typ: 'JWT' }, { email: USER2 }, 'not-the-secret-0123456789');
      const r = await refused({ authorization: `Bearer ${svc.token(USER1)}` }, `?token=${forged}`);
      expect(r.status).toBe(401);
    });
    it('a forged token in the header and a valid one of another user in ?token= → 401', async () => {
      const forged = jwt({ alg: 'HS256', typ: 'JWT' }, { email: USER1 }, 'not-the-secret-0123456789');
      const r = await refused({ authorization: `Bearer ${forged}` }, `?token=${svc.token(USER2)}`);
      expect(r.status).toBe(401);
    });
    it('two valid tokens of different users (header and query) → 401', async () => {
      const r = await refused({ authorization: `Bearer ${svc.token(USER1)}` }, `?token=${svc.token(USER2)}`);
      expect(r.status).toBe(401);
    });
  });

  describe('glasses socket', () => {
    const open = async (user: string) => {
      const c = await RawClient.open(`${svc.wsUrl}/glasses-ws`, { authorization: `Bearer ${svc.token(user)}` });
      await c.next((m) => m.type === 'connection_ack');
      return c;
    };
    const counter = async (name: string) => {
      const text = (await svc.admin('GET', '/metrics')).text;
      return Number(
        text
          .split('\n')
          .find((l) => l.startsWith(`${name} `))
          ?.split(' ')[1] ?? 0,
      );
    };

    it('a frame over GLASSES_MAX_FRAME_BYTES (256 KB) → closed 1009, text or audio', async () => {
      for (const frame of [`{"type":"phone_notification","content":"${'x'.repeat(300_000)}"}`, Buffer.alloc(300_000)]) {
        const c = await open('frames@security.test');
        c.send(frame);
        expect((await c.waitClosed()).code).toBe(1009);
      }
    });
    it('audio beyond GLASSES_AUDIO_FRAMES_PER_SECOND is dropped and counted, the socket kept; a flood closes it (1008)', async () => {
      const c = await open('audio@security.test');
      const before = await counter('mentra_audio_frames_dropped_total');
      for (let i = 0; i < 1000; i++) c.send(Buffer.alloc(320));
      const from = c.messages.length;
      c.send({ type: 'ping' });
      await c.next((m) => m.type === 'pong', 3000, from);
      expect((await counter('mentra_audio_frames_dropped_total')) - before).toBeGreaterThan(0);
      expect(c.closed).toBeNull();
      for (let i = 0; i < 20_000; i++) c.send(Buffer.alloc(2));
      expect(await c.waitClosed(5000)).toEqual({ code: 1008, reason: 'Audio frames far above 250 per second' });
    });
  });

  // ------------------------------------------------------------------------------------------ apps
  describe('app socket', () => {
    const appWs = () => RawClient.open(`${svc.wsUrl}/app-ws`);
    const init = (c: RawClient, sessionId: string, packageName: string, apiKey: string) =>
      c.send({ type: 'tpa_connection_init', sessionId, packageName, apiKey });
    const refusedInit = async (sessionId: string, packageName: string, apiKey: string, code: string) => {
      const c = await appWs();
      init(c, sessionId, packageName, apiKey);
      const err = await c.next((m) => m.type === 'tpa_connection_error');
      expect(err.code).toBe(code);
      expect((await c.waitClosed()).code).toBe(1008);
      expect(c.messages.some((m) => m.type === 'tpa_connection_ack')).toBe(false);
    };

    it('wrong key → INVALID_API_KEY, closed', () => refusedInit(`${USER1}-${A}`, A, 'f'.repeat(64), 'INVALID_API_KEY'));
    it("another app's key → INVALID_API_KEY, closed", () => refusedInit(`${USER1}-${A}`, A, keyB, 'INVALID_API_KEY'));
    it('the sessionId of another user (app not started there) → refused', () =>
      refusedInit(`${USER2}-${A}`, A, appA.apiKey, 'APP_NOT_STARTED'));
    it('the sessionId of an app the user never started → refused', () =>
      refusedInit(`${USER1}-${B}`, B, keyB, 'APP_NOT_STARTED'));
    it('a sessionId naming one package with the key of another → refused', () =>
      refusedInit(`${USER1}-${A}`, B, keyB, 'SESSION_NOT_FOUND'));
    it('a message before init → NOT_INITIALIZED and closed (1008), nothing acted on', async () => {
      const c = await appWs();
      c.send({
        type: 'subscription_update',
        packageName: A,
        sessionId: `${USER1}-${A}`,
        subscriptions: ['button_press'],
      });
      c.send({
        type: 'display_event',
        packageName: A,
        sessionId: `${USER1}-${A}`,
        layout: { layoutType: 'text_wall', text: 'PWNED' },
      });
      await c.next((m) => m.code === 'NOT_INITIALIZED');
      expect((await c.waitClosed()).code).toBe(1008);
      glasses[0]!.pressButton('short', 'pre-init-probe');
      await sleep(300);
      expect(c.messages.filter((m) => m.type === 'data_stream')).toEqual([]);
      expect(glasses[0]!.received.some((m) => JSON.stringify(m).includes('PWNED'))).toBe(false);
      c.close();
    });
    it('a frame over APP_WS_INIT_MAX_BYTES before init → closed 1009 from its header, never parsed', async () => {
      const c = await appWs();
      c.send({
        type: 'tpa_connection_init',
        sessionId: `${USER1}-${A}`,
        packageName: A,
        apiKey: 'f'.repeat(64),
        pad: 'p'.repeat(8192),
      });
      const closed = await c.waitClosed();
      expect(closed.code).toBe(1009);
      expect(c.messages.some((m) => m.type === 'tpa_connection_ack')).toBe(false);
    });
    it('no init within APP_WS_INIT_DEADLINE_MS → closed 1008', async () => {
      const c = await appWs();
      expect(await c.waitClosed(5000)).toEqual({ code: 1008, reason: 'No tpa_connection_init within 1000 ms' });
    });
    it('sockets awaiting their init are capped per address (429 at the upgrade), X-Forwarded-For ignored; other addresses unaffected', async () => {
      const url = `${svc.wsUrl}/app-ws`;
      const ip = freshIp();
      const held: RawClient[] = [];
      try {
        for (let i = 0; i < 16; i++)
          held.push(await RawClient.open(url, { 'x-forwarded-for': `203.0.113.${i}` }, { localAddress: ip }));
        const refused = await RawClient.refused(url, { 'x-forwarded-for': '203.0.113.99' }, { localAddress: ip });
        expect(refused.status).toBe(429);
        expect(refused.body.code).toBe('RATE_LIMITED');
        held.push(await RawClient.open(url, {}, { localAddress: freshIp() }));
      } finally {
        for (const c of held) c.close();
      }
    });
    it('language streams per session are capped (LIMIT_EXCEEDED), the socket stays open', async () => {
      const C = 'com.security.languages';
      const appC = await startRawApp(C);
      try {
        appC.apiKey = await svc.registerApp(
          { packageName: C, publicUrl: appC.url, permissions: [{ type: 'MICROPHONE' }] },
          [USER1],
        );
        glasses[0]!.startApp(C);
        await until(() => appC.sockets[0]?.messages.some((m) => m.type === 'tpa_connection_ack'), 5000, 'C acked');
        const socket = appC.sockets[0]!;
        const from = socket.messages.length;
        const langs = ['en-US', 'de-DE', 'fr-FR', 'es-ES', 'it-IT', 'ja-JP', 'ko-KR'].map((l) => `transcription:${l}`);
        socket.send({ type: 'subscription_update', packageName: C, subscriptions: langs });
        const err = await socket.next((m) => m.code === 'LIMIT_EXCEEDED', 3000, from);
        expect(err.message).toMatch(/transcription:ja-JP/);
        const subs = (await svc.admin('GET', `/api/admin/sessions/${USER1}`)).body.subscriptions[C] as string[];
        expect(subs).toHaveLength(4);
        expect(socket.closed).toBeNull();
      } finally {
        glasses[0]!.stopApp(C);
        await until(
          async () => !(await svc.admin('GET', `/api/admin/sessions/${USER1}`)).body.runningApps.includes(C),
          5000,
          'C stopped',
        );
        await appC.close();
        expect((await svc.admin('DELETE', `/api/admin/apps/${C}`)).status).toBe(204);
      }
    });
    it('a second init on an acked socket naming another session → ALREADY_INITIALIZED, still bound to its own user', async () => {
      const socket = appA.sockets.at(-1)!;
      const from = socket.messages.length;
      init(socket, `${USER2}-${A}`, A, appA.apiKey);
      await socket.next((m) => m.code === 'ALREADY_INITIALIZED', 3000, from);
      glasses[1]!.pressButton('short', 'other-user-press');
      glasses[0]!.pressButton('short', 'own-user-press');
      await socket.next((m) => m.type === 'data_stream' && m.data?.buttonId === 'own-user-press', 3000, from);
      await sleep(200);
      expect(socket.messages.slice(from).some((m) => JSON.stringify(m).includes('other-user-press'))).toBe(false);
      expect(socket.closed).toBeNull();
    });
    it("no attempt above reached the other user's data (its session has no app, no subscription)", async () => {
      const s = (await svc.admin('GET', `/api/admin/sessions/${USER2}`)).body;
      expect(s.runningApps).toEqual([]);
      expect(s.subscriptions).toEqual({});
    });
  });

  // ------------------------------------------------------------------------------------------ admin
  describe('admin API', () => {
    const call = (
      method: string,
      path: string,
      opts: { key?: string | null; body?: string; headers?: Record<string, string>; ip?: string } = {},
    ): Promise<HttpResult> =>
      http(svc.url + path, {
        method,
        localAddress: opts.ip,
        headers: {
          ...(opts.key === null ? {} : { authorization: `Bearer ${opts.key ?? svc.adminKey}` }),
          ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...opts.headers,
        },
        body: opts.body,
      });
    let routes: Array<{ method: string; path: string }> = [];
    beforeAll(async () => {
      const doc = (await http(`${svc.url}/api/docs-json`)).body as { paths: Record<string, Record<string, unknown>> };
      routes = Object.entries(doc.paths)
        .filter(([p]) => p.startsWith('/api/admin'))
        .flatMap(([p, ops]) => Object.keys(ops).map((m) => ({ method: m.toUpperCase(), path: p })));
    });
    const fill = (path: string, values: Record<string, string>) =>
      path.replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? 'x');

    it('no key → 401 on every admin route', async () => {
      expect(routes.length).toBeGreaterThan(10);
      let ip = freshIp();
      for (const [i, r] of routes.entries()) {
        if (i % 9 === 8) ip = freshIp();
        const res = await call(r.method, fill(r.path, { userId: USER1, packageName: A }), { key: null, ip });
        expect(res.status, `${r.method} ${r.path}`).toBe(401);
      }
    });
    it('wrong key (same length, one character off) → 401', async () => {
      const wrong = svc.adminKey.slice(0, -1) + (svc.adminKey.endsWith('a') ? 'b' : 'a');
      expect((await call('GET', '/api/admin/apps', { key: wrong, ip: freshIp() })).status).toBe(401);
    });
    it('the key comparison is timing-safe (sha256 digests through crypto.timingSafeEqual)', () => {
      const util = readFileSync(join(ROOT, 'src/common/crypto.util.ts'), 'utf8');
      const guard = readFileSync(join(ROOT, 'src/admin/admin.guard.ts'), 'utf8');
      expect(util).toMatch(/timingSafeEqual\(ha, hb\)/);
      expect(util).toMatch(/createHash\('sha256'\)/);
      expect(guard).toMatch(/safeEqual\(/);
      expect(guard).not.toMatch(/===\s*this\.config\.adminApiKey|adminApiKey\s*===/);
    });
    it('failures are limited per IP: 10 a minute, then 429 for wrong keys; the right key is never refused; other IPs unaffected', async () => {
      const ip = freshIp();
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++)
        statuses.push((await call('GET', '/api/admin/apps', { key: `wrong-key-${i}-0123456789`, ip })).status);
      expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
      expect(statuses.slice(10)).toEqual([429, 429]);
      expect((await call('GET', '/api/admin/apps', { ip })).status).toBe(200);
      const blocked = await call('GET', '/api/admin/apps', { key: 'wrong-key-again-0123456789', ip });
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
      expect((await call('GET', '/api/admin/apps', { key: 'wrong-key-other-0123456789', ip: freshIp() })).status).toBe(
        401,
      );
    });
    it('one failure budget per IP for every route the admin key opens (/api/admin, /metrics, settings, simulator links)', async () => {
      const ip = freshIp();
      const paths = [
        ['GET', '/api/admin/apps'],
        ['GET', '/metrics'],
        ['PUT', `/api/admin/users/${USER2}/apps/${A}/settings`],
        ['POST', '/api/simulator/links'],
      ] as const;
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) {
        const [method, path] = paths[i % paths.length]!;
        const body = method === 'GET' ? undefined : '{}';
        statuses.push((await call(method, path, { key: `wrong-key-${i}-0123456789`, ip, body })).status);
      }
      expect(statuses).toEqual([...Array(10).fill(401), 429, 429]);
    });
    it('X-Forwarded-For is ignored without TRUST_PROXY: naming another address does not escape the limit', async () => {
      const ip = freshIp();
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++) {
        const headers = { 'x-forwarded-for': `198.51.100.${i}` };
        statuses.push((await call('GET', '/api/admin/apps', { key: `wrong-key-${i}-0123456789`, ip, headers })).status);
      }
      expect(statuses).toEqual([...Array(10).fill(401), 429]);
    });

    const OPERATORS = [
      '$gt',
      '$where',
      '$ne',
      '{"$gt":""}',
      '__proto__',
      'constructor',
      'prototype',
      '__proto__.polluted',
    ];
    it('NoSQL operators and __proto__/constructor in every path parameter → 4xx', async () => {
      const bad: string[] = [];
      for (const r of routes.filter((x) => x.path.includes('{'))) {
        for (const op of OPERATORS) {
          for (const name of ['userId', 'packageName']) {
            if (!r.path.includes(`{${name}}`)) continue;
            const res = await call(
              r.method,
              fill(r.path, { userId: USER1, packageName: A, [name]: encodeURIComponent(op) }),
            );
            if (res.status < 400 || res.status >= 500) bad.push(`${r.method} ${r.path} ${name}=${op} → ${res.status}`);
          }
        }
      }
      expect(bad).toEqual([]);
    });
    it('NoSQL operators and __proto__/constructor in every body → 4xx', async () => {
      const bodies = [
        '{"packageName":{"$gt":""},"name":"x","publicUrl":"http://127.0.0.1:9"}',
        '{"$where":"sleep(100)","packageName":"com.security.op","name":"x","publicUrl":"http://127.0.0.1:9"}',
        '{"__proto__":{"isAdmin":true},"packageName":"com.security.proto","name":"x","publicUrl":"http://127.0.0.1:9"}',
        '{"constructor":{"prototype":{"isAdmin":true}},"packageName":"com.security.ctor","name":"x","publicUrl":"http://127.0.0.1:9"}',
        '{"modelName":{"$ne":null}}',
        '{"settings":[{"type":"toggle","key":"a","defaultValue":{"$gt":""}}]}',
        '{"settings":[{"type":"toggle","key":"a","$where":"1"}]}',
        '{"name":{"__proto__":{"x":1}}}',
      ];
      const bad: string[] = [];
      for (const r of routes.filter((x) => ['POST', 'PUT', 'PATCH'].includes(x.method))) {
        for (const body of bodies) {
          const res = await call(r.method, fill(r.path, { userId: USER2, packageName: 'com.security.none' }), { body });
          if (res.status < 400 || res.status >= 500)
            bad.push(`${r.method} ${r.path} ${body} → ${res.status} ${res.text.slice(0, 120)}`);
        }
      }
      // An operator as a stored settings key (a value here) is refused where settings are stored.
      for (const method of ['PATCH'])
        expect(
          (await call(method, `/api/admin/apps/${A}`, { body: '{"settings":[{"type":"toggle","key":"$where"}]}' }))
            .status,
        ).toBe(400);
      expect(bad).toEqual([]);
      expect(
        (await svc.admin('GET', '/api/admin/apps')).body.map((a: { packageName: string }) => a.packageName).sort(),
      ).toEqual([A, B]);
    });
    it('NoSQL operators and __proto__/constructor in every query → never 5xx, nothing polluted', async () => {
      acceptedHarmlessly();
      const queries = [
        '?__proto__[polluted]=1',
        '?constructor[prototype][polluted]=1',
        '?$where=1',
        '?userId[$ne]=x',
        '?gc[$gt]=0',
        '?__proto__=1&__proto__=2',
      ];
      const bad: string[] = [];
      for (const r of routes.filter((x) => x.method === 'GET')) {
        for (const q of queries) {
          const res = await call(r.method, fill(r.path, { userId: USER1, packageName: A }) + q);
          if (res.status >= 500) bad.push(`${r.method} ${r.path}${q} → ${res.status}`);
        }
      }
      expect(bad).toEqual([]);
      const s = await svc.admin('GET', `/api/admin/sessions/${USER1}`);
      expect(JSON.stringify(s.body)).not.toContain('polluted');
    });
    it('path traversal in ids → 4xx', async () => {
      const ids = [
        '..%2F..%2F..%2Fetc%2Fpasswd',
        '..%2F..',
        '%2E%2E%2F%2E%2E%2Fsecrets.json',
        '..%5C..%5Cwindows',
        'a%00b',
        '%2Fetc%2Fpasswd',
        '....%2F%2F....%2F%2Fetc',
      ];
      const bad: string[] = [];
      for (const id of ids) {
        for (const path of [
          `/api/admin/users/${id}`,
          `/api/admin/users/${id}/apps/${A}`,
          `/api/admin/apps/${id}`,
          `/api/admin/sessions/${id}`,
          `/api/admin/users/${USER1}/apps/${id}`,
        ]) {
          for (const method of ['GET', 'PUT', 'DELETE']) {
            const res = await call(method, path);
            if (res.status < 400 || res.status >= 500) bad.push(`${method} ${path} → ${res.status}`);
          }
        }
      }
      expect(bad).toEqual([]);
    });
    it('5 MB body → 413', async () => {
      const res = await call('POST', '/api/admin/apps', {
        body: JSON.stringify({
          packageName: 'com.security.big',
          name: 'x',
          publicUrl: 'http://127.0.0.1:9',
          description: 'x'.repeat(5 * 1_048_576),
        }),
      });
      expect(res.status).toBe(413);
    });
    it('100,000-deep JSON body → 4xx on the admin API and on SDK routes', async () => {
      const deep = `{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
      const deepObj = `{"data":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`;
      for (const [path, method, body, headers] of [
        ['/api/admin/apps', 'POST', deep, {}],
        [`/api/admin/apps/${A}`, 'PATCH', deepObj, {}],
        [`/api/sdk/simple-storage/${USER1}`, 'PUT', deepObj, { authorization: `Bearer ${A}:${appA.apiKey}` }],
      ] as const) {
        const res = await call(method, path, { body, headers: { ...headers } });
        expect(res.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
        expect(res.status, `${method} ${path}`).toBeLessThan(500);
      }
    });
    it('64 KB headers → 4xx (431), the process unharmed', async () => {
      // Raw TCP: node answers 431 and closes while the client may still be writing, which an HTTP client
      // reports as ECONNRESET before it reads the answer.
      const raw = (headers: string) =>
        new Promise<string>((resolve) => {
          const sock = connect(svc.port, '127.0.0.1');
          let got = '';
          sock.on('data', (c: Buffer) => (got += c.toString('latin1')));
          sock.on('error', () => resolve(got));
          sock.on('close', () => resolve(got));
          sock.write(
            `GET /api/admin/apps HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${svc.adminKey}\r\n${headers}\r\n`,
          );
        });
      const one = await raw(`X-Filler: ${'h'.repeat(64 * 1024)}\r\n`);
      const many = await raw(Array.from({ length: 64 }, (_, i) => `X-H${i}: ${'v'.repeat(1024)}\r\n`).join(''));
      expect(one.split('\r\n')[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
      expect(many.split('\r\n')[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
      expect((await call('GET', '/api/admin/apps')).status).toBe(200);
    });
  });

  // ------------------------------------------------------------------------------------------ SDK REST
  describe('SDK REST', () => {
    const storage = (cred: string, method: string, user: string, body?: unknown) =>
      http(`${svc.url}/api/sdk/simple-storage/${encodeURIComponent(user)}`, {
        method,
        headers: { authorization: `Bearer ${cred}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });

    it("one package's storage is unreachable from another; one user's from another user's scope", async () => {
      expect((await storage(`${A}:${appA.apiKey}`, 'PUT', USER1, { data: { secret: 'A-for-victim' } })).status).toBe(
        200,
      );
      const byB = await storage(`${B}:${keyB}`, 'GET', USER1);
      expect(byB.status).toBe(200);
      expect(byB.body.data).toEqual({});
      const otherUser = await storage(`${A}:${appA.apiKey}`, 'GET', USER2);
      expect(otherUser.body.data).toEqual({});
      expect((await storage(`${A}:${keyB}`, 'GET', USER1)).status).toBe(401);
      expect((await storage(`${B}:${appA.apiKey}`, 'GET', USER1)).status).toBe(401);
      expect((await storage(`${B}:${keyB}`, 'DELETE', USER1)).status).toBe(200);
      expect((await storage(`${A}:${appA.apiKey}`, 'GET', USER1)).body.data).toEqual({ secret: 'A-for-victim' });
    });
    it('storage ids with operators, traversal or __proto__ → 4xx', async () => {
      for (const user of ['$gt', '../../etc/passwd', '..\\..\\x', '{"$ne":null}']) {
        const res = await storage(`${A}:${appA.apiKey}`, 'GET', user);
        expect(res.status, user).toBeGreaterThanOrEqual(400);
        expect(res.status, user).toBeLessThan(500);
      }
      const proto = await http(`${svc.url}/api/sdk/simple-storage/${USER1}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${A}:${appA.apiKey}`, 'content-type': 'application/json' },
        body: '{"data":{"__proto__":{"x":"1"},"$where":"1"}}',
      });
      expect(proto.status).toBeLessThan(500);
      expect(JSON.stringify((await storage(`${A}:${appA.apiKey}`, 'GET', USER1)).body)).not.toContain('"x"');
    });
    it('100,000-deep JSON bodies → 400 BODY_TOO_DEEP on routes with no key filter of their own, no stack in the log', async () => {
      const deepObj = `{"packageName":"${A}","data":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`;
      const deepArr = `{"packageName":"${A}","userId":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
      for (const [path, auth] of [
        ['/api/auth/exchange-user-token', `Bearer ${appA.apiKey}`],
        ['/api/auth/generate-webview-token', `Bearer ${svc.token(USER1)}`],
        ['/api/app-communication/discover-users', `Bearer ${appA.apiKey}`],
      ] as const) {
        for (const body of [deepObj, deepArr]) {
          const res = await http(`${svc.url}${path}`, {
            method: 'POST',
            headers: { authorization: auth, 'content-type': 'application/json' },
            body,
          });
          expect(res.status, path).toBe(400);
          expect(res.body.code, path).toBe('BODY_TOO_DEEP');
        }
      }
      await sleep(100);
      expect(svc.output()).not.toMatch(/Maximum call stack|RangeError/);
    });
    it('unused webview temp tokens per user are capped (MAX_WEBVIEW_TEMP_TOKENS_PER_USER) → 429 LIMIT_EXCEEDED', async () => {
      const generate = () =>
        http(`${svc.url}/api/auth/generate-webview-token`, {
          method: 'POST',
          headers: { authorization: `Bearer ${svc.token(USER1)}`, 'content-type': 'application/json' },
          body: JSON.stringify({ packageName: A }),
        });
      const statuses: number[] = [];
      for (let i = 0; i < 21; i++) statuses.push((await generate()).status);
      expect(statuses).toEqual([...Array(20).fill(200), 429]);
      expect((await generate()).body.code).toBe('LIMIT_EXCEEDED');
    });
    it('the unauthenticated TTS route is rate limited per IP', async () => {
      const ip = freshIp();
      const statuses: number[] = [];
      for (let i = 0; i < 40 && !statuses.includes(429); i++)
        statuses.push((await http(`${svc.url}/api/tts?text=${i}`, { localAddress: ip })).status);
      expect(statuses).toContain(429);
      expect(statuses.every((s) => s < 500)).toBe(true);
    });
  });

  // ------------------------------------------------------------------------------------------ tokens
  describe('tokens and app-scoped reads', () => {
    const enc = encodeURIComponent;
    const claims = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
    const post = (path: string, token: string, body: unknown) =>
      http(svc.url + path, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const settings = (packageName: string, authorization: string, query = '') =>
      http(`${svc.url}/appsettings/user/${packageName}${query}`, { headers: { authorization } });
    const sdkApps: SdkWebviewProcess[] = [];
    afterAll(async () => {
      for (const a of sdkApps) await a.close();
    });

    it("a signed webview token made for A is refused by B's real SDK (each process trusts its own package's key)", async () => {
      const pem = async (pkg: string) => (await http(`${svc.url}/api/auth/webview-public-key?packageName=${pkg}`)).text;
      const sdkA = await spawnSdkWebviewApp(A, appA.apiKey, await pem(A));
      sdkApps.push(sdkA);
      const sdkB = await spawnSdkWebviewApp(B, keyB, await pem(B));
      sdkApps.push(sdkB);
      const res = await post('/api/auth/generate-webview-signed-user-token', svc.token(USER1), { packageName: A });
      expect(res.status).toBe(200);
      expect(await sdkB.whoIs(res.body.token)).toBeNull();
      expect(await sdkA.whoIs(res.body.token)).toBe(USER1);
    }, 60_000);
    it('the webview public key route: no packageName → 400 with a code, an unknown package → 404', async () => {
      const none = await http(`${svc.url}/api/auth/webview-public-key`);
      expect(none.status).toBe(400);
      expect(none.body.code).toBe('BAD_REQUEST');
      expect((await http(`${svc.url}/api/auth/webview-public-key?packageName=com.security.none`)).status).toBe(404);
    });
    it("the SDK's settings bearer (<email>-<package>) of an app not running for that user → 401", async () => {
      expect((await settings(A, `Bearer ${USER2}-${A}`)).status).toBe(401);
      expect((await settings(B, `Bearer ${USER1}-${B}`)).status).toBe(401);
    });
    it("one package's bearer or key never reads another package's settings → 401", async () => {
      const q = `?userId=${enc(USER1)}`;
      for (const [path, auth] of [
        [B, `Bearer ${USER1}-${A}`],
        [A, `Bearer ${B}:${keyB}`],
        [B, `Bearer ${A}:${appA.apiKey}`],
        [A, `Bearer ${A}:${keyB}`],
      ] as const) {
        const res = await settings(path, auth, q);
        expect(res.status, `${path} ${auth.slice(0, 40)}`).toBe(401);
      }
    });
    it('a minted core token expires: exp = iat + CORE_TOKEN_TTL_SECONDS (30 days by default), with a version', async () => {
      const { coreToken } = (await svc.admin('POST', `/api/admin/users/${enc('minted@security.test')}/token`)).body;
      const c = claims(coreToken);
      expect(c.exp - c.iat).toBe(30 * 86_400);
      expect(typeof c.tv).toBe('number');
    });
    it('a revoked token → 401 at the upgrade (so is a token without a version), and its open socket closes with 4001', async () => {
      const user = 'revoked@security.test';
      const { coreToken } = (await svc.admin('POST', `/api/admin/users/${enc(user)}/token`)).body;
      const g = new SimulatedGlasses({ cloudUrl: svc.url, token: coreToken });
      glasses.push(g);
      await g.connect();
      const closed = g.waitForClose({ timeoutMs: 5000 });
      expect((await svc.admin('POST', `/api/admin/users/${enc(user)}/token/revoke`)).status).toBe(200);
      expect(await closed).toEqual({ code: 4001, reason: 'token revoked' });
      for (const token of [coreToken, svc.token(user)]) {
        const r = await RawClient.refused(`${svc.wsUrl}/glasses-ws`, { authorization: `Bearer ${token}` });
        expect(r.status).toBe(401);
        expect(r.body.message).toBe('Core token revoked');
      }
    });
    it("a simulator link's /glasses-ws token at a phone route → 401; a core token for another audience → 401 at the upgrade", async () => {
      const link = (await svc.admin('POST', '/api/simulator/links', { userId: USER2 })).body;
      const { coreToken } = (await svc.admin('POST', '/api/simulator/link/token', undefined, link.token)).body;
      expect(claims(coreToken).aud).toBe('glasses-ws');
      expect((await post('/api/auth/generate-webview-token', coreToken, { packageName: A })).status).toBe(401);
      const foreign = jwt({ alg: 'HS256', typ: 'JWT' }, { email: USER1, aud: 'somewhere-else' }, svc.jwtSecret);
      expect((await RawClient.refused(`${svc.wsUrl}/glasses-ws`, { authorization: `Bearer ${foreign}` })).status).toBe(
        401,
      );
    });
  });

  // ------------------------------------------------------------------------------------------ app boundaries
  describe('app boundaries: rooms, replies, outgoing calls, storage scope, ingest callbacks', () => {
    const U3 = 'third@security.test';
    const U4 = 'fourth@security.test';
    const C = 'com.security.c';
    const D = 'com.security.d';
    let appC: RawApp;
    let appD: RawApp;
    let keyC = '';
    let raw3: RawClient;
    let trap: Server;
    let trapUrl = '';
    const trapped: string[] = [];
    /** The app socket of (app, user): each start opens a new one, the last is current. */
    const sockets = new Map<string, RawClient>();
    const sock = (pkg: string, user: string) => sockets.get(`${pkg} ${user}`)!;
    const start = async (app: RawApp, user: string) => {
      const before = app.sockets.length;
      expect((await svc.admin('POST', `/api/admin/sessions/${user}/apps/${app.packageName}/start`)).status).toBe(201);
      await until(async () => app.sockets.length > before, 5000, `${app.packageName} for ${user}`);
      const socket = app.sockets.at(-1)!;
      await socket.next((m) => m.type === 'tpa_connection_ack');
      sockets.set(`${app.packageName} ${user}`, socket);
    };
    const send = (pkg: string, user: string, m: Record<string, unknown>) =>
      sock(pkg, user).send({ packageName: pkg, sessionId: `${user}-${pkg}`, ...m });
    const storagePut = (cred: string, user: string, data: Record<string, string>) =>
      http(`${svc.url}/api/sdk/simple-storage/${encodeURIComponent(user)}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${cred}`, 'content-type': 'application/json' },
        body: JSON.stringify({ data }),
      });
    const callback = (path: string, name: string, query = '') =>
      http(`${svc.url}/api/streaming/nginx/${path}${query}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ app: 'live', name, addr: '127.0.0.1' }).toString(),
      });

    beforeAll(async () => {
      trap = createServer((req, res) => {
        trapped.push(`${req.method} ${req.url}`);
        req.resume();
        res.end('{}');
      });
      await new Promise<void>((r) => trap.listen(0, '127.0.0.1', () => r()));
      trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}/internal`;
      // C redirects everything but its session webhook (photo error reports included) to the trap.
      appC = await startRawApp(C, (body) =>
        body.type === 'session_request' ? {} : { status: 307, headers: { location: trapUrl } },
      );
      appD = await startRawApp(D);
      keyC = appC.apiKey = await svc.registerApp(
        { packageName: C, publicUrl: appC.url, permissions: [{ type: 'CAMERA' }] },
        [U3, U4, USER1, USER2],
      );
      appD.apiKey = await svc.registerApp({ packageName: D, publicUrl: appD.url, permissions: [{ type: 'CAMERA' }] }, [
        U3,
      ]);
      // U3's glasses are a raw socket (no model: every camera feature allowed), so the cases answer for them.
      raw3 = await RawClient.open(`${svc.wsUrl}/glasses-ws`, { authorization: `Bearer ${svc.token(U3)}` });
      await raw3.next((m) => m.type === 'connection_ack');
      const g4 = new SimulatedGlasses({ cloudUrl: svc.url, token: svc.token(U4) });
      glasses.push(g4);
      await g4.connect();
      await start(appC, U3);
      await start(appD, U3);
      await start(appC, U4);
    }, 60_000);
    afterAll(async () => {
      raw3?.close();
      await appC?.close();
      await appD?.close();
      trap?.closeAllConnections();
      await new Promise((r) => trap?.close(r));
    });

    it('a broadcast to a room nobody joined reaches no other user of the package; the sender gets PERMISSION_DENIED', async () => {
      const from4 = sock(C, U4).messages.length;
      const from3 = sock(C, U3).messages.length;
      send(C, U3, { type: 'app_broadcast_message', roomId: 'ghost-room', payload: { leak: 1 }, messageId: 'm-ghost' });
      expect((await sock(C, U3).next((m) => m.type === 'tpa_connection_error', 3000, from3)).code).toBe(
        'PERMISSION_DENIED',
      );
      await sleep(200);
      expect(
        sock(C, U4)
          .messages.slice(from4)
          .filter((m) => m.type === 'app_message_received'),
      ).toEqual([]);
    });
    it('a member whose app stopped is out of its rooms: a restarted app hears nothing of them; rooms per user capped', async () => {
      send(C, U3, { type: 'app_room_join', roomId: 'club' });
      send(C, U4, { type: 'app_room_join', roomId: 'club' });
      await sock(C, U3).next((m) => m.type === 'app_room_updated' && m.roomData?.memberCount === 2);
      expect((await svc.admin('POST', `/api/admin/sessions/${U4}/apps/${C}/stop`)).status).toBe(201);
      await sock(C, U3).next((m) => m.type === 'app_user_left' && m.userId === U4);
      await start(appC, U4);
      const from4 = sock(C, U4).messages.length;
      send(C, U3, { type: 'app_broadcast_message', roomId: 'club', payload: { after: 'stop' }, messageId: 'm-club' });
      await sleep(300);
      expect(
        sock(C, U4)
          .messages.slice(from4)
          .filter((m) => m.type === 'app_message_received'),
      ).toEqual([]);
      const from3 = sock(C, U3).messages.length;
      for (let i = 0; i < 5; i++) send(C, U3, { type: 'app_room_join', roomId: `cap-${i}` });
      const refused = await sock(C, U3).next((m) => m.type === 'tpa_connection_error', 3000, from3);
      expect(refused.code).toBe('RATE_LIMITED');
      for (let i = 0; i < 5; i++) send(C, U3, { type: 'app_room_leave', roomId: `cap-${i}` });
      send(C, U3, { type: 'app_room_leave', roomId: 'club' });
    });
    it('a photo reply goes to the app that asked: another app reusing its pending requestId is refused and hears nothing', async () => {
      const fromC = sock(C, U3).messages.length;
      const fromD = sock(D, U3).messages.length;
      send(C, U3, { type: 'photo_request', requestId: 'sec-photo-1' });
      await raw3.next((m) => m.type === 'photo_request' && m.requestId === 'sec-photo-1');
      send(D, U3, { type: 'photo_request', requestId: 'sec-photo-1' });
      expect((await sock(D, U3).next((m) => m.type === 'tpa_connection_error', 3000, fromD)).code).toBe('CONFLICT');
      raw3.send({ type: 'photo_response', requestId: 'sec-photo-1', success: true, photoUrl: 'http://x/p.jpg' });
      await sock(C, U3).next((m) => m.type === 'photo_response' && m.requestId === 'sec-photo-1', 3000, fromC);
      await sleep(200);
      expect(
        sock(D, U3)
          .messages.slice(fromD)
          .filter((m) => m.type === 'photo_response'),
      ).toEqual([]);
    });
    it("a photo error report does not follow the app's redirect (no request reaches the redirect's target)", async () => {
      const before = appC.webhooks.length;
      const t = trapped.length;
      send(C, U3, { type: 'photo_request', requestId: 'sec-photo-2' });
      await raw3.next((m) => m.type === 'photo_request' && m.requestId === 'sec-photo-2');
      raw3.send({ type: 'photo_response', requestId: 'sec-photo-2', success: false, error: { code: 'CAMERA_BUSY' } });
      await until(
        async () => appC.webhooks.slice(before).some((b) => b.type === 'photo_error'),
        3000,
        'the report reached the app',
      );
      await sleep(300);
      expect(trapped.slice(t)).toEqual([]);
    });
    it('simple storage: a valid key cannot write for a user who never installed the app; a package keeps at most SIMPLE_STORAGE_MAX_USERS_PER_PACKAGE users', async () => {
      const made = await storagePut(`${C}:${keyC}`, 'made-up@security.test', { x: 'y' });
      expect(made.status).toBe(403);
      expect(made.body.code).toBe('PERMISSION_DENIED');
      for (const user of [U3, U4, USER1]) expect((await storagePut(`${C}:${keyC}`, user, { k: 'v' })).status).toBe(200);
      const fourth = await storagePut(`${C}:${keyC}`, USER2, { k: 'v' });
      expect(fourth.status).toBe(413);
      expect(fourth.body.code).toBe('STORAGE_LIMIT_EXCEEDED');
    });
    it('ingest callbacks without the secret → 403 (on_publish, on_publish_done)', async () => {
      for (const query of ['', '?secret=', `?secret=${'0'.repeat(64)}`]) {
        expect((await callback('on_publish', 'f'.repeat(32), query)).status).toBe(403);
        expect((await callback('on_publish_done', 'f'.repeat(32), query)).status).toBe(403);
      }
    });
    it('a playback URL reveals nothing of the ingest key, and knowing the key without the secret does not end the stream', async () => {
      const from = sock(C, U3).messages.length;
      send(C, U3, { type: 'managed_stream_request' });
      const startMsg = await raw3.next((m) => m.type === 'start_rtmp_stream');
      const key = String(startMsg.rtmpUrl).split('/').pop()!;
      // The ingest accepts the publisher: the cloud renames the stream to its playback name.
      const accepted = await callback('on_publish', key, `?secret=${INGEST_SECRET}`);
      expect(accepted.status).toBe(302);
      const playbackName = String(accepted.headers.location);
      expect(playbackName).not.toContain(key);
      const active = await sock(C, U3).next(
        (m) => m.type === 'managed_stream_status' && m.status === 'active',
        3000,
        from,
      );
      expect(active.hlsUrl).toBe(`http://127.0.0.1:9/hls/${playbackName}.m3u8`);
      expect(JSON.stringify(active)).not.toContain(key);
      expect((await callback('on_publish_done', key)).status).toBe(403);
      expect((await callback('on_publish_done', playbackName, `?secret=${INGEST_SECRET}`)).status).toBe(200);
      await sleep(200);
      expect((await svc.admin('GET', `/api/admin/sessions/${U3}`)).body.media.stream).not.toBeNull();
      expect((await callback('on_publish_done', key, `?secret=${INGEST_SECRET}`)).status).toBe(200);
      await until(
        async () => (await svc.admin('GET', `/api/admin/sessions/${U3}`)).body.media.stream === null,
        3000,
        'ended',
      );
    });
  });

  // ------------------------------------------------------------------------------------------ filesystem
  it('nothing was written outside DATA_DIR (the temp dir around it and the repository root)', async () => {
    acceptedHarmlessly();
    await sleep(200);
    expect(listTree(around).filter((p) => !p.startsWith('data/'))).toEqual(before.around);
    expect(readdirSync(ROOT).sort()).toEqual(before.root);
    for (const p of listTree(join(around, 'data')))
      expect(statSync(join(around, 'data', p)).isFile() || p.endsWith('/')).toBe(true);
  });
});
