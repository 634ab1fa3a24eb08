#!/usr/bin/env node
// `npm run cluster -- --nodes 3`: a local cluster on loopback. redis-server (AOF), N cloud processes (the built
// dist/, one port each, one Redis, one JWT secret and admin key generated here for all) and nginx from
// deploy/nginx/cluster.conf.template in front: one address. Ctrl-C (SIGINT), SIGTERM or SIGHUP stops all of it:
// nginx first (no new traffic), then the processes (they drain and release their leases), then Redis.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startFlags } from '../bench/lib/start-flags.mjs';
import { NGINX, writeClusterConf } from '../deploy/nginx/cluster-conf.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'dist', 'main.js');
const REDIS_SERVER = '/usr/bin/redis-server';
const STOP_TIMEOUT_MS = 15_000;

const USAGE = `usage: npm run cluster -- [--nodes N] [--port P] [--host H] [--dir D]
  --nodes  cloud processes (default 3)
  --port   the one address's port (default 8002)
  --host   the address nginx listens on (default 127.0.0.1)
  --dir    keep Redis's data, the logs and each process's DATA_DIR here (default: a temporary directory,
           removed on exit)`;

function options() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        nodes: { type: 'string', default: '3' },
        port: { type: 'string', default: '8002' },
        host: { type: 'string', default: '127.0.0.1' },
        dir: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    fail(`${err.message}\n${USAGE}`);
  }
  if (parsed.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const nodes = Number(parsed.nodes);
  const port = Number(parsed.port);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 64) fail(`--nodes must be 1-64\n${USAGE}`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`--port must be a port number\n${USAGE}`);
  return { nodes, port, host: parsed.host, dir: parsed.dir };
}

