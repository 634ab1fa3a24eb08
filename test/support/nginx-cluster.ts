import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NGINX, writeClusterConf } from '../../deploy/nginx/cluster-conf.mjs';
import { freePort } from './cloud.js';

export interface NginxCluster {
  port: number;
  url: string;
  wsUrl: string;
  workDir: string;
  errorLog(): Promise<string>;
  close(): Promise<void>;
}

/**
 * nginx from deploy/nginx/cluster.conf.template in front of `upstreams` (host:port), on a free loopback port.
 * Needs Debian's nginx + libnginx-mod-http-js (.ci/run installs them); throws, never skips, when missing.
 */
export async function startNginxCluster(upstreams: string[], failTimeoutS = 5): Promise<NginxCluster> {
  const workDir = await mkdtemp(join(tmpdir(), 'nginx-cluster-'));
  const port = await freePort();
  const conf = await writeClusterConf({ workDir, listen: `127.0.0.1:${port}`, upstreams, failTimeoutS });
  const proc: ChildProcess = spawn(NGINX, ['-c', conf, '-p', workDir, '-e', join(workDir, 'error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const errorLog = () => readFile(join(workDir, 'error.log'), 'utf8').catch(() => '');
  const deadline = Date.now() + 10_000;
  // Ready when it answers at all (any status: the upstreams may be down on purpose).
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`nginx exited: ${stderr}${await errorLog()}`);
    const ok = await fetch(`http://127.0.0.1:${port}/nginx-ready-probe`).then(
      () => true,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`nginx did not start: ${stderr}${await errorLog()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    workDir,
    errorLog,
    async close() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      await rm(workDir, { recursive: true, force: true });
    },
  };
}
