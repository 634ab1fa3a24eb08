import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFlags } from '../../bench/lib/start-flags.mjs';
import { signCoreToken } from '../../src/simulator/core-token.js';
import { freePort } from '../support/cloud.js';

export { startFlags };

/**
 * The fault suite's harness: the real service (`npm start`'s command line, plus --expose-gc) as a
 * child process on a free loopback port with a temporary DATA_DIR, plus the small tools every case shares.
 */

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MAIN = join(ROOT, 'dist', 'main.js');
/** `npm run test:faults` sets FAULTS_LONG=1: the issue's full counts and real timeouts. */
export const LONG = process.env.FAULTS_LONG === '1';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts'))
      newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Builds dist/ when it is older than src/ (several fault files may ask at once: a lock directory makes one of
 * them build while the others wait). tsc still emits on someone else's type errors; only "nothing emitted" fails.
 */
export async function ensureBuilt(): Promise<void> {
  const lock = join(tmpdir(), 'mentra-faults-build.lock');
  const deadline = Date.now() + 150_000;
  for (;;) {
    if (existsSync(MAIN) && statSync(MAIN).mtimeMs >= newestSource(join(ROOT, 'src'))) return;
    try {
      mkdirSync(lock);
    } catch {
      // Someone else is building; a lock older than the build timeout is stale.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 140_000) rmdirSync(lock);
      } catch {
        /* gone meanwhile */
      }
      if (Date.now() > deadline) throw new Error('timed out waiting for another build of dist/');
      await sleep(500);
      continue;
    }
    try {
      if (existsSync(MAIN) && statSync(MAIN).mtimeMs >= newestSource(join(ROOT, 'src'))) return;
      const started = Date.now();
      const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
      if (build.status !== 0 && !(existsSync(MAIN) && statSync(MAIN).mtimeMs >= started - 1000)) {
        throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
      }
      return;
    } finally {
      rmdirSync(lock);
    }
  }
}

export interface Runtime {
  heapUsed: number;
  heapTotal: number;
  rss: number;
  external: number;
  arrayBuffers: number;
  sessions: number;
  glassesSockets: number;
  appSockets: number;
  providerStreams: number;
  timers: number;
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
  uptimeSeconds: number;
}

export interface HttpResult<T = any> {
  status: number;
  body: T;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface Service {
  url: string;
  wsUrl: string;
  port: number;
  dataDir: string;
  env: Record<string, string>;
  adminKey: string;
  jwtSecret: string;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  readonly alive: boolean;
  output(): string;
  admin<T = any>(method: string, path: string, body?: unknown, key?: string): Promise<HttpResult<T>>;
  token(userId: string): string;
  registerApp(
    def: { packageName: string; publicUrl: string; appType?: string; permissions?: { type: string }[] },
    installFor?: string[],
  ): Promise<string>;
  runtime(gc?: boolean): Promise<Runtime>;
  /** Sends the signal and waits for the exit (SIGKILL after `timeoutMs`). */
  stop(
    signal?: NodeJS.Signals,
    timeoutMs?: number,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  /** stop() and remove the data dir (unless kept for a restart). */
  close(): Promise<void>;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  dataDir?: string;
  port?: number;
  adminKey?: string;
  jwtSecret?: string;
  /** Extra node flags; --expose-gc is always on. */
  nodeArgs?: string[];
  keepDataDir?: boolean;
  /** A CPU list for `taskset -c` (see cpuPlan); the service runs unpinned when absent. */
  cpus?: string;
  /** Run the service as this user and group (the test must be root to switch). */
  uid?: number;
  gid?: number;
}

/**
 * Separate cores for the service and for the test process that generates the load, as the benchmark does: on a
 * 2-core machine an unpinned load generator takes the server's core in turns, and the figures measure the
 * scheduler. Null (no pinning) when taskset is missing or there is a single core.
 */
export function cpuPlan(): { server: string; load: string; all: string } | null {
  const n = availableParallelism();
  if (n < 2 || spawnSync('taskset', ['-V']).status !== 0) return null;
  return { server: '0', load: n === 2 ? '1' : `1-${n - 1}`, all: `0-${n - 1}` };
}

/** Moves every thread of this process to `cpus` (taskset -a -p -c); false when it could not. */
export function pinSelf(cpus: string): boolean {
  return spawnSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' }).status === 0;
}

/** `node --expose-gc <npm start's flags> dist/main.js` on 127.0.0.1; resolves once /health answers. */
export async function spawnService(opts: SpawnOptions = {}): Promise<Service> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'mentra-faults-'));
  const port = opts.port ?? (await freePort());
  const adminKey = opts.adminKey ?? randomBytes(24).toString('hex');
  const jwtSecret = opts.jwtSecret ?? randomBytes(24).toString('hex');
  const url = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    ADMIN_API_KEY: adminKey,
    AUGMENTOS_AUTH_JWT_SECRET: jwtSecret,
    PUBLIC_URL: url,
    ...opts.env,
  };
  let attempt = 0;
  for (;;) {
    attempt++;
    const argv = [process.execPath, '--expose-gc', ...startFlags(), ...(opts.nodeArgs ?? []), MAIN];
    // taskset execs node in place, so the child's pid is the service's.
    const [cmd, ...args] = opts.cpus ? ['taskset', '-c', opts.cpus, ...argv] : argv;
    const child = spawn(cmd!, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid ?? opts.uid } : {}),
    });
    let out = '';
    const keep = (c: Buffer) => {
      out += c.toString('utf8');
      if (out.length > 200_000) out = out.slice(-100_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
    );
    const deadline = Date.now() + 30_000;
    let ready = false;
    while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
      ready = await fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) break;
      await sleep(100);
    }
    if (!ready) {
      child.kill('SIGKILL');
      await exited;
      // A concurrent `npm run build` (another suite) can leave a half-written file for a moment: try again once.
      if (attempt < 3) {
        await sleep(1000);
        continue;
      }
      throw new Error(`the service did not start on ${url}:\n${out.slice(-4000)}`);
    }
    return makeService({
      url,
      port,
      dataDir,
      env,
      adminKey,
      jwtSecret,
      child,
      exited,
      output: () => out,
      keepDataDir: opts.keepDataDir ?? false,
    });
  }
}

