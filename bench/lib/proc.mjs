// Process control: server processes (ours / baseline / stub), load-generator children, CPU pinning and sampling.
import { spawn, fork, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import {
  mkdtempSync,
  openSync,
  closeSync,
  readFileSync,
  existsSync,
  rmSync,
  cpSync,
  mkdirSync,
  symlinkSync,
  readdirSync,
} from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { startFlags } from './start-flags.mjs';

export const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
export const ROOT_DIR = dirname(BENCH_DIR);

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  /* default 100 */
}

/** Decides CPU pinning: servers on core 0, load generators (and this orchestrator) on core 1. */
/** The command prefix that applies pinning (taskset) and, with --nice, a scheduling priority (nice). */
export function wrap(plan, cpu, argv) {
  let out = argv;
  if (plan.pinned) out = [plan.taskset, '-c', cpu, ...out];
  if (plan.nice) out = ['nice', '-n', String(plan.nice), ...out];
  return out;
}

export function pinningPlan() {
  let taskset = null;
  for (const p of ['/usr/bin/taskset', '/bin/taskset', '/usr/local/bin/taskset']) if (existsSync(p)) taskset = p;
  if (!taskset) {
    try {
      taskset = execFileSync('sh', ['-c', 'command -v taskset'], { encoding: 'utf8' }).trim() || null;
    } catch {
      taskset = null;
    }
  }
  const cores = cpus().length;
  if (!taskset) return { pinned: false, taskset: null, cores, reason: 'taskset not found' };
  if (cores < 2) return { pinned: false, taskset, cores, reason: 'fewer than 2 cores' };
  return {
    pinned: true,
    taskset,
    cores,
    serverCpu: '0',
    loadCpu: '1',
    reason: `servers on CPU 0, load generators and orchestrator on CPU 1 (taskset)`,
  };
}

/** Pins an existing process (all threads) to a CPU list; used for the orchestrator itself. */
export function pinPid(plan, pid, cpu) {
  if (!plan.pinned) return false;
  try {
    execFileSync(plan.taskset, ['-a', '-p', '-c', cpu, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** utime+stime of a process, in milliseconds of CPU time (null if the process is gone). */
export function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields after ")": state(3) ppid(4) ... utime(14) stime(15) -> indexes 11, 12 in `rest`
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / clkTck;
  } catch {
    return null;
  }
}

/** Per-CPU jiffies from /proc/stat: { cpuN: { task (user+nice+system), steal, total } } in ms. */
export function cpuStat() {
  const out = {};
  try {
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      const m = /^(cpu\d+)\s+(.*)$/.exec(line);
      if (!m) continue;
      const f = m[2].trim().split(/\s+/).map(Number);
      const [user, nice, system, idle, iowait, irq, softirq, steal = 0] = f;
      const k = 1000 / clkTck;
      out[m[1]] = {
        task: (user + nice + system) * k,
        steal: steal * k,
        total: (user + nice + system + idle + iowait + irq + softirq + steal) * k,
      };
    }
  } catch {
    /* not Linux */
  }
  return out;
}

export function rssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function makeSecrets() {
  return {
    adminKey: `bench-admin-${randomBytes(12).toString('hex')}`,
    jwtSecret: `bench-jwt-${randomBytes(16).toString('hex')}`,
  };
}

let tempRoot = null;
export function benchTempRoot() {
  if (!tempRoot) tempRoot = mkdtempSync(join(tmpdir(), 'mentra-bench-'));
  return tempRoot;
}
export function cleanupTempRoot(keepLogs) {
  if (tempRoot && !keepLogs) rmSync(tempRoot, { recursive: true, force: true });
}

function tail(path, n = 40) {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

/** Every server / stub process this run started, so an interrupted run does not leave them behind. */
const liveChildren = new Set();
/** Registers a helper process (e.g. the Soniox double) so an interrupted run kills it too. */
export function trackChild(child) {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  return child;
}
export function killAllChildren() {
  for (const c of liveChildren) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  liveChildren.clear();
}

/**
 * Copies dist/ once per run into bench/.snapshots/<id>/dist (with package.json and public/ linked next to it, so
 * module scope and paths relative to dist resolve as in the project) and runs our server from there: other
 * engineers rebuild dist/ while a 15-minute run is going, and a half-written build must not fail a scenario.
 */
let snapshot = null;
export function snapshotDist() {
  if (snapshot) return snapshot;
  const src = join(ROOT_DIR, 'dist');
  if (!existsSync(join(src, 'main.js'))) return null;
  const base = join(BENCH_DIR, '.snapshots');
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, `run-${process.pid}-`));
  cpSync(src, join(dir, 'dist'), { recursive: true });
  for (const name of ['package.json', 'public']) {
    if (existsSync(join(ROOT_DIR, name))) symlinkSync(join(ROOT_DIR, name), join(dir, name));
  }
  snapshot = { dir, main: join(dir, 'dist', 'main.js') };
  return snapshot;
}
export function removeSnapshot() {
  if (snapshot) rmSync(snapshot.dir, { recursive: true, force: true });
  snapshot = null;
  // snapshots left behind by runs that were killed
  const base = join(BENCH_DIR, '.snapshots');
  try {
    for (const d of readdirSync(base)) {
      const pid = Number(/^run-(\d+)-/.exec(d)?.[1]);
      let alive = false;
      try {
        process.kill(pid, 0);
        alive = true;
      } catch {
        alive = false;
      }
      if (!alive) rmSync(join(base, d), { recursive: true, force: true });
    }
  } catch {
    /* none */
  }
}

