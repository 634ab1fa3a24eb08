// Baseline: a bare `ws` relay with the same routing as our cloud, and nothing else (no NestJS, no store).
//
// Hot path kept equal to what the cloud must do:
//  - token check at the upgrade of /glasses-ws (HS256 verify, 401 otherwise), per-user map keyed by the email claim
//  - every glasses text frame JSON.parse'd once, subscribers looked up (exact stream + "*"/"all"), one
//    data_stream string built per subscriber with JSON.stringify, sent
//  - every glasses binary frame forwarded as-is to the user's audio_chunk subscribers
//  - start_app -> session_request webhook POST -> /app-ws init by first message (sha256 API key check) -> ack
//  - stop_app -> stop_request webhook + app_stopped + close 1000; glasses close -> grace -> session end
//  - protocol ping every HEARTBEAT_INTERVAL_MS on both gateways
//  - a restart keeps state: SIGTERM writes apps, installs and each user's running apps to DATA_DIR (one file) and
//    closes every socket with 1012; the next process reads it, and a user's first glasses connection starts the
//    apps that were running by webhook, as the cloud does (the floor: one write at shutdown, no store per start)
// Admin routes are the minimal subset the bench uses. Config comes from the same env vars as the cloud.
import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { WebSocketServer } from 'ws';
import { verifyHs256 } from '../lib/jwt.mjs';

const env = process.env;
const PORT = Number(env.PORT ?? 8002);
const HOST = env.HOST ?? '127.0.0.1';
const JWT_SECRET = env.AUGMENTOS_AUTH_JWT_SECRET ?? '';
const ADMIN_KEY = env.ADMIN_API_KEY ?? '';
if (JWT_SECRET.length < 16 || ADMIN_KEY.length < 16) {
  console.error('baseline: AUGMENTOS_AUTH_JWT_SECRET and ADMIN_API_KEY must be at least 16 characters');
  process.exit(1);
}
const PUBLIC_URL = (env.PUBLIC_URL ?? `http://127.0.0.1:${PORT}`).replace(/\/+$/, '');
const APP_WS_URL = `${PUBLIC_URL.replace(/^http/, 'ws')}/app-ws`;
const GRACE_MS = Number(env.GLASSES_GRACE_MS ?? 60_000);
const HEARTBEAT_MS = Number(env.HEARTBEAT_INTERVAL_MS ?? 10_000);
const APP_INIT_TIMEOUT_MS = Number(env.APP_INIT_TIMEOUT_MS ?? 5_000);
const EMPTY_SUB_GRACE_MS = Number(env.EMPTY_SUBSCRIPTION_GRACE_MS ?? 8_000);
const MAX_FRAME = Number(env.MAX_FRAME_BYTES ?? 16 * 1024 * 1024);

const ELD_RESOLUTION_MS = 10;
const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
eld.enable();

/** packageName -> { packageName, name, publicUrl, appType, permissions, hashedApiKey } */
const apps = new Map();
/** userId -> Set<packageName> */
const installs = new Map();
/** userId -> UserSession */
const users = new Map();
const glassesSockets = new Set();
const appSockets = new Set();

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

const STATE_FILE = env.DATA_DIR ? join(env.DATA_DIR, 'baseline-state.json') : null;
/** userId -> apps that were running when the previous process stopped; started when the user's glasses connect. */
const restoreRunning = new Map();

function loadState() {
  if (!STATE_FILE) return;
  let state;
  try {
    state = JSON.parse(readFileSync(STATE_FILE, 'utf8'));
  } catch {
    return; // first start
  }
  for (const a of state.apps ?? []) apps.set(a.packageName, a);
  for (const [userId, pkgs] of state.installs ?? []) installs.set(userId, new Set(pkgs));
  for (const [userId, pkgs] of state.running ?? []) restoreRunning.set(userId, pkgs);
}