function makeService(p: {
  url: string;
  port: number;
  dataDir: string;
  env: Record<string, string>;
  adminKey: string;
  jwtSecret: string;
  child: ChildProcess;
  exited: Service['exited'];
  output: () => string;
  keepDataDir: boolean;
}): Service {
  const admin: Service['admin'] = (method, path, body, key = p.adminKey) =>
    http(p.url + path, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  const svc: Service = {
    url: p.url,
    wsUrl: p.url.replace(/^http/, 'ws'),
    port: p.port,
    dataDir: p.dataDir,
    env: p.env,
    adminKey: p.adminKey,
    jwtSecret: p.jwtSecret,
    child: p.child,
    exited: p.exited,
    get alive() {
      return p.child.exitCode === null && p.child.signalCode === null;
    },
    output: p.output,
    admin,
    token: (userId) => signCoreToken(userId, p.jwtSecret),
    async registerApp(def, installFor = []) {
      const res = await admin('POST', '/api/admin/apps', { name: def.packageName, appType: 'background', ...def });
      if (res.status !== 201) throw new Error(`register ${def.packageName}: ${res.status} ${res.text}`);
      for (const userId of installFor) {
        const r = await admin('PUT', `/api/admin/users/${encodeURIComponent(userId)}/apps/${def.packageName}`);
        if (r.status !== 200) throw new Error(`install: ${r.status} ${r.text}`);
      }
      return (res.body as { apiKey: string }).apiKey;
    },
    async runtime(gc = false) {
      const r = await admin<Runtime>('GET', `/api/admin/runtime${gc ? '?gc=1' : ''}`);
      if (r.status !== 200) throw new Error(`runtime: ${r.status} ${r.text}`);
      return r.body;
    },
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      const t0 = Date.now();
      if (!svc.alive) {
        const e = await p.exited;
        return { code: e.code, signal: e.signal, ms: 0 };
      }
      p.child.kill(signal);
      const killer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
      const e = await p.exited;
      clearTimeout(killer);
      return { code: e.code, signal: e.signal, ms: e.at - t0 };
    },
    async close() {
      await svc.stop('SIGTERM', 15_000);
      if (!p.keepDataDir) rmSync(p.dataDir, { recursive: true, force: true });
    },
  };
  return svc;
}

/**
 * A plain HTTP request through node:http (not fetch): lets a test choose the source address on loopback
 * (`localAddress: '127.0.0.7'`, each one a different client IP for the admin rate limiter) and send headers
 * fetch would refuse.
 */
export function http<T = any>(
  url: string,
  opts: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    localAddress?: string;
    timeoutMs?: number;
  } = {},
): Promise<HttpResult<T>> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: opts.method ?? 'GET', headers: opts.headers, localAddress: opts.localAddress, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, body: body as T, text, headers: res.headers });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(opts.timeoutMs ?? 30_000, () => req.destroy(new Error(`timeout: ${opts.method ?? 'GET'} ${url}`)));
    req.on('error', reject);
    if (opts.body !== undefined) req.end(opts.body);
    else req.end();
  });
}

export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;

/** The one summary line each case prints: `[faults] <case>: k=v …`. */
export function report(name: string, figures: Record<string, unknown>): void {
  const parts = Object.entries(figures).map(
    ([k, v]) => `${k}=${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(1) : String(v)}`,
  );
  console.log(`[faults] ${name}${LONG ? ' (long)' : ''}: ${parts.join(' ')}`);
}

/** Polls until `check` is truthy; throws after `timeoutMs` with the last error. */
export async function until<T>(
  check: () => T | Promise<T>,
  timeoutMs: number,
  what: string,
  everyMs = 25,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`,
      );
    await sleep(everyMs);
  }
}

/** mulberry32: a small seeded PRNG, so a fuzz run replays from its printed seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