let serverSeq = 0;
/**
 * Starts one server process and waits for GET /health = 200.
 * kind: 'ours' (node --expose-gc <npm start's flags> dist/main.js), 'baseline' (bench/baseline/server.mjs, the same
 * flags) or 'stub' (lib/stub-cloud.mjs).
 */
export async function startServer(
  kind,
  { plan, secrets, graceMs = 500, extraEnv = {}, nodeArgs = [], readyTimeoutMs = 60_000 } = {},
) {
  const port = await freePort();
  const root = benchTempRoot();
  const id = `${kind}-${++serverSeq}`;
  const dataDir = mkdtempSync(join(root, `${id}-data-`));
  const logPath = join(root, `${id}.log`);
  const entry =
    kind === 'ours'
      ? (snapshot?.main ?? join(ROOT_DIR, 'dist', 'main.js'))
      : kind === 'baseline'
        ? join(BENCH_DIR, 'baseline', 'server.mjs')
        : join(BENCH_DIR, 'lib', 'stub-cloud.mjs');
  if (!existsSync(entry))
    throw new Error(`${kind}: ${entry} does not exist${kind === 'ours' ? ' (run `npm run build` first)' : ''}`);
  const env = {
    ...process.env,
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    ADMIN_API_KEY: secrets.adminKey,
    AUGMENTOS_AUTH_JWT_SECRET: secrets.jwtSecret,
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    GLASSES_GRACE_MS: String(graceMs),
    LOG_LEVEL: 'warn',
    ...extraEnv,
  };
  delete env.NODE_OPTIONS;
  // Both servers get npm start's flags: the comparison is between the two servers' code, not V8 settings.
  // BENCH_SERVER_NODE_ARGS: extra node flags for the servers under test (e.g. `--require ./probe.cjs` while
  // investigating); NODE_OPTIONS is not passed on because it would reach the load generators too.
  const extra = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const args = ['--expose-gc', ...(kind === 'stub' ? [] : startFlags()), ...extra, ...nodeArgs, entry];
  const [cmd, ...cmdArgs] = wrap(plan, plan.serverCpu, [process.execPath, ...args]);
  const url = `http://127.0.0.1:${port}`;
  let child = null;
  let exited = null;
  /** Spawns the process (same env, port and DATA_DIR every time) and waits for GET /health = 200. */
  const launch = async () => {
    const fd = openSync(logPath, 'a');
    const c = spawn(cmd, cmdArgs, { cwd: ROOT_DIR, env, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    child = c;
    exited = null;
    liveChildren.add(c);
    c.on('exit', (code, signal) => {
      if (child === c) exited = { code, signal };
      liveChildren.delete(c);
    });
    const t0 = Date.now();
    let lastStatus = null;
    for (;;) {
      if (exited)
        throw new Error(
          `${kind} server exited during start-up (code ${exited.code}, signal ${exited.signal}); log ${logPath}:\n${tail(logPath)}`,
        );
      if (Date.now() - t0 > readyTimeoutMs) {
        c.kill('SIGKILL');
        const e = new Error(
          `${kind} server not ready after ${readyTimeoutMs} ms (GET /health${lastStatus ? ` last answered ${lastStatus}` : ' never answered'}); log ${logPath}:\n${tail(logPath, 15)}`,
        );
        e.notReady = !lastStatus; // a slow machine, not a broken build: worth retrying in a later scenario
        throw e;
      }
      try {
        const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.status === 200) break;
        lastStatus = res.status;
      } catch {
        /* not up yet */
      }
      await sleep(100);
    }
    return Date.now() - t0;
  };
  const startupMs = await launch();
  const server = {
    kind,
    id,
    pid: child.pid,
    port,
    url,
    wsBase: `ws://127.0.0.1:${port}`,
    logPath,
    dataDir,
    startupMs,
    get child() {
      return child;
    },
    get exited() {
      return exited;
    },
    async stop() {
      if (exited) return;
      const c = child;
      const done = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      const t = setTimeout(() => {
        if (!exited) c.kill('SIGKILL');
      }, 5000);
      await done;
      clearTimeout(t);
    },
    /**
     * A process restart: SIGTERM (the server's own shutdown: sockets closed with 1012, state kept), then the same
     * command on the same port and DATA_DIR. Returns how long the shutdown and the boot (to /health 200) took.
     */
    async restart() {
      const t0 = Date.now();
      await server.stop();
      const shutdownMs = Date.now() - t0;
      const bootMs = await launch();
      server.pid = child.pid;
      return { shutdownMs, bootMs };
    },
    logTail: (n) => tail(logPath, n),
  };
  return server;
}

/** Admin REST call against a server (JSON in/out). */
export async function admin(server, secrets, method, path, body, timeoutMs = 15_000) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${secrets.adminKey}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (res.status >= 300) throw new Error(`${method} ${path} -> ${res.status} ${text.slice(0, 300)}`);
  return json;
}