function saveState() {
  if (!STATE_FILE) return;
  const running = [...restoreRunning];
  for (const u of users.values()) {
    const pkgs = [...u.apps.values()].filter((a) => a.state === 'running').map((a) => a.packageName);
    if (pkgs.length) running.push([u.userId, pkgs]);
  }
  const state = { apps: [...apps.values()], installs: [...installs].map(([u, set]) => [u, [...set]]), running };
  writeFileSync(`${STATE_FILE}.tmp`, JSON.stringify(state));
  renameSync(`${STATE_FILE}.tmp`, STATE_FILE);
}
loadState();

function postJson(url, body, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        timeout: timeoutMs,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode < 300 ? resolve(res.statusCode) : reject(new Error(`webhook ${res.statusCode}`)),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('webhook timeout')));
    req.on('error', reject);
    req.end(data);
  });
}

// ---------------------------------------------------------------- user sessions

class UserSession {
  constructor(userId) {
    this.userId = userId;
    this.glasses = null;
    /** packageName -> AppSession */
    this.apps = new Map();
    /** stream -> AppSession[] (rebuilt on every subscription change) */
    this.subs = new Map();
    this.graceTimer = null;
  }

  reindex() {
    const subs = new Map();
    for (const a of this.apps.values()) {
      if (a.state !== 'running') continue;
      for (const s of a.subs) {
        let list = subs.get(s);
        if (!list) subs.set(s, (list = []));
        list.push(a);
      }
    }
    this.subs = subs;
  }

  relay(msg) {
    const type = msg.type;
    const exact = this.subs.get(type);
    const star = this.subs.get('*');
    const all = this.subs.get('all');
    if (exact === undefined && star === undefined && all === undefined) return;
    const now = new Date();
    const send = (a) => {
      if (a.ws === null || a.ws.readyState !== 1) return;
      a.ws.send(
        JSON.stringify({ type: 'data_stream', sessionId: a.sessionId, streamType: type, data: msg, timestamp: now }),
      );
    };
    if (exact !== undefined) for (let i = 0; i < exact.length; i++) send(exact[i]);
    if (star !== undefined) for (let i = 0; i < star.length; i++) if (!exact?.includes(star[i])) send(star[i]);
    if (all !== undefined)
      for (let i = 0; i < all.length; i++) if (!exact?.includes(all[i]) && !star?.includes(all[i])) send(all[i]);
  }

  audio(buf) {
    const list = this.subs.get('audio_chunk');
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) {
      const ws = list[i].ws;
      if (ws !== null && ws.readyState === 1) ws.send(buf, { binary: true });
    }
  }

  startApp(packageName) {
    const app = apps.get(packageName);
    if (!app || !installs.get(this.userId)?.has(packageName)) return;
    const existing = this.apps.get(packageName);
    if (existing && (existing.state === 'running' || existing.state === 'connecting')) return;
    const a = {
      packageName,
      sessionId: `${this.userId}-${packageName}`,
      state: 'connecting',
      ws: null,
      subs: [],
      connectedAt: 0,
      timer: null,
    };
    a.timer = setTimeout(() => {
      if (a.state === 'connecting' && this.apps.get(packageName) === a) this.apps.delete(packageName);
    }, APP_INIT_TIMEOUT_MS);
    this.apps.set(packageName, a);
    postJson(`${app.publicUrl}/webhook`, {
      type: 'session_request',
      sessionId: a.sessionId,
      userId: this.userId,
      timestamp: new Date().toISOString(),
      augmentOSWebsocketUrl: APP_WS_URL,
      mentraOSWebsocketUrl: APP_WS_URL,
    }).catch(() => {
      /* success is the init arriving, not the webhook answer */
    });
  }

  stopApp(packageName, reasonClose = 'App stopped') {
    const a = this.apps.get(packageName);
    if (!a) return;
    a.state = 'stopping';
    clearTimeout(a.timer);
    this.apps.delete(packageName);
    this.reindex();
    const app = apps.get(packageName);
    if (app && reasonClose === 'App stopped') {
      postJson(`${app.publicUrl}/webhook`, {
        type: 'stop_request',
        sessionId: a.sessionId,
        userId: this.userId,
        reason: 'user_disabled',
        timestamp: new Date().toISOString(),
      }).catch(() => {});
    }
    if (a.ws) {
      if (a.ws.readyState === 1) a.ws.send(JSON.stringify({ type: 'app_stopped', timestamp: new Date() }));
      a.ws.close(1000, reasonClose);
    }
  }

  end() {
    clearTimeout(this.graceTimer);
    for (const pkg of [...this.apps.keys()]) this.stopApp(pkg, 'User session ended');
    users.delete(this.userId);
  }
}

