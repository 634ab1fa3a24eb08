// A redis-server of the bench's own (the cluster scenario): free loopback port, temp dir, append-only file on
// (how a Redis holding the store runs), pinned with the load generators so it does not share the server's core.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { benchTempRoot, freePort, trackChild, wrap } from './proc.mjs';

export const REDIS_SERVER = '/usr/bin/redis-server';

export async function startRedis(plan, timeoutMs = 10_000) {
  if (!existsSync(REDIS_SERVER))
    throw new Error(`${REDIS_SERVER} is not installed (apt-get install redis-server): the cluster scenario needs it`);
  const port = await freePort();
  const dir = mkdtempSync(join(benchTempRoot(), 'redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes'];
  args.push('--appendfsync', 'everysec', '--save', '', '--daemonize', 'no', '--logfile', '');
  const [cmd, ...cmdArgs] = wrap(plan, plan.loadCpu, [REDIS_SERVER, ...args]);
  const child = trackChild(spawn(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`redis-server not ready within ${timeoutMs} ms:\n${out}`)),
      timeoutMs,
    );
    const onData = (d) => {
      out = (out + d).slice(-4000);
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code ?? sig}) before ready:\n${out}`));
    });
  });
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid,
    /** Commands the server has processed since it started (INFO stats; the INFO calls themselves included). */
    async commands() {
      const info = await client.info('stats');
      return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? NaN);
    },
    stop: () =>
      new Promise((resolve) => {
        client.disconnect();
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