function fail(message) {
  console.error(message);
  process.exit(1);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function redisAnswers(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

async function waitFor(what, child, check, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited during start-up`);
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

const httpOk = (url) =>
  fetch(url).then(
    (r) => r.ok,
    () => false,
  );

/** Every line a child prints, prefixed with its name. */
function prefixLines(stream, name, out) {
  let rest = '';
  stream.on('data', (chunk) => {
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop();
    for (const line of lines) out.write(`[${name}] ${line}\n`);
  });
  stream.on('end', () => rest && out.write(`[${name}] ${rest}\n`));
}

const children = [];
let stopping = null;

/**
 * Starts a child in its own process group, so a terminal's Ctrl-C reaches only this script, which then stops
 * the children in order.
 */
function start(name, command, args, { env, logFile, critical }) {
  const child = spawn(command, args, {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const entry = {
    name,
    child,
    critical,
    exited: new Promise((r) => child.once('exit', (code, signal) => r({ code, signal }))),
  };
  if (logFile) {
    const log = createWriteStream(logFile, { flags: 'a' });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
  } else {
    prefixLines(child.stdout, name, process.stdout);
    prefixLines(child.stderr, name, process.stderr);
  }
  void entry.exited.then(({ code, signal }) => {
    if (stopping) return;
    console.error(`${name} exited (${signal ?? `code ${code}`})`);
    if (critical) void stopAll(1);
  });
  children.push(entry);
  return child;
}

async function stopOne(entry, signal) {
  const { child, exited } = entry;
  if (child.exitCode === null && child.signalCode === null) {
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
}

let workDir = null;
let removeWorkDir = false;

function stopAll(code) {
  stopping ??= (async () => {
    const of = (prefix) => children.filter((c) => c.name.startsWith(prefix));
    // nginx: fast shutdown; the cloud processes drain (1012 to every socket) and release their leases; then Redis.
    await Promise.all(of('nginx').map((c) => stopOne(c, 'SIGTERM')));
    await Promise.all(of('node-').map((c) => stopOne(c, 'SIGTERM')));
    await Promise.all(of('redis').map((c) => stopOne(c, 'SIGTERM')));
    if (workDir && removeWorkDir) await rm(workDir, { recursive: true, force: true });
    console.log('cluster stopped');
    process.exit(code);
  })();
  return stopping;
}

async function main() {
  const opts = options();
  if (!existsSync(MAIN)) fail(`${MAIN} is missing: run npm run build (npm run cluster does)`);
  if (!existsSync(REDIS_SERVER)) fail('redis-server is not installed (apt-get install redis-server)');
  if (!existsSync(NGINX)) fail('nginx is not installed (apt-get install nginx libnginx-mod-http-js)');

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => void stopAll(0));

  removeWorkDir = !opts.dir;
  workDir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'mentra-cluster-')));
  for (const d of ['redis', 'nginx']) await mkdir(join(workDir, d), { recursive: true, mode: 0o700 });

  const redisPort = await freePort();
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  // AOF: leases and the fence counter (and the store, when it lives in Redis) survive a Redis restart.
  const redis = start(
    'redis',
    REDIS_SERVER,
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', join(workDir, 'redis'), '--appendonly', 'yes'],
    { env: { PATH: process.env.PATH }, logFile: join(workDir, 'redis', 'redis.log'), critical: true },
  );
  await waitFor('redis-server', redis, () => redisAnswers(redisPort));

  // Generated once and given to every process: they must agree on tokens and on the admin key.
  const jwtSecret = process.env.AUGMENTOS_AUTH_JWT_SECRET || randomBytes(32).toString('hex');
  const adminKey = process.env.ADMIN_API_KEY || randomBytes(24).toString('base64url');
  const publicUrl = `http://${opts.host}:${opts.port}`;
  const ports = [];
  for (let i = 0; i < opts.nodes; i++) ports.push(await freePort());
  const nodes = ports.map((port, i) => {
    const name = `node-${i + 1}`;
    const dataDir = join(workDir, name);
    const child = start(name, process.execPath, [...startFlags(), MAIN], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        REDIS_URL: redisUrl,
        // Every process shares the one Redis as its store too (cluster mode refuses the embedded store).
        STORE: process.env.STORE || 'redis',
        AUGMENTOS_AUTH_JWT_SECRET: jwtSecret,
        ADMIN_API_KEY: adminKey,
        PUBLIC_URL: publicUrl,
        CLUSTER_NODE_ID: name,
        CLUSTER_NODE_ADDRESS: `http://127.0.0.1:${port}`,
        LOG_LEVEL: process.env.LOG_LEVEL || 'warn',
      },
      critical: false,
    });
    return { name, port, child };
  });
  await Promise.all(nodes.map((n) => waitFor(n.name, n.child, () => httpOk(`http://127.0.0.1:${n.port}/health`))));

  const nginxDir = join(workDir, 'nginx');
  const conf = await writeClusterConf({
    workDir: nginxDir,
    listen: `${opts.host}:${opts.port}`,
    upstreams: ports.map((p) => `127.0.0.1:${p}`),
  });
  const nginx = start('nginx', NGINX, ['-c', conf, '-p', nginxDir, '-e', join(nginxDir, 'error.log')], {
    env: { PATH: process.env.PATH },
    logFile: join(nginxDir, 'nginx.log'),
    critical: true,
  });
  await waitFor('nginx', nginx, () => httpOk(`${publicUrl}/health`), 10_000);

  console.log(`MentraOS cloud cluster: ${opts.nodes} processes behind ${publicUrl}`);
  console.log(`  glasses: ${publicUrl.replace(/^http/, 'ws')}/glasses-ws   admin docs: ${publicUrl}/api/docs`);
  console.log(`  admin API key: ${adminKey}`);
  console.log(`  Redis: ${redisUrl} (AOF in ${join(workDir, 'redis')})   nginx log: ${join(nginxDir, 'error.log')}`);
  for (const n of nodes) console.log(`  ${n.name}: pid ${n.child.pid}, http://127.0.0.1:${n.port}`);
  console.log('Ctrl-C stops everything');
}

main().catch((err) => {
  console.error(`cluster: ${err.message}`);
  void stopAll(1);
});
