// Load generator child process (forked by bench/run.mjs, one per server under test).
// Speaks the real protocol: glasses clients as the phone does (JWT at the upgrade, connection_ack, start_app /
// stop_app, button_press / head_position, binary PCM), raw app clients as the SDK does (webhook ->
// tpa_connection_init -> tpa_connection_ack -> subscription_update as @mentra/sdk sends them), and a real
// @mentra/sdk AppServer for the app-start scenario. Commands arrive over IPC; every loop is bounded.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { signCoreToken } from './jwt.mjs';
import { percentiles } from './stats.mjs';
import { freePort } from './proc.mjs';

const nowMs = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** All-zero masking key: a legal mask that lets `ws` skip the XOR copy, so the load side stays cheap. */
const zeroMask = (mask) => mask.fill(0);
const CLIENT_OPTS = {
  perMessageDeflate: false,
  generateMask: zeroMask,
  skipUTF8Validation: true,
  handshakeTimeout: 10_000,
  maxPayload: 64 * 1024 * 1024,
};
const MAX_BUFFERED = 1 << 20; // a glasses socket with more than 1 MiB unsent counts further sends as lost
const PCM_FRAME_BYTES = 3200; // 100 ms of 16 kHz mono PCM16

const st = {
  cfg: null, // { serverUrl, wsBase, adminKey, jwtSecret, kind }
  webhookServer: null,
  webhookUrl: null,
  /** packageName -> { apiKey, subscriptions: string[] } */
  apps: new Map(),
  /** idx -> { idx, userId, glasses, app } */
  users: new Map(),
  /** sessionId -> raw app client record */
  appClients: new Map(),
  /** sessionId -> { resolve, reject } waiting for the raw app client to be ready */
  appWaiters: new Map(),
  /** sessionId -> fn(timeMs) waiting for the SDK's onSession */
  sdkWaiters: new Map(),
  sdkServer: null,
  webhookStats: { sessionRequests: 0, stopRequests: 0, failures: 0 },
  // per-step measurement hooks
  onAppText: null,
  onAppBinary: null,
};

function mark(name, extra = {}) {
  process.send?.({ event: 'mark', name, t: Date.now(), ...extra });
}

