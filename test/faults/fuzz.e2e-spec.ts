import type { AppSession } from '@mentra/sdk';
import { createServer, type Server } from 'node:http';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedGlasses } from '../../src/simulator/index.js';
import { startSdkAppOn, type SdkAppRecord } from './apps.js';
import { ensureBuilt, LONG, mb, prng, quantile, report, sleep, spawnService, until, type Service } from './support.js';

/**
 * Fault case 4 — fuzz: seeded frames (FUZZ_SEED replays a run; the seed is printed) from 20 sockets on both
 * gateways — authenticated glasses sockets, app sockets before init and app sockets after init — of every kind
 * the issue lists. Meanwhile a real user's presses keep reaching its SDK app within 5 s, the process never exits,
 * heap and RSS return to within 10 % of the start, and no fuzz text (every string carries a marker) reaches the
 * real user's app or glasses.
 */
const FRAMES = LONG ? 1_000_000 : 30_000;
const OVERSIZED = LONG ? 10 : 2; // 17 MB frames (each closes its socket with 1009)
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const MARK = `FZ${SEED}`;
const REAL_USER = 'real@faults.test';
const REAL_PKG = 'com.faults.real';
const FUZZ_PKG = 'com.faults.target';
const GLASSES_SOCKETS = 7;
const APP_AFTER_INIT = 7;
const APP_BEFORE_INIT = 6;

const GLASSES_TYPES = [
  'button_press',
  'head_position',
  'glasses_battery_update',
  'phone_battery_update',
  'glasses_connection_state',
  'phone_notification',
  'location_update',
  'calendar_event',
  'VAD',
  'local_transcription',
  'start_app',
  'stop_app',
  'ping',
  'touch_event',
  'audio_play_response',
  'photo_response',
  'rtmp_stream_status',
  'keep_alive_ack',
  'connection_init',
  'request_settings',
  'core_status_update',
];
const APP_TYPES = [
  'subscription_update',
  'display_event',
  'dashboard_content_update',
  'dashboard_mode_change',
  'dashboard_system_update',
  'audio_play_request',
  'audio_stop_request',
  'rgb_led_control',
  'request_wifi_setup',
  'location_poll_request',
  'photo_request',
  'rtmp_stream_request',
  'rtmp_stream_stop',
  'managed_stream_request',
  'managed_stream_stop',
  'app_broadcast_message',
  'app_direct_message',
  'app_room_join',
  'app_room_leave',
  'stream_status_check',
  'ownership_release',
  'tpa_connection_init',
];
const FIELDS = [
  'packageName',
  'sessionId',
  'subscriptions',
  'layout',
  'view',
  'durationMs',
  'content',
  'modes',
  'mode',
  'text',
  'status',
  'gesture_name',
  'buttonId',
  'pressType',
  'position',
  'lat',
  'lng',
  'requestId',
  'streamId',
  'apiKey',
  'userId',
  'targetUserId',
  'roomId',
  'payload',
  'message',
  'transcribeLanguage',
  'isFinal',
  'modelName',
  'level',
  'correlationId',
];

type Kind = 'glasses' | 'app-before' | 'app-after';
interface Slot {
  kind: Kind;
  ws: WebSocket | null;
  received: number;
  closes: Record<string, number>;
}

