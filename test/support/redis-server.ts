import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './cloud.js';

export const REDIS_SERVER_PATH = '/usr/bin/redis-server';

export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** The server's working directory (the append-only file lives in `appendonlydir/`). */
  dir: string;
  /** What the server printed (its log goes to stdout). */
  log(): string;
  /** Stops the server (SIGTERM, or SIGKILL for a crash) and keeps its data directory; `up()` starts it again. */
  down(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts the stopped server again on the same port and data directory; resolves once it accepts commands. */
  up(): Promise<void>;
  /** down() then up(). */
  restart(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Stops the server for good and removes its data directory. */
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /** Append-only file on (the default), synced every second: how a Redis holding the store must run. */
  appendOnly?: boolean;
}

/**
 * A real redis-server on a free loopback port with a temporary directory. Needs Debian's redis-server
 * (installed by .ci/run): throws, never skips, when it is missing. No RDB snapshots (`save ""`), so whatever
 * survives a restart came back from the append-only file.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  if (!existsSync(REDIS_SERVER_PATH))
    throw new Error(`redis-server is not installed at ${REDIS_SERVER_PATH} (apt-get install redis-server)`);
  const dir = await mkdtemp(join(tmpdir(), 'redis-server-'));
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--appendonly',
    options.appendOnly === false ? 'no' : 'yes',
    '--appendfsync',
    'everysec',
    '--save',
    '',
    '--daemonize',
    'no',
    '--logfile',
    '',
    '--loglevel',
    'notice',
  ];
  let output = '';
  let proc: ChildProcess | undefined;

  const up = async (): Promise<void> => {
    if (proc && proc.exitCode === null && proc.signalCode === null) throw new Error('redis-server is already up');
    const child = spawn(REDIS_SERVER_PATH, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = child;
    // A test run that dies without stop() must not leave the server behind.
    const reap = (): void => void child.kill('SIGKILL');
    process.once('exit', reap);
    child.once('exit', () => process.off('exit', reap));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`redis-server did not start within 10 s:\n${output}`)), 10_000);
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        // Printed once the dataset (the AOF included) is loaded and the port accepts commands.
        if (output.slice(-2_000).includes('Ready to accept connections')) done();
      };
      const onExit = (code: number | null, signal: string | null): void =>
        fail(new Error(`redis-server exited (${code ?? signal}) while starting:\n${output}`));
      const cleanup = (): void => {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.off('exit', onExit);
      };
      const done = (): void => {
        cleanup();
        // Keep draining the pipes so a chatty server never blocks on them.
        child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
        resolve();
      };
      const fail = (err: Error): void => {
        cleanup();
        child.kill('SIGKILL');
        reject(err);
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
      child.once('exit', onExit);
    });
  };

  const down = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> => {
    const child = proc;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  };

  await up();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    log: () => output,
    down,
    up,
    async restart(signal) {
      await down(signal);
      await up();
    },
    async stop() {
      await down('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