/** GET /metrics (Prometheus text) with the admin key; null when the server has none (the baseline). */
export async function metricsText(server, secrets, timeoutMs = 15_000) {
  const res = await fetch(`${server.url}/metrics`, {
    headers: { Authorization: `Bearer ${secrets.adminKey}` },
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  return res.status === 200 ? text : null;
}

/** GET /api/admin/runtime (optionally after a forced GC); returns the JSON or an {error}. */
export async function runtime(server, secrets, gc = false) {
  try {
    return await admin(server, secrets, 'GET', `/api/admin/runtime${gc ? '?gc=1' : ''}`);
  } catch (e) {
    return { error: String(e.message || e) };
  }
}

/** Heap after GC: asks twice (the second GC catches what the first left for finalization). */
export async function gcRuntime(server, secrets) {
  await runtime(server, secrets, true);
  await sleep(50);
  return runtime(server, secrets, true);
}

/** Starts a stall probe pinned to `cpu` (see probe.mjs); returns an RPC handle or null. */
export function forkProbe(plan, cpu) {
  const [cmd, ...pre] = wrap(plan, cpu, [process.execPath]);
  const child = fork(join(BENCH_DIR, 'lib', 'probe.mjs'), [], {
    cwd: ROOT_DIR,
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    execPath: cmd,
    execArgv: pre,
  });
  const h = rpcHandle(child, '(probe)');
  h.cpu = cpu;
  return h;
}

let loadSeq = 0;
/** Forks a load-generator child (pinned to the load CPU) and returns an RPC handle. */
export function forkLoad(plan, name = 'load') {
  const entry = join(BENCH_DIR, 'lib', 'loadgen.mjs');
  const root = benchTempRoot();
  const logPath = join(root, `${name}-${++loadSeq}.log`);
  const fd = openSync(logPath, 'a');
  const opts = {
    cwd: ROOT_DIR,
    stdio: ['ignore', fd, fd, 'ipc'],
    env: { ...process.env, NODE_ENV: 'production' },
    serialization: 'advanced',
  };
  const [cmd, ...pre] = wrap(plan, plan.loadCpu, [process.execPath, '--expose-gc', '--max-old-space-size=4096']);
  opts.execPath = cmd;
  opts.execArgv = pre;
  const child = fork(entry, [], opts);
  closeSync(fd);
  return rpcHandle(child, logPath);
}

function rpcHandle(child, logPath) {
  let seq = 0;
  const pending = new Map();
  const listeners = new Set();
  let exited = null;
  child.on('message', (m) => {
    if (m && m.event) {
      for (const l of listeners) l(m);
      return;
    }
    const p = pending.get(m?.id);
    if (!p) return;
    pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(`load ${p.cmd}: ${m.error}`));
  });
  child.on('exit', (code, signal) => {
    exited = { code, signal };
    for (const p of pending.values()) {
      clearTimeout(p.timer);
      p.reject(
        new Error(
          `load generator exited (code ${code}, signal ${signal}) during ${p.cmd}; log ${logPath}:\n${tail(logPath)}`,
        ),
      );
    }
    pending.clear();
  });
  return {
    pid: child.pid,
    logPath,
    call(cmd, args = {}, timeoutMs = 120_000) {
      if (exited) return Promise.reject(new Error(`load generator already exited (${JSON.stringify(exited)})`));
      const id = ++seq;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`load ${cmd}: no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, { resolve, reject, timer, cmd });
        child.send({ id, cmd, args });
      });
    },
    onEvent(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    async stop() {
      if (exited) return;
      const done = new Promise((r) => child.once('exit', r));
      try {
        child.send({ id: 0, cmd: 'exit', args: {} });
      } catch {
        /* gone */
      }
      const t = setTimeout(() => {
        if (!exited) child.kill('SIGKILL');
      }, 5000);
      await done;
      clearTimeout(t);
    },
  };
}