describe('fault 4: seeded fuzz of both gateways while a real user keeps working', () => {
  let svc: Service;
  let real: SdkAppRecord;
  let realGlasses: SimulatedGlasses;
  let hookServer: Server;
  const realSeen: string[] = [];
  const presses = new Map<string, number>();
  const afterInitPool: WebSocket[] = [];
  let fuzzApiKey = '';

  beforeAll(async () => {
    await ensureBuilt();
    svc = await spawnService({
      env: { LOG_LEVEL: 'fatal', GLASSES_GRACE_MS: '60000', APP_GRACE_MS: '500', APP_MESSAGES_PER_SECOND: '1000000' },
    });
    real = await startSdkAppOn(
      svc,
      REAL_PKG,
      [REAL_USER],
      (session: AppSession) => {
        // Every raw frame the real app receives, to look for fuzz text.
        const ws = (session as unknown as { ws: WebSocket }).ws;
        ws.on('message', (data: Buffer, isBinary: boolean) => {
          if (!isBinary) realSeen.push(data.toString('utf8'));
        });
        session.events.onButtonPress((p) => presses.set(p.buttonId, Date.now()));
      },
      [],
    );
    // The fuzz users' app: a protocol-level server whose sockets are the "after init" fuzz sockets.
    hookServer = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        const body = JSON.parse(text || '{}') as { type?: string; sessionId?: string; mentraOSWebsocketUrl?: string };
        if (body.type !== 'session_request') return void res.writeHead(200).end('{}');
        const ws = new WebSocket(body.mentraOSWebsocketUrl!, { perMessageDeflate: false });
        ws.on('error', () => undefined);
        ws.once('open', () =>
          ws.send(
            JSON.stringify({
              type: 'tpa_connection_init',
              sessionId: body.sessionId,
              packageName: FUZZ_PKG,
              apiKey: fuzzApiKey,
            }),
          ),
        );
        ws.once('message', () => {
          afterInitPool.push(ws);
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success"}');
        });
        ws.once('close', () => res.headersSent || res.writeHead(500).end());
      });
    });
    await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', () => r()));
    const fuzzUsers = Array.from({ length: GLASSES_SOCKETS }, (_, i) => `fuzz${i}@faults.test`);
    fuzzApiKey = await svc.registerApp(
      {
        packageName: FUZZ_PKG,
        publicUrl: `http://127.0.0.1:${(hookServer.address() as { port: number }).port}`,
        permissions: [{ type: 'ALL' }],
      },
      fuzzUsers,
    );
  }, 180_000);

  afterAll(async () => {
    await realGlasses?.disconnect().catch(() => undefined);
    await real?.handle.close();
    for (const ws of afterInitPool) ws.terminate();
    hookServer?.closeAllConnections();
    await new Promise((r) => hookServer?.close(r));
    await svc?.close();
  });

  it(
    `${FRAMES} frames from 20 sockets: nothing crashes, leaks or crosses users`,
    async () => {
      const rand = prng(SEED);
      const int = (n: number) => Math.floor(rand() * n);
      const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
      const marked = (n = 12) =>
        `${MARK}-${Array.from({ length: n }, () => String.fromCharCode(32 + int(0x2fff))).join('')}`;
      const anyValue = (depth = 0): unknown => {
        switch (int(depth > 2 ? 6 : 9)) {
          case 0:
            return int(2) ? -1e308 * rand() : int(2 ** 31);
          case 1:
            return marked(int(40));
          case 2:
            return null;
          case 3:
            return int(2) === 1;
          case 4:
            return '';
          case 5:
            return [MARK, Number.NaN, { $gt: '' }];
          case 6:
            return Array.from({ length: int(5) }, () => anyValue(depth + 1));
          case 7:
            return Object.fromEntries(
              Array.from({ length: int(5) }, () => [
                pick([...FIELDS, '$where', '$ne', '__proto__', 'constructor', 'prototype']),
                anyValue(depth + 1),
              ]),
            );
          default:
            return { $where: `sleep(1000) || '${MARK}'`, $regex: '.*' };
        }
      };
      const typesFor = (k: Kind) => (k === 'glasses' ? GLASSES_TYPES : APP_TYPES);
      const deep = (n: number) =>
        `{"type":"${pick(GLASSES_TYPES)}","text":"${MARK}","a":${'['.repeat(n)}${']'.repeat(n)}}`;
      const counts: Record<string, number> = {};
      const frame = (k: Kind): { data: string | Buffer; binary: boolean; kind: string } => {
        const r = rand();
        const type = pick(typesFor(k));
        if (r < 0.12) return { kind: 'random-text', data: marked(int(200)), binary: false };
        if (r < 0.22)
          return {
            kind: 'random-binary',
            data: Buffer.from(Array.from({ length: 1 + int(4000) }, () => int(256))),
            binary: true,
          };
        if (r < 0.3) {
          const full = JSON.stringify({ type, text: marked(), packageName: marked(8) });
          return { kind: 'truncated-json', data: full.slice(0, int(full.length)), binary: false };
        }
        if (r < 0.38)
          return {
            kind: 'wrong-type',
            data: JSON.stringify(
              pick([
                { type: int(100) },
                { type: null },
                [type],
                type,
                42,
                {},
                { type: { $ne: null } },
                { type: MARK.repeat(20) },
              ]),
            ),
            binary: false,
          };
        if (r < 0.7) {
          const msg: Record<string, unknown> = { type };
          for (let i = int(6); i > 0; i--) msg[pick(FIELDS)] = anyValue();
          msg.text = marked();
          return { kind: 'wrong-field-types', data: JSON.stringify(msg), binary: false };
        }
        if (r < 0.84) {
          const text = `{"type":"${type}","__proto__":{"polluted":"${MARK}","isAdmin":true},"constructor":{"prototype":{"polluted":"${MARK}"}},"packageName":{"$gt":""},"sessionId":{"$ne":null},"userId":{"$where":"1"},"subscriptions":[{"$gt":""},"__proto__"],"text":"${MARK}"}`;
          return { kind: 'operators-proto', data: text, binary: false };
        }
        if (r < 0.9 && k === 'app-after')
          return { kind: 'app-binary', data: Buffer.from(MARK.repeat(1 + int(50))), binary: true };
        if (r < 0.9 && k === 'app-before') {
          // Inits that name the real user's session (wrong key, or a key of another app) must never bind.
          const sessionId = pick([
            `${REAL_USER}-${REAL_PKG}`,
            `${REAL_USER}-${FUZZ_PKG}`,
            marked(),
            `${MARK}@x-${FUZZ_PKG}`,
          ]);
          return {
            kind: 'foreign-init',
            data: JSON.stringify({
              type: 'tpa_connection_init',
              sessionId,
              packageName: pick([REAL_PKG, FUZZ_PKG]),
              apiKey: pick([fuzzApiKey, real.apiKey.slice(1), marked(64)]),
            }),
            binary: false,
          };
        }
        if (r < 0.995)
          return {
            kind: 'valid-shape',
            data: JSON.stringify({
              type,
              text: marked(),
              packageName: FUZZ_PKG,
              buttonId: marked(),
              pressType: 'short',
              subscriptions: ['button_press', marked()],
            }),
            binary: false,
          };
        const big = int(4);
        if (big === 0) return { kind: 'deep-50k', data: deep(50_000), binary: false };
        if (big === 1)
          return {
            kind: 'huge-string-900k',
            data: JSON.stringify({ type, text: MARK + 'x'.repeat(900_000) }),
            binary: false,
          };
        if (big === 2)
          return {
            kind: 'huge-string-1.5m',
            data: JSON.stringify({ type, text: MARK + 'y'.repeat(1_500_000) }),
            binary: false,
          };
        return {
          kind: 'long-subscriptions',
          data: JSON.stringify({
            type: 'subscription_update',
            packageName: FUZZ_PKG,
            subscriptions: Array.from({ length: 50_000 }, (_, i) => (i % 3 ? marked(4) : 'button_press')),
          }),
          binary: false,
        };
      };

      const slots: Slot[] = [
        ...Array.from({ length: GLASSES_SOCKETS }, () => ({
          kind: 'glasses' as const,
          ws: null,
          received: 0,
          closes: {},
        })),
        ...Array.from({ length: APP_AFTER_INIT }, () => ({
          kind: 'app-after' as const,
          ws: null,
          received: 0,
          closes: {},
        })),
        ...Array.from({ length: APP_BEFORE_INIT }, () => ({
          kind: 'app-before' as const,
          ws: null,
          received: 0,
          closes: {},
        })),
      ];
      let reopened = 0;
      const glassesOf = (i: number) => `fuzz${i}@faults.test`;
      async function open(slot: Slot, index: number): Promise<void> {
        reopened++;
        let ws: WebSocket;
        if (slot.kind === 'glasses') {
          ws = new WebSocket(`${svc.wsUrl}/glasses-ws`, {
            headers: { authorization: `Bearer ${svc.token(glassesOf(index))}` },
            perMessageDeflate: false,
          });
          await new Promise((r) => ws.once('open', r).once('error', r));
          if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'start_app', packageName: FUZZ_PKG }));
        } else if (slot.kind === 'app-after') {
          // Take a socket the fuzz app's webhook opened (the cloud resurrects a closed one); if there is none (a
          // fuzz stop_app stopped it), have a fuzz user start the app again and come back later.
          const got = afterInitPool.find((w) => w.readyState === WebSocket.OPEN && !slots.some((s) => s.ws === w));
          for (let i = afterInitPool.length - 1; i >= 0; i--)
            if (afterInitPool[i]!.readyState === WebSocket.CLOSED) afterInitPool.splice(i, 1);
          if (!got) {
            const g = slots.find((s) => s.kind === 'glasses' && s.ws?.readyState === WebSocket.OPEN);
            g?.ws!.send(JSON.stringify({ type: 'start_app', packageName: FUZZ_PKG }));
            return;
          }
          ws = got;
        } else {
          ws = new WebSocket(`${svc.wsUrl}/app-ws`, { perMessageDeflate: false });
          await new Promise((r) => ws.once('open', r).once('error', r));
        }
        ws.on('error', () => undefined);
        ws.on('message', () => slot.received++);
        ws.once('close', (code) => {
          slot.closes[code] = (slot.closes[code] ?? 0) + 1;
          if (slot.ws === ws) slot.ws = null;
        });
        slot.ws = ws.readyState === WebSocket.OPEN ? ws : null;
      }

      // The real user: glasses + SDK app, pressing all along.
      realGlasses = new SimulatedGlasses({ cloudUrl: svc.url, token: svc.token(REAL_USER) });
      await realGlasses.connect();
      realGlasses.startApp(REAL_PKG);
      await until(
        () => {
          realGlasses.pressButton('short', 'warmup');
          return presses.has('warmup');
        },
        10_000,
        'the real app',
        300,
      );

      for (let i = 0; i < slots.length; i++) if (slots[i]!.kind === 'glasses') await open(slots[i]!, i);
      await until(() => afterInitPool.length >= GLASSES_SOCKETS, 10_000, 'the fuzz app on every fuzz user');
      for (let i = 0; i < slots.length; i++) if (slots[i]!.kind !== 'glasses') await open(slots[i]!, i);
      expect(slots.filter((s) => s.ws).length).toBe(20);

      const pressLatency: number[] = [];
      const pending = new Map<string, number>();
      let pressSeq = 0;
      let fuzzing = true;
      const presser = (async () => {
        while (fuzzing) {
          const id = `p${pressSeq++}`;
          pending.set(id, Date.now());
          if (realGlasses.isOpen) realGlasses.pressButton('short', id);
          await sleep(200);
          for (const [pid, at] of pending) {
            const got = presses.get(pid);
            if (got) {
              pressLatency.push(got - at);
              pending.delete(pid);
            } else if (Date.now() - at > 5000) throw new Error(`press ${pid} did not reach the real app within 5 s`);
          }
        }
      })();

      let sent = 0;
      const sendFrames = async (n: number) => {
        const target = sent + n;
        while (sent < target) {
          const index = int(slots.length);
          const slot = slots[index]!;
          if (!slot.ws || slot.ws.readyState !== WebSocket.OPEN) {
            await open(slot, index);
            if (!slot.ws) continue;
          }
          const f = frame(slot.kind);
          counts[f.kind] = (counts[f.kind] ?? 0) + 1;
          slot.ws!.send(f.data, { binary: f.binary });
          sent++;
          if (sent % 10_000 === 0 && process.env.FUZZ_PROGRESS)
            console.log(`fuzz: ${sent} frames, ${JSON.stringify(counts)}`);
          if (slot.ws!.bufferedAmount > 1_000_000 || sent % 200 === 0) {
            await until(
              () => slots.every((s) => !s.ws || s.ws.bufferedAmount < 256_000),
              10_000,
              'the server to drain',
              2,
            );
          }
        }
      };
      const sendOversized = async (n: number) => {
        for (let i = 0; i < n; i++) {
          const index = int(slots.length);
          const slot = slots[index]!;
          if (!slot.ws) await open(slot, index);
          if (!slot.ws) continue;
          slot.ws.send(`{"type":"button_press","text":"${MARK}${'z'.repeat(17 * 1_048_576)}"}`);
          counts['oversized-17mb'] = (counts['oversized-17mb'] ?? 0) + 1;
          sent++;
          await sleep(200);
        }
      };

      // Warm-up, then the start figures.
      const warm = Math.min(2000, FRAMES / 10);
      await sendFrames(warm);
      await sendOversized(1);
      await sleep(500);
      const start = await svc.runtime(true);
      const t0 = Date.now();
      await sendFrames(FRAMES - warm - OVERSIZED);
      await sendOversized(OVERSIZED - 1);
      const fuzzMs = Date.now() - t0;
      // Reopen what the fuzz closed, so the end figures are taken with the same 20 sockets.
      for (let round = 0; round < 20 && slots.some((x) => !x.ws); round++) {
        for (let i = 0; i < slots.length; i++) if (!slots[i]!.ws) await open(slots[i]!, i);
        await sleep(250);
      }
      await sleep(1000);
      fuzzing = false;
      await presser;
      expect(svc.alive, 'the process never exits').toBe(true);
      expect((await fetch(`${svc.url}/health`)).status).toBe(200);

      let end = await svc.runtime(true);
      for (let i = 0; i < 10 && (end.heapUsed > start.heapUsed * 1.1 || end.rss > start.rss * 1.1); i++) {
        await sleep(500);
        end = await svc.runtime(true);
      }
      const heapRatio = end.heapUsed / start.heapUsed;
      const rssRatio = end.rss / start.rss;

      const leaked = realSeen.filter((t) => t.includes(MARK));
      const leakedToGlasses = realGlasses.received.filter((m) => JSON.stringify(m).includes(MARK));
      const realSummary = (await svc.admin('GET', `/api/admin/sessions/${REAL_USER}`)).body;
      const prototypePolluted =
        JSON.stringify(realSummary).includes(MARK) ||
        JSON.stringify((await svc.admin('GET', '/api/admin/sessions')).body).includes('polluted');
      report('4 fuzz', {
        seed: SEED,
        frames: sent,
        sockets: slots.length,
        fuzzMs,
        framesPerSec: Math.round((sent / fuzzMs) * 1000),
        reopened: reopened - slots.length,
        repliesReceived: slots.reduce((n, s) => n + s.received, 0),
        closeCodes: JSON.stringify(
          slots.reduce<Record<string, number>>((acc, s) => {
            for (const [c, n] of Object.entries(s.closes)) acc[c] = (acc[c] ?? 0) + n;
            return acc;
          }, {}),
        ),
        presses: pressLatency.length,
        pressP99Ms: quantile(pressLatency, 0.99),
        pressMaxMs: Math.max(...pressLatency),
        heapStart: mb(start.heapUsed),
        heapEnd: mb(end.heapUsed),
        heapRatio: heapRatio.toFixed(3),
        rssStart: mb(start.rss),
        rssEnd: mb(end.rss),
        rssRatio: rssRatio.toFixed(3),
        markerAtRealUser: leaked.length + leakedToGlasses.length,
        kinds: JSON.stringify(counts),
      });
      expect(sent).toBeGreaterThanOrEqual(FRAMES * 0.95);
      expect(pressLatency.length).toBeGreaterThan(5);
      expect(Math.max(...pressLatency)).toBeLessThan(5000);
      expect(leaked, "fuzz text reached the real user's app").toEqual([]);
      expect(leakedToGlasses, "fuzz text reached the real user's glasses").toEqual([]);
      expect(prototypePolluted).toBe(false);
      expect(realSummary.runningApps).toEqual([REAL_PKG]);
      expect(heapRatio).toBeLessThanOrEqual(1.1);
      expect(rssRatio).toBeLessThanOrEqual(1.1);
      for (const s of slots) s.ws?.terminate();
    },
    LONG ? 1_800_000 : 150_000,
  );
});