// ---------------------------------------------------------------- glasses gateway

const wssGlasses = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_FRAME });
const wssApps = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_FRAME });

function reject401(socket, message) {
  const body = JSON.stringify({ type: 'connection_error', message, timestamp: new Date() });
  socket.end(
    `HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function onGlassesUpgrade(req, socket, head) {
  const auth = req.headers.authorization;
  let token = auth && auth.startsWith('Bearer ') ? auth.slice(7) : null;
  if (!token) {
    const q = req.url.indexOf('?');
    if (q >= 0) token = new URLSearchParams(req.url.slice(q + 1)).get('token');
  }
  if (!token) return reject401(socket, 'No core token provided');
  const payload = verifyHs256(token, JWT_SECRET);
  if (!payload) return reject401(socket, 'Invalid core token');
  if (typeof payload.email !== 'string' || !payload.email) return reject401(socket, 'Invalid core token - no user ID');
  const userId = payload.email.toLowerCase();
  wssGlasses.handleUpgrade(req, socket, head, (ws) => onGlassesConnection(ws, userId));
}

function sendAck(ws, userId) {
  ws.send(JSON.stringify({ type: 'connection_ack', sessionId: userId, timestamp: new Date() }));
}

function onGlassesConnection(ws, userId) {
  glassesSockets.add(ws);
  let user = users.get(userId);
  let restored;
  if (user) {
    clearTimeout(user.graceTimer);
    user.graceTimer = null;
    if (user.glasses && user.glasses !== ws) user.glasses.close(1000, 'Replaced by a new connection');
  } else {
    user = new UserSession(userId);
    users.set(userId, user);
    restored = restoreRunning.get(userId);
    if (restored) restoreRunning.delete(userId);
  }
  user.glasses = ws;
  ws.isAlive = true;
  ws.on('pong', () => {
    ws.isAlive = true;
  });
  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      user.audio(data);
      return;
    }
    let msg;
    try {
      msg = JSON.parse(data.toString());
    } catch {
      return;
    }
    if (msg === null || typeof msg !== 'object' || typeof msg.type !== 'string') return;
    switch (msg.type) {
      case 'start_app':
        if (typeof msg.packageName === 'string') user.startApp(msg.packageName);
        return;
      case 'stop_app':
        if (typeof msg.packageName === 'string') user.stopApp(msg.packageName);
        return;
      case 'connection_init':
        sendAck(ws, userId);
        return;
      case 'ping':
        ws.send('{"type":"pong"}');
        return;
      case 'pong':
        return;
      default:
        user.relay(msg);
    }
  });
  ws.on('close', () => {
    glassesSockets.delete(ws);
    if (user.glasses !== ws) return;
    user.glasses = null;
    user.graceTimer = setTimeout(() => user.end(), GRACE_MS);
  });
  ws.on('error', () => {});
  sendAck(ws, userId);
  if (restored) for (const pkg of restored) user.startApp(pkg);
}

// ---------------------------------------------------------------- app gateway

function appError(ws, code, message, closeCode = 1008) {
  if (ws.readyState === 1)
    ws.send(JSON.stringify({ type: 'tpa_connection_error', code, message, timestamp: new Date() }));
  ws.close(closeCode, message);
}

function onAppConnection(ws) {
  appSockets.add(ws);
  ws.isAlive = true;
  ws.on('pong', () => {
    ws.isAlive = true;
  });
  let session = null; // { user, a }
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    let msg;
    try {
      msg = JSON.parse(data.toString());
    } catch {
      return;
    }
    if (msg === null || typeof msg !== 'object') return;
    if (session === null) {
      if (msg.type !== 'tpa_connection_init') return appError(ws, 'SESSION_NOT_FOUND', 'Session not found', 1008);
      const app = apps.get(msg.packageName);
      if (
        !app ||
        typeof msg.apiKey !== 'string' ||
        createHash('sha256').update(msg.apiKey).digest('hex') !== app.hashedApiKey
      ) {
        return appError(ws, 'INVALID_API_KEY', 'Invalid API key');
      }
      const suffix = `-${msg.packageName}`;
      if (typeof msg.sessionId !== 'string' || !msg.sessionId.endsWith(suffix))
        return appError(ws, 'SESSION_NOT_FOUND', 'Session not found');
      const user = users.get(msg.sessionId.slice(0, -suffix.length));
      if (!user) return appError(ws, 'SESSION_NOT_FOUND', 'Session not found');
      const a = user.apps.get(msg.packageName);
      if (!a || (a.state !== 'connecting' && a.state !== 'running'))
        return appError(ws, 'APP_NOT_STARTED', 'App not started for this session');
      clearTimeout(a.timer);
      if (a.ws && a.ws !== ws) a.ws.close(1000, 'Replaced');
      a.ws = ws;
      a.state = 'running';
      a.connectedAt = Date.now();
      session = { user, a };
      user.reindex();
      ws.send(
        JSON.stringify({
          type: 'tpa_connection_ack',
          sessionId: a.sessionId,
          settings: [],
          mentraosSettings: {},
          augmentosSettings: {},
          capabilities: null,
          timestamp: new Date(),
        }),
      );
      return;
    }
    if (msg.type === 'subscription_update' && Array.isArray(msg.subscriptions)) {
      const { user, a } = session;
      if (msg.subscriptions.length === 0 && Date.now() - a.connectedAt < EMPTY_SUB_GRACE_MS) return;
      a.subs = msg.subscriptions
        .map((s) => (typeof s === 'string' ? s : s?.stream))
        .filter((s) => typeof s === 'string');
      user.reindex();
    }
  });
  ws.on('close', () => {
    appSockets.delete(ws);
    if (!session) return;
    const { user, a } = session;
    if (user.apps.get(a.packageName) === a && a.ws === ws) {
      user.apps.delete(a.packageName);
      user.reindex();
    }
  });
  ws.on('error', () => {});
}

// ---------------------------------------------------------------- HTTP (health + minimal admin)

function json(res, status, body) {
  const s = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(s) });
  res.end(s);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > 1_048_576) req.destroy(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => {
      try {
        resolve(chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {});
      } catch (e) {
        reject(e);
      }
    });
    req.on('error', reject);
  });
}

function runtimeInfo(gc) {
  if (gc && typeof global.gc === 'function') global.gc();
  const m = process.memoryUsage();
  // Same definition as our server's route: p99 of the 10 ms sampling timer's intervals (so an idle loop reads ≈ 10),
  // over the window since the previous read (reset on read).
  const p99 = eld.percentile(99) / 1e6;
  eld.reset();
  return {
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    rss: m.rss,
    sessions: users.size,
    glassesSockets: glassesSockets.size,
    appSockets: appSockets.size,
    eventLoopDelayP99Ms: Math.round(p99 * 1000) / 1000,
    eventLoopDelayWindow: 'since previous /api/admin/runtime read; includes the 10 ms sampling interval',
  };
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://x');
    const path = url.pathname;
    if (path === '/health') return json(res, 200, { status: 'ok' });
    if (!path.startsWith('/api/admin/')) return json(res, 404, { message: 'Not found' });
    if (req.headers.authorization !== `Bearer ${ADMIN_KEY}`) return json(res, 401, { message: 'Unauthorized' });
    if (req.method === 'GET' && path === '/api/admin/runtime')
      return json(res, 200, runtimeInfo(url.searchParams.get('gc') === '1'));
    if (req.method === 'GET' && path === '/api/admin/sessions') {
      return json(
        res,
        200,
        [...users.values()].map((u) => ({
          userId: u.userId,
          glassesConnected: u.glasses !== null,
          apps: [...u.apps.values()].map((a) => ({
            packageName: a.packageName,
            state: a.state,
            subscriptions: a.subs,
          })),
        })),
      );
    }
    if (req.method === 'POST' && path === '/api/admin/apps') {
      const b = await readBody(req);
      if (typeof b.packageName !== 'string' || typeof b.publicUrl !== 'string')
        return json(res, 400, { message: 'packageName and publicUrl required' });
      if (apps.has(b.packageName)) return json(res, 409, { message: 'exists' });
      const apiKey = randomBytes(32).toString('hex');
      const app = {
        packageName: b.packageName,
        name: b.name ?? b.packageName,
        publicUrl: b.publicUrl.replace(/\/+$/, ''),
        appType: b.appType ?? 'background',
        permissions: Array.isArray(b.permissions) ? b.permissions : [],
        hashedApiKey: createHash('sha256').update(apiKey).digest('hex'),
      };
      apps.set(app.packageName, app);
      const { hashedApiKey, ...pub } = app;
      return json(res, 201, { app: pub, apiKey });
    }
    const m = /^\/api\/admin\/users\/([^/]+)\/apps\/([^/]+)$/.exec(path);
    if (m && req.method === 'PUT') {
      const userId = decodeURIComponent(m[1]).toLowerCase();
      const pkg = decodeURIComponent(m[2]);
      if (!apps.has(pkg)) return json(res, 404, { message: 'app not found' });
      let set = installs.get(userId);
      if (!set) installs.set(userId, (set = new Set()));
      set.add(pkg);
      return json(res, 200, { userId, packageName: pkg, installed: true });
    }
    return json(res, 404, { message: 'Not found' });
  } catch (e) {
    return json(res, 500, { message: String(e?.message ?? e) });
  }
});

server.on('upgrade', (req, socket, head) => {
  socket.on('error', () => {});
  const q = req.url.indexOf('?');
  const path = q >= 0 ? req.url.slice(0, q) : req.url;
  if (path === '/glasses-ws') return onGlassesUpgrade(req, socket, head);
  if (path === '/app-ws') return wssApps.handleUpgrade(req, socket, head, onAppConnection);
  const body = 'Unknown WebSocket path';
  socket.end(`HTTP/1.1 404 Not Found\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
});

const heartbeat = setInterval(() => {
  for (const set of [glassesSockets, appSockets]) {
    for (const ws of set) {
      if (!ws.isAlive) {
        ws.terminate();
        continue;
      }
      ws.isAlive = false;
      ws.ping();
    }
  }
}, HEARTBEAT_MS);
heartbeat.unref();

server.listen(PORT, HOST, () => {
  console.log(`baseline listening on ${HOST}:${PORT}`);
});

let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  saveState();
  server.close();
  const open = [...glassesSockets, ...appSockets];
  for (const ws of open) ws.close(1012, 'Service restart');
  const t0 = Date.now();
  const check = setInterval(() => {
    if (glassesSockets.size + appSockets.size === 0 || Date.now() - t0 > 2000) {
      clearInterval(check);
      for (const ws of open) ws.terminate();
      process.exit(0);
    }
  }, 20);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