async function adminCall(method, path, body) {
  const res = await fetch(`${st.cfg.serverUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${st.cfg.adminKey}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path} -> ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

/** Runs fn over items with at most `conc` in flight; returns {ok, failed, errors[]} (first errors kept). */
async function pool(items, conc, fn) {
  let i = 0;
  let ok = 0;
  let failed = 0;
  const errors = [];
  const worker = async () => {
    while (i < items.length) {
      const item = items[i++];
      try {
        await fn(item);
        ok++;
      } catch (e) {
        failed++;
        if (errors.length < 5) errors.push(String(e?.message ?? e));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(conc, items.length) }, worker));
  return { ok, failed, errors };
}

const userIdOf = (prefix, idx) => `${prefix}${idx}@bench.local`;

// ------------------------------------------------------------------ glasses client

function connectGlasses(userId, { url, token } = {}) {
  return new Promise((resolve, reject) => {
    const t = token ?? signCoreToken(userId, st.cfg.jwtSecret);
    const ws = new WebSocket(url ?? `${st.cfg.wsBase}/glasses-ws`, {
      ...CLIENT_OPTS,
      headers: { Authorization: `Bearer ${t}` },
    });
    let settled = false;
    const timer = setTimeout(() => fail(new Error(`glasses ${userId}: no connection_ack within 10 s`)), 10_000);
    function fail(e) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.terminate();
      reject(e);
    }
    ws.on('unexpected-response', (_req, res) =>
      fail(new Error(`glasses ${userId}: upgrade answered HTTP ${res.statusCode}`)),
    );
    ws.on('error', (e) => fail(e));
    ws.on('close', () => fail(new Error(`glasses ${userId}: closed before connection_ack`)));
    const onMsg = (data, isBinary) => {
      if (isBinary) return;
      let m;
      try {
        m = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (m?.type === 'connection_ack' && !settled) {
        settled = true;
        clearTimeout(timer);
        ws.removeAllListeners('close');
        ws.removeAllListeners('error');
        ws.on('error', () => {});
        ws.off('message', onMsg);
        ws.on('message', () => {}); // glasses ignore display_event / app_state_change etc.
        resolve(ws);
      }
    };
    ws.on('message', onMsg);
  });
}

function waitClose(ws, timeoutMs = 10_000) {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), timeoutMs);
    ws.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

// ------------------------------------------------------------------ raw app client (webhook + /app-ws)

function startWebhookServer() {
  return new Promise((resolve) => {
    const server = http.createServer((req, res) => {
      if (req.method !== 'POST' || req.url !== '/webhook') {
        res.writeHead(404).end();
        return;
      }
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        let body;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = null;
        }
        const reply = (status, obj) => {
          if (res.headersSent) return;
          const s = JSON.stringify(obj);
          res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(s) });
          res.end(s);
        };
        if (body?.type === 'session_request') handleSessionRequest(body, reply);
        else if (body?.type === 'stop_request') {
          st.webhookStats.stopRequests++;
          // Like AppServer.onStop: disconnect the session, then answer.
          const rec = st.appClients.get(body.sessionId);
          if (rec && rec.ws.readyState === WebSocket.OPEN) rec.ws.close(1000);
          reply(200, { status: 'success' });
        } else reply(400, { status: 'error', message: 'Unknown webhook request type' });
      });
    });
    // idle keep-alive webhook connections close after 1 s, so heap-after-close figures do not count a server's
    // pooled client sockets (the harness waits for that before measuring)
    server.keepAliveTimeout = st.cfg?.keepAliveMs ?? 1000;
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function handleSessionRequest(body, reply) {
  st.webhookStats.sessionRequests++;
  const { sessionId, userId } = body;
  const url = body.mentraOSWebsocketUrl ?? body.augmentOSWebsocketUrl;
  const pkg = typeof sessionId === 'string' && typeof userId === 'string' ? sessionId.slice(userId.length + 1) : null;
  const app = st.apps.get(pkg);
  if (!app || !url) {
    st.webhookStats.failures++;
    return reply(400, { status: 'error', message: 'unknown app' });
  }
  const old = st.appClients.get(sessionId);
  if (old && old.ws.readyState <= WebSocket.OPEN) old.ws.close(1000);
  const ws = new WebSocket(url, CLIENT_OPTS);
  const rec = { sessionId, userId, pkg, ws, acked: false, userIdx: st.userIdxById?.get(userId) ?? -1 };
  st.appClients.set(sessionId, rec);
  const timer = setTimeout(() => fail('no tpa_connection_ack within 5 s'), 5_000);
  function fail(why) {
    clearTimeout(timer);
    if (rec.acked) return;
    rec.acked = null;
    st.webhookStats.failures++;
    ws.terminate();
    reply(500, { status: 'error', message: 'Failed to connect' });
    const w = st.appWaiters.get(sessionId);
    if (w) {
      st.appWaiters.delete(sessionId);
      w.reject(new Error(`app ${sessionId}: ${why}`));
    }
  }
  ws.on('open', () => {
    ws.send(
      JSON.stringify({
        type: 'tpa_connection_init',
        sessionId,
        packageName: pkg,
        apiKey: app.apiKey,
        timestamp: new Date(),
      }),
    );
  });
  ws.on('error', (e) => fail(String(e?.message ?? e)));
  ws.on('unexpected-response', (_q, r) => fail(`upgrade answered HTTP ${r.statusCode}`));
  ws.on('close', (code, reason) => {
    if (rec.acked === false) fail(`closed ${code} ${reason} before ack`);
    if (st.appClients.get(sessionId) === rec) st.appClients.delete(sessionId);
  });
  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      if (st.onAppBinary) st.onAppBinary(data, rec);
      return;
    }
    if (rec.acked) {
      if (st.onAppText) st.onAppText(data, rec);
      return;
    }
    let m;
    try {
      m = JSON.parse(data.toString());
    } catch {
      return;
    }
    if (m?.type === 'tpa_connection_ack') {
      clearTimeout(timer);
      rec.acked = true;
      // Exactly what @mentra/sdk 2.1.29 sends: the (empty) list on ack, then one growing list per handler
      // registered in onSession; only then does AppServer answer the webhook.
      const subs = [];
      const send = () =>
        ws.send(
          JSON.stringify({
            type: 'subscription_update',
            packageName: pkg,
            subscriptions: [...subs],
            sessionId,
            timestamp: new Date(),
          }),
        );
      send();
      for (const s of app.subscriptions) {
        subs.push(s);
        send();
      }
      reply(200, { status: 'success' });
      const w = st.appWaiters.get(sessionId);
      if (w) {
        st.appWaiters.delete(sessionId);
        w.resolve(rec);
      }
    } else if (m?.type === 'tpa_connection_error') {
      fail(`tpa_connection_error ${m.code} ${m.message}`);
    }
  });
}

function waitApp(sessionId, timeoutMs = 12_000) {
  const rec = st.appClients.get(sessionId);
  if (rec?.acked) return Promise.resolve(rec);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      st.appWaiters.delete(sessionId);
      reject(
        new Error(
          `app ${sessionId}: not ready within ${timeoutMs} ms (webhooks seen: ${st.webhookStats.sessionRequests})`,
        ),
      );
    }, timeoutMs);
    st.appWaiters.set(sessionId, {
      resolve: (r) => {
        clearTimeout(t);
        resolve(r);
      },
      reject: (e) => {
        clearTimeout(t);
        reject(e);
      },
    });
  });
}

// ------------------------------------------------------------------ commands

const commands = {
  async init(cfg) {
    st.cfg = cfg;
    st.userIdxById = new Map();
    st.webhookServer = await startWebhookServer();
    st.webhookUrl = `http://127.0.0.1:${st.webhookServer.address().port}`;
    return { webhookUrl: st.webhookUrl, pid: process.pid };
  },

  async createApp({ packageName, subscriptions, appType = 'background', publicUrl }) {
    const r = await adminCall('POST', '/api/admin/apps', {
      packageName,
      name: packageName,
      publicUrl: publicUrl ?? st.webhookUrl,
      appType,
      permissions: [{ type: 'MICROPHONE' }],
    });
    if (!r?.apiKey) throw new Error(`POST /api/admin/apps returned no apiKey: ${JSON.stringify(r).slice(0, 200)}`);
    st.apps.set(packageName, { apiKey: r.apiKey, subscriptions: subscriptions ?? [] });
    return { apiKey: r.apiKey };
  },

  async install({ packageName, prefix, from, to, concurrency = 32 }) {
    const idx = [];
    for (let i = from; i < to; i++) idx.push(i);
    const t0 = Date.now();
    const r = await pool(idx, concurrency, (i) =>
      adminCall(
        'PUT',
        `/api/admin/users/${encodeURIComponent(userIdOf(prefix, i))}/apps/${encodeURIComponent(packageName)}`,
      ),
    );
    if (r.failed) throw new Error(`install: ${r.failed} of ${idx.length} failed: ${r.errors.join(' | ')}`);
    return { ms: Date.now() - t0 };
  },

  /** Users [from, to): install, connect glasses, start_app, wait until the raw app client is subscribed. */
  async setup({ packageName, prefix, from, to, concurrency = 64, maxMs = 300_000, install = true }) {
    const t0 = Date.now();
    if (install) await commands.install({ packageName, prefix, from, to, concurrency: 32 });
    const idx = [];
    for (let i = from; i < to; i++) idx.push(i);
    let added = 0;
    let capped = false;
    // per session: upgrade → connection_ack, and start_app → app acked and subscribed (with `concurrency` in flight)
    const connectLats = new Float64Array(idx.length);
    const startLats = new Float64Array(idx.length);
    const t1 = Date.now();
    const r = await pool(idx, concurrency, async (i) => {
      if (Date.now() - t0 > maxMs) {
        capped = true;
        return;
      }
      const userId = userIdOf(prefix, i);
      st.userIdxById.set(userId, i);
      const c0 = nowMs();
      const glasses = await connectGlasses(userId);
      const c1 = nowMs();
      const sessionId = `${userId}-${packageName}`;
      const ready = waitApp(sessionId);
      glasses.send(JSON.stringify({ type: 'start_app', packageName }));
      const app = await ready.catch((e) => {
        glasses.terminate();
        throw e;
      });
      connectLats[added] = c1 - c0;
      startLats[added] = nowMs() - c1;
      st.users.set(i, { idx: i, userId, glasses, app });
      added++;
    });
    if (r.failed) throw new Error(`setup: ${r.failed} of ${idx.length} sessions failed: ${r.errors.join(' | ')}`);
    const sessionsMs = Date.now() - t1;
    await sleep(300); // let the last subscription_update land
    return {
      ms: Date.now() - t0,
      sessionsMs,
      sessions: st.users.size,
      added,
      capped,
      connect: percentiles(connectLats, added),
      start: percentiles(startLats, added),
    };
  },

  /** Closes every glasses socket (apps are left to the server's grace/cleanup), waits for the closes. */
  async closeAll({ apps = false } = {}) {
    const t0 = Date.now();
    const waits = [];
    for (const u of st.users.values()) {
      if (u.glasses.readyState <= WebSocket.OPEN) u.glasses.close(1000);
      waits.push(waitClose(u.glasses));
      if (apps && u.app.ws.readyState <= WebSocket.OPEN) {
        u.app.ws.close(1000);
        waits.push(waitClose(u.app.ws));
      }
    }
    const closed = (await Promise.all(waits)).filter(Boolean).length;
    st.users.clear();
    return { ms: Date.now() - t0, closed, expected: waits.length };
  },

  /** Waits until the server has closed every raw app socket (after the grace period); returns how many are still open. */
  async waitAppsClosed({ timeoutMs = 10_000 }) {
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
      let open = 0;
      for (const rec of st.appClients.values()) if (rec.ws.readyState !== WebSocket.CLOSED) open++;
      if (open === 0) return { open: 0, ms: Date.now() - t0 };
      await sleep(100);
    }
    let open = 0;
    for (const rec of st.appClients.values()) if (rec.ws.readyState !== WebSocket.CLOSED) open++;
    return { open, ms: Date.now() - t0 };
  },

  /** Scenario 1: glasses events at `rate`/s over `users` sessions, measured glasses -> app. */
  async relay({ rate, users, warmupMs, durationMs, drainMs, buttonsOnly = false }) {
    const list = [...st.users.values()].slice(0, users);
    if (list.length === 0) throw new Error('relay: no sessions set up');
    const n = list.length;
    const sentPer = new Float64Array(n);
    const recvPer = new Float64Array(n);
    const cap = Math.min(Math.ceil(rate * (durationMs / 1000) * 1.2) + 1000, 6_000_000);
    const lats = new Float64Array(cap);
    let recv = 0;
    let stale = 0;
    let wrongType = 0;
    let measureFrom = Infinity;
    let measureTo = Infinity;
    const idxBySession = new Map(list.map((u, i) => [u.app.sessionId, i]));
    // Cheap path for the hot loop: read the numeric "timestamp" inside `data` (the glasses message) without a full
    // parse; every 32nd message is fully parsed and its envelope checked.
    let sampleTick = 0;
    let checked = 0;
    st.onAppText = (buf, rec) => {
      const t = nowMs();
      if (buf.indexOf('data_stream') === -1) return;
      let ts = NaN;
      // start inside `data` so an envelope timestamp (ISO string or number, before or after it) is never taken
      let from = buf.indexOf('"data":{');
      if (from === -1) {
        try {
          ts = JSON.parse(buf.toString()).data?.timestamp;
        } catch {
          /* stale */
        }
        from = buf.length;
      }
      for (;;) {
        const i = buf.indexOf('"timestamp":', from);
        if (i === -1) break;
        const c = buf[i + 12];
        if ((c >= 0x30 && c <= 0x39) || c === 0x2d) {
          let e = i + 12;
          while (e < buf.length && buf[e] !== 0x2c && buf[e] !== 0x7d) e++;
          ts = Number(buf.latin1Slice(i + 12, e));
          break;
        }
        from = i + 12;
      }
      if (!(ts >= measureFrom)) {
        stale++;
        return;
      }
      if ((++sampleTick & 31) === 0) {
        checked++;
        let m = null;
        try {
          m = JSON.parse(buf.toString());
        } catch {
          /* counted below */
        }
        if (
          !m ||
          m.type !== 'data_stream' ||
          m.streamType !== m.data?.type ||
          m.sessionId !== rec.sessionId ||
          m.data.timestamp !== ts
        )
          wrongType++;
      }
      const i = idxBySession.get(rec.sessionId);
      if (i !== undefined) recvPer[i]++;
      if (recv < cap) lats[recv] = t - ts;
      recv++;
    };
    let offered = 0;
    let blocked = 0;
    let k = 0;
    const t0 = nowMs();
    measureFrom = t0 + warmupMs;
    measureTo = measureFrom + durationMs;
    let startMarked = false;
    const sendOne = (t) => {
      const ui = k % n;
      const g = list[ui].glasses;
      const kind = buttonsOnly ? (k & 1) << 1 : k & 3; // 0 short press, 1 head up, 2 long press, 3 head down
      k++;
      const measured = t >= measureFrom;
      if (measured) offered++;
      if (g.readyState !== WebSocket.OPEN || g.bufferedAmount > MAX_BUFFERED) {
        if (measured) blocked++;
        return;
      }
      if (measured) sentPer[ui]++;
      if (kind === 0 || kind === 2)
        g.send(
          `{"type":"button_press","buttonId":"main","pressType":"${kind === 0 ? 'short' : 'long'}","timestamp":${t}}`,
        );
      else g.send(`{"type":"head_position","position":"${kind === 1 ? 'up' : 'down'}","timestamp":${t}}`);
    };
    let total = 0;
    let lastTick = t0;
    let maxGap = 0;
    await new Promise((resolve) => {
      const tick = () => {
        const now = nowMs();
        if (now - lastTick > maxGap && startMarked) maxGap = now - lastTick;
        lastTick = now;
        if (!startMarked && now >= measureFrom) {
          startMarked = true;
          // forgive a backlog left by a stall during warm-up: the window starts on schedule
          total = Math.max(total, Math.floor((rate * (now - t0)) / 1000) - 1);
          mark('measureStart');
        }
        const until = Math.min(now, measureTo);
        let due = Math.floor((rate * (until - t0)) / 1000) - total;
        if (due > 5000) due = 5000; // yield to the receive side; the debt is paid on the next tick
        for (let i = 0; i < due; i++) sendOne(nowMs());
        total += Math.max(due, 0);
        if (now >= measureTo && Math.floor((rate * (measureTo - t0)) / 1000) <= total) {
          mark('measureEnd');
          resolve();
        } else setTimeout(tick, 1);
      };
      tick();
    });
    const sentOk = offered - blocked;
    const d0 = Date.now();
    while (recv < sentOk && Date.now() - d0 < drainMs) await sleep(10);
    const drainedMs = Date.now() - d0;
    measureFrom = Infinity;
    st.onAppText = null;
    let misrouted = 0;
    for (let i = 0; i < n; i++) if (recvPer[i] > sentPer[i]) misrouted += recvPer[i] - sentPer[i];
    const durS = durationMs / 1000;
    return {
      targetRate: rate,
      offered,
      offeredPerS: offered / durS,
      achievedPct: (offered / (rate * durS)) * 100,
      blocked,
      delivered: recv,
      deliveredPerS: recv / durS,
      lost: Math.max(0, offered - recv),
      lossPct: offered ? (Math.max(0, offered - recv) / offered) * 100 : 0,
      misrouted,
      wrongEnvelope: wrongType,
      envelopesChecked: checked,
      stale,
      drainMs: drainedMs,
      maxSendGapMs: maxGap,
      latency: percentiles(lats, Math.min(recv, cap)),
    };
  },

  /**
   * Fairness: the set-up users relay button presses at `rate`/s (the `relay` command, measured) while one more
   * glasses socket (user `attackerId`) sends garbage: `garbagePerS` text frames a second, alternately malformed
   * JSON of `garbageBytes` (unterminated: parsed to its end) and a small unknown message type, and every `bigEveryMs` one oversized text frame (unterminated JSON, sizes
   * cycling through `bigSizes`, up to 16 MB). A socket the server closes is reopened at once and the attack goes on.
   */
  async fairness({ attackerId, garbagePerS, garbageBytes, bigEveryMs, bigSizes, ...relayArgs }) {
    const big = Buffer.alloc(Math.max(...bigSizes), 0x78);
    big.write('{"type":"button_press","buttonId":"', 0); // never closed: unparseable only at its very end
    const attack = { garbage: 0, big: 0, bigMB: 0, reconnects: 0, connectFailures: 0, closes: {} };
    let stop = false;
    let ws = null;
    const loop = async () => {
      let n = 0;
      let bi = 0;
      let lastBig = 0;
      let last = nowMs();
      while (!stop) {
        if (ws === null || ws.readyState !== WebSocket.OPEN) {
          try {
            const opened = await connectGlasses(attackerId);
            opened.on('close', (code) => (attack.closes[code] = (attack.closes[code] ?? 0) + 1));
            if (ws !== null) attack.reconnects++;
            ws = opened;
          } catch {
            attack.connectFailures++;
            await sleep(20);
            continue;
          }
        }
        const now = nowMs();
        const due = Math.min(Math.round((garbagePerS * (now - last)) / 1000), garbagePerS);
        last = now;
        for (let i = 0; i < due && ws.readyState === WebSocket.OPEN; i++, n++) {
          if (n & 1) ws.send(`{"type":"no_such_type_${n & 1023}","n":${n}}`);
          else ws.send(big.subarray(0, garbageBytes), { binary: false });
          attack.garbage++;
        }
        if (now - lastBig >= bigEveryMs && ws.readyState === WebSocket.OPEN && ws.bufferedAmount < big.length) {
          const size = bigSizes[bi++ % bigSizes.length];
          ws.send(big.subarray(0, size), { binary: false });
          attack.big++;
          attack.bigMB += size / 1048576;
          lastBig = now;
        }
        await sleep(5);
      }
    };
    const attacking = loop();
    let r;
    try {
      r = await commands.relay({ ...relayArgs, buttonsOnly: true });
    } finally {
      stop = true;
      await attacking;
      ws?.terminate();
    }
    return { ...r, attack };
  },

  /**
   * Failover storm: every set-up user's glasses reconnect at once (the server restarted and closed their sockets);
   * the server restores their running apps by webhook. From the first upgrade sent: each user's connection_ack, each
   * app acked and subscribed again, and the last of them (all apps running). Tokens are signed beforehand.
   */
  async storm({ packageName, timeoutMs = 60_000 }) {
    const list = [...st.users.values()];
    const n = list.length;
    if (n === 0) throw new Error('storm: no sessions set up');
    const tokens = list.map((u) => signCoreToken(u.userId, st.cfg.jwtSecret));
    const acks = new Float64Array(n);
    const ready = new Float64Array(n);
    let nAck = 0;
    let nReady = 0;
    let failed = 0;
    const errors = [];
    const failReasons = {};
    mark('measureStart');
    const t0 = nowMs();
    await Promise.all(
      list.map(async (u, i) => {
        const app = waitApp(`${u.userId}-${packageName}`, timeoutMs);
        app.catch(() => {}); // awaited below unless the connect fails first
        try {
          u.glasses = await connectGlasses(u.userId, { token: tokens[i] });
          acks[nAck++] = nowMs() - t0;
          u.app = await app;
          ready[nReady++] = nowMs() - t0;
        } catch (e) {
          failed++;
          const msg = String(e?.message ?? e);
          if (errors.length < 5) errors.push(msg);
          const why = /HTTP 429/.test(msg)
            ? 'app socket refused 429'
            : /APP_NOT_STARTED/.test(msg)
              ? 'init after the start had failed (e.g. TIMEOUT)'
              : /glasses/.test(msg)
                ? 'glasses reconnect failed'
                : 'other';
          failReasons[why] = (failReasons[why] ?? 0) + 1;
        }
      }),
    );
    const allMs = nowMs() - t0;
    mark('measureEnd');
    // Apps the server did not restore (e.g. a start that timed out under the storm) are started again from the
    // glasses, so the next repeat begins with every user's app running.
    let restarted = 0;
    const missing = list.filter((u) => !u.app?.acked || u.app.ws.readyState !== WebSocket.OPEN);
    await pool(missing, 50, async (u) => {
      if (u.glasses.readyState !== WebSocket.OPEN) u.glasses = await connectGlasses(u.userId);
      const sessionId = `${u.userId}-${packageName}`;
      const app = waitApp(sessionId, 30_000);
      u.glasses.send(JSON.stringify({ type: 'start_app', packageName }));
      u.app = await app;
      restarted++;
    });
    return {
      users: n,
      reconnected: nAck,
      appsRunning: nReady,
      failed,
      failReasons,
      errors,
      restartedAfter: restarted,
      // the last app the server restored (all of them when failed is 0)
      allAppsMs: nReady ? ready.subarray(0, nReady).reduce((a, b) => Math.max(a, b), 0) : allMs,
      ack: percentiles(acks, nAck),
      appReady: percentiles(ready, nReady),
    };
  },

  /** Scenario 2: `users` glasses each streaming 3,200-byte PCM frames 10 times a second to one audio_chunk subscriber. */
  async audio({ users, warmupMs, durationMs, drainMs, stepId }) {
    const list = [...st.users.values()].slice(0, users);
    if (list.length < users) throw new Error(`audio: only ${list.length} of ${users} sessions set up`);
    const n = list.length;
    const rate = n * 10;
    const template = Buffer.alloc(PCM_FRAME_BYTES);
    for (let i = 0; i < PCM_FRAME_BYTES / 2; i++)
      template.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 16000)), i * 2);
    const sentPer = new Float64Array(n);
    const recvPer = new Float64Array(n);
    const cap = Math.min(Math.ceil(rate * (durationMs / 1000) * 1.2) + 1000, 6_000_000);
    const lats = new Float64Array(cap);
    let recv = 0;
    let stale = 0;
    let misrouted = 0;
    let measureFrom = Infinity;
    let measureTo = Infinity;
    const posBySession = new Map(list.map((u, i) => [u.app.sessionId, i]));
    st.onAppBinary = (buf, rec) => {
      const t = nowMs();
      if (buf.length !== PCM_FRAME_BYTES) {
        stale++;
        return;
      }
      const ts = buf.readDoubleLE(0);
      if (buf.readUInt32LE(8) !== stepId || ts < measureFrom) {
        stale++;
        return;
      }
      const pos = buf.readUInt32LE(12);
      if (posBySession.get(rec.sessionId) !== pos) misrouted++;
      else recvPer[pos]++;
      if (recv < cap) lats[recv] = t - ts;
      recv++;
    };
    let offered = 0;
    let blocked = 0;
    let k = 0;
    const sendOne = (t) => {
      const ui = k % n;
      k++;
      const g = list[ui].glasses;
      const measured = t >= measureFrom;
      if (measured) offered++;
      if (g.readyState !== WebSocket.OPEN || g.bufferedAmount > MAX_BUFFERED) {
        if (measured) blocked++;
        return;
      }
      if (measured) sentPer[ui]++;
      const b = Buffer.allocUnsafe(PCM_FRAME_BYTES);
      template.copy(b);
      b.writeDoubleLE(t, 0);
      b.writeUInt32LE(stepId, 8);
      b.writeUInt32LE(ui, 12);
      g.send(b, { binary: true });
    };
    const t0 = nowMs();
    measureFrom = t0 + warmupMs;
    measureTo = measureFrom + durationMs;
    let total = 0;
    let startMarked = false;
    let maxGap = 0;
    let lastTick = t0;
    await new Promise((resolve) => {
      const tick = () => {
        const now = nowMs();
        if (now - lastTick > maxGap && startMarked) maxGap = now - lastTick;
        lastTick = now;
        if (!startMarked && now >= measureFrom) {
          startMarked = true;
          // forgive a backlog left by a stall during warm-up: the window starts on schedule
          total = Math.max(total, Math.floor((rate * (now - t0)) / 1000) - 1);
          mark('measureStart');
        }
        const until = Math.min(now, measureTo);
        let due = Math.floor((rate * (until - t0)) / 1000) - total;
        if (due > 2000) due = 2000;
        for (let i = 0; i < due; i++) sendOne(nowMs());
        total += Math.max(due, 0);
        if (now >= measureTo && Math.floor((rate * (measureTo - t0)) / 1000) <= total) {
          mark('measureEnd');
          resolve();
        } else setTimeout(tick, 1);
      };
      tick();
    });
    const sentOk = offered - blocked;
    const d0 = Date.now();
    while (recv + misrouted < sentOk && Date.now() - d0 < drainMs) await sleep(10);
    const drainedMs = Date.now() - d0;
    measureFrom = Infinity;
    st.onAppBinary = null;
    const durS = durationMs / 1000;
    return {
      users: n,
      targetFramesPerS: rate,
      offered,
      offeredPerS: offered / durS,
      achievedPct: (offered / (rate * durS)) * 100,
      blocked,
      delivered: recv,
      deliveredPerS: recv / durS,
      deliveredMBps: (recv * PCM_FRAME_BYTES) / durS / 1e6,
      lost: Math.max(0, offered - recv),
      lossPct: offered ? (Math.max(0, offered - recv) / offered) * 100 : 0,
      misrouted,
      stale,
      drainMs: drainedMs,
      maxSendGapMs: maxGap,
      latency: percentiles(lats, Math.min(recv, cap)),
    };
  },

  /**
   * Scenario 6 (transcription): `users` glasses each streaming 3,200-byte PCM frames 10 times a second to one
   * `transcription:en-US` subscriber, through the Soniox double (run with bytesPerWord = 3,200: every frame
   * completes exactly one word). Latency per word = send time of the frame that completed it → arrival at the app
   * of the first transcript carrying it. Words are matched to frames in order, per user: each data_stream adds
   * (words in its text − words already seen in the current utterance) words; a final ends the utterance.
   */
  async transcribe({ users, warmupMs, durationMs, drainMs, streamType = 'transcription:en-US', vadSettleMs = 300 }) {
    const list = [...st.users.values()].slice(0, users);
    if (list.length < users) throw new Error(`transcribe: only ${list.length} of ${users} sessions set up`);
    const n = list.length;
    const rate = n * 10;
    const template = Buffer.alloc(PCM_FRAME_BYTES);
    for (let i = 0; i < PCM_FRAME_BYTES / 2; i++)
      template.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 16000)) || 1, i * 2);
    // per user: send times of frames not yet answered (FIFO), words seen in the current utterance
    const queues = list.map(() => ({ t: [], head: 0, uttWords: 0 }));
    const cap = Math.min(Math.ceil(rate * (durationMs / 1000) * 1.2) + 1000, 6_000_000);
    const lats = new Float64Array(cap);
    let recv = 0;
    let results = 0;
    let finals = 0;
    let extraWords = 0;
    let misrouted = 0;
    let measureFrom = Infinity;
    const posBySession = new Map(list.map((u, i) => [u.app.sessionId, i]));
    const countWords = (text) => (typeof text === 'string' ? text.split(/\s+/).filter(Boolean).length : 0);
    st.onAppText = (data, rec) => {
      const t = nowMs();
      const str = data.toString();
      if (str.indexOf('data_stream') === -1) return;
      let m;
      try {
        m = JSON.parse(str);
      } catch {
        return;
      }
      if (m?.type !== 'data_stream' || m.streamType !== streamType) return;
      const pos = posBySession.get(rec.sessionId);
      if (pos === undefined) {
        misrouted++;
        return;
      }
      results++;
      const q = queues[pos];
      const w = countWords(m.data?.text);
      let fresh = Math.max(0, w - q.uttWords);
      if (m.data?.isFinal) {
        finals++;
        q.uttWords = 0;
      } else q.uttWords = Math.max(q.uttWords, w);
      for (; fresh > 0; fresh--) {
        if (q.head >= q.t.length) {
          extraWords++;
          continue;
        }
        const ts = q.t[q.head++];
        if (ts < measureFrom) continue;
        if (recv < cap) lats[recv] = t - ts;
        recv++;
      }
    };
    // speech on: the cloud opens (or resumes) the provider streams
    for (const u of list) u.glasses.send(JSON.stringify({ type: 'VAD', status: true }));
    let offered = 0;
    let blocked = 0;
    let k = 0;
    const sendOne = (t) => {
      const ui = k % n;
      k++;
      const g = list[ui].glasses;
      const measured = t >= measureFrom;
      if (measured) offered++;
      if (g.readyState !== WebSocket.OPEN || g.bufferedAmount > MAX_BUFFERED) {
        if (measured) blocked++;
        return;
      }
      queues[ui].t.push(t);
      const b = Buffer.allocUnsafe(PCM_FRAME_BYTES);
      template.copy(b);
      g.send(b, { binary: true });
    };
    const t0 = nowMs();
    measureFrom = t0 + warmupMs;
    const measureTo = measureFrom + durationMs;
    let total = 0;
    let startMarked = false;
    let maxGap = 0;
    let lastTick = t0;
    await new Promise((resolve) => {
      const tick = () => {
        const now = nowMs();
        if (now - lastTick > maxGap && startMarked) maxGap = now - lastTick;
        lastTick = now;
        if (!startMarked && now >= measureFrom) {
          startMarked = true;
          total = Math.max(total, Math.floor((rate * (now - t0)) / 1000) - 1);
          mark('measureStart');
        }
        const until = Math.min(now, measureTo);
        let due = Math.floor((rate * (until - t0)) / 1000) - total;
        if (due > 2000) due = 2000;
        for (let i = 0; i < due; i++) sendOne(nowMs());
        total += Math.max(due, 0);
        if (now >= measureTo && Math.floor((rate * (measureTo - t0)) / 1000) <= total) {
          mark('measureEnd');
          resolve();
        } else setTimeout(tick, 1);
      };
      tick();
    });
    const sentOk = offered - blocked;
    const d0 = Date.now();
    while (recv < sentOk && Date.now() - d0 < drainMs) await sleep(10);
    const drainedMs = Date.now() - d0;
    // speech off: the cloud finalizes; let the finals (words already counted) land before the next step
    for (const u of list)
      if (u.glasses.readyState === WebSocket.OPEN) u.glasses.send(JSON.stringify({ type: 'VAD', status: false }));
    await sleep(vadSettleMs);
    st.onAppText = null;
    const durS = durationMs / 1000;
    return {
      users: n,
      targetFramesPerS: rate,
      offered,
      offeredPerS: offered / durS,
      achievedPct: (offered / (rate * durS)) * 100,
      blocked,
      delivered: recv,
      deliveredPerS: recv / durS,
      lost: Math.max(0, offered - recv),
      lossPct: offered ? (Math.max(0, offered - recv) / offered) * 100 : 0,
      results,
      finals,
      extraWords,
      misrouted,
      drainMs: drainedMs,
      maxSendGapMs: maxGap,
      latency: percentiles(lats, Math.min(recv, cap)),
    };
  },

  /** Scenario 5: connect -> start_app -> (app acked + subscribed) -> stop_app -> app socket closed -> disconnect. */
  async churn({ packageName, prefix, count, rate, concurrency, cycleTimeoutMs = 15_000, maxMs = Infinity }) {
    const durs = new Float64Array(count);
    // per-phase durations: connect→connection_ack, start_app→app subscribed, stop_app→app socket closed, close
    const phases = {
      connect: new Float64Array(count),
      start: new Float64Array(count),
      stop: new Float64Array(count),
      disconnect: new Float64Array(count),
    };
    let done = 0;
    let failed = 0;
    const errors = [];
    let inflight = 0;
    let maxInflight = 0;
    const cycle = async (i) => {
      const t = nowMs();
      const userId = userIdOf(prefix, i);
      const sessionId = `${userId}-${packageName}`;
      let g = null;
      try {
        g = await connectGlasses(userId);
        const t1 = nowMs();
        const ready = waitApp(sessionId, cycleTimeoutMs);
        g.send(JSON.stringify({ type: 'start_app', packageName }));
        const app = await ready;
        const t2 = nowMs();
        const appClosed = waitClose(app.ws, cycleTimeoutMs);
        g.send(JSON.stringify({ type: 'stop_app', packageName }));
        if (!(await appClosed))
          throw new Error(`${sessionId}: app socket not closed within ${cycleTimeoutMs} ms after stop_app`);
        const t3 = nowMs();
        const gClosed = waitClose(g, cycleTimeoutMs);
        g.close(1000);
        await gClosed;
        const t4 = nowMs();
        phases.connect[done] = t1 - t;
        phases.start[done] = t2 - t1;
        phases.stop[done] = t3 - t2;
        phases.disconnect[done] = t4 - t3;
        durs[done++] = t4 - t;
      } catch (e) {
        failed++;
        if (errors.length < 5) errors.push(String(e?.message ?? e));
        if (g) g.terminate();
      }
    };
    const t0 = nowMs();
    const running = new Set();
    let started = 0;
    for (let i = 0; i < count; i++) {
      if (nowMs() - t0 > maxMs) break; // time cap: cycles not started are reported, not failed
      started++;
      const due = t0 + (i * 1000) / rate;
      const wait = due - nowMs();
      if (wait > 0) await sleep(wait);
      while (running.size >= concurrency) await Promise.race(running);
      inflight = running.size + 1;
      if (inflight > maxInflight) maxInflight = inflight;
      const p = cycle(i).finally(() => running.delete(p));
      running.add(p);
    }
    await Promise.all(running);
    // achieved rate: completed cycles over the offered schedule span or the real span, whichever is longer
    const totalMs = Math.max(nowMs() - t0, (started * 1000) / rate);
    return {
      count,
      started,
      capped: started < count,
      targetRate: rate,
      completed: done,
      failed,
      errors,
      totalMs,
      cyclesPerS: done / (totalMs / 1000),
      maxInflight,
      latency: percentiles(durs, done),
      phasesP50: Object.fromEntries(Object.entries(phases).map(([k, a]) => [k, percentiles(a, done).p50])),
      phasesP99: Object.fromEntries(Object.entries(phases).map(([k, a]) => [k, percentiles(a, done).p99])),
    };
  },

  /** Scenario 4: a real @mentra/sdk AppServer on loopback. */
  async sdkStart({ packageName, apiKey, port }) {
    const sdk = await import('@mentra/sdk');
    // The SDK logs at debug level through pino-pretty; keep the load side quiet (warn and above).
    try {
      sdk.logger.level = 'warn';
    } catch {
      /* older SDKs */
    }
    class BenchAppServer extends sdk.AppServer {
      async onSession(_session, sessionId) {
        const t = nowMs();
        const w = st.sdkWaiters.get(sessionId);
        if (w) {
          st.sdkWaiters.delete(sessionId);
          w(t);
        }
      }
    }
    const p = port ?? (await freePort());
    st.sdkServer = new BenchAppServer({ packageName, apiKey, port: p, publicDir: false, healthCheck: true });
    await st.sdkServer.start();
    st.sdkUrl = `http://127.0.0.1:${p}`;
    return { url: st.sdkUrl };
  },

  async sdkFreePort() {
    return { port: await freePort() };
  },

  /**
   * Sequential starts: glasses connect (not timed), then start_app -> the SDK AppServer's onSession (right after
   * tpa_connection_ack). mode 'cloud' uses the server under test; 'floor' uses the bare stub cloud.
   */
  async appStart({ mode, packageName, prefix, count, stubWsBase, pauseMs = 20 }) {
    const lats = new Float64Array(count);
    let n = 0;
    let failed = 0;
    const errors = [];
    const glasses = [];
    for (let i = 0; i < count; i++) {
      const userId = userIdOf(prefix, i);
      const sessionId = `${userId}-${packageName}`;
      try {
        const g =
          mode === 'floor'
            ? await connectGlasses(userId, {
                url: `${stubWsBase}/glasses-ws?user=${encodeURIComponent(userId)}&hook=${encodeURIComponent(st.sdkUrl ?? '')}`,
              })
            : await connectGlasses(userId);
        glasses.push(g);
        await sleep(pauseMs);
        const got = new Promise((resolve, reject) => {
          const t = setTimeout(() => {
            st.sdkWaiters.delete(sessionId);
            reject(new Error(`${sessionId}: onSession not reached within 10 s`));
          }, 10_000);
          st.sdkWaiters.set(sessionId, (tt) => {
            clearTimeout(t);
            resolve(tt);
          });
        });
        const t0 = nowMs();
        g.send(JSON.stringify({ type: 'start_app', packageName }));
        const t1 = await got;
        lats[n++] = t1 - t0;
      } catch (e) {
        failed++;
        if (errors.length < 5) errors.push(String(e?.message ?? e));
      }
    }
    for (const g of glasses) g.close(1000);
    await Promise.all(glasses.map((g) => waitClose(g, 5000)));
    return { count, completed: n, failed, errors, latency: percentiles(lats, n) };
  },

  async stats() {
    return {
      webhook: st.webhookStats,
      users: st.users.size,
      appClients: st.appClients.size,
      mem: process.memoryUsage(),
    };
  },

  async exit() {
    setTimeout(() => process.exit(0), 10);
    return {};
  },
};

process.on('message', async (m) => {
  if (!m || typeof m.cmd !== 'string') return;
  const fn = commands[m.cmd];
  if (!fn) {
    process.send({ id: m.id, ok: false, error: `unknown command ${m.cmd}` });
    return;
  }
  try {
    const result = await fn(m.args ?? {});
    process.send({ id: m.id, ok: true, result });
  } catch (e) {
    process.send({ id: m.id, ok: false, error: String(e?.stack ?? e?.message ?? e) });
  }
});
process.on('disconnect', () => process.exit(0));
process.on('uncaughtException', (e) => {
  console.error('loadgen uncaught:', e);
});
process.on('unhandledRejection', (e) => {
  console.error('loadgen unhandled rejection:', e);
});
