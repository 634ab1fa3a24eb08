import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
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
  /**
   * Rewrites the config for `upstreams` and runs `nginx -s reload`, as an operator adding or removing a process
   * does; resolves once every worker of the old configuration has stopped accepting (it keeps the sockets it
   * proxies until they close, so established users stay where they are).
   */
  reload(upstreams: string[]): Promise<void>;
  close(): Promise<void>;
}

const execFileP = promisify(execFile);

/** The master's worker pids with their titles (`nginx: worker process`, `… is shutting down`). */
async function workers(masterPid: number): Promise<Map<number, string>> {
  const children = await readFile(`/proc/${masterPid}/task/${masterPid}/children`, 'utf8').catch(() => '');
  const out = new Map<number, string>();
  for (const pid of children.split(/\s+/).filter(Boolean).map(Number)) {
    const title = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => null);
    if (title !== null) out.set(pid, title.replaceAll('\0', ' ').trim());
  }
  return out;
}

/**
 * nginx from deploy/nginx/cluster.conf.template in front of `upstreams` (host:port), on a free loopback port.
 * Needs Debian's nginx + libnginx-mod-http-js (.ci/run installs them); throws, never skips, when missing.
 */
export async function startNginxCluster(upstreams: string[], failTimeoutS = 5): Promise<NginxCluster> {
  const workDir = await mkdtemp(join(tmpdir(), 'nginx-cluster-'));
  const port = await freePort();
  const listen = `127.0.0.1:${port}`;
  const conf = await writeClusterConf({ workDir, listen, upstreams, failTimeoutS });
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
    async reload(next) {
      const masterPid = proc.pid!;
      const before = await workers(masterPid);
      await writeClusterConf({ workDir, listen, upstreams: next, failTimeoutS });
      await execFileP(NGINX, ['-s', 'reload', '-c', conf, '-p', workDir, '-e', join(workDir, 'error.log')]);
      const deadline = Date.now() + 10_000;
      for (;;) {
        const now = await workers(masterPid);
        const fresh = [...now.keys()].filter((pid) => !before.has(pid));
        // An old worker retitles itself just before it closes its listening sockets.
        const oldAccepting = [...before.keys()].filter((pid) => now.get(pid)?.endsWith('worker process'));
        if (fresh.length > 0 && oldAccepting.length === 0) break;
        if (proc.exitCode !== null) throw new Error(`nginx exited during the reload: ${stderr}${await errorLog()}`);
        if (Date.now() > deadline)
          throw new Error(`nginx did not reload: workers ${JSON.stringify([...now])}; ${await errorLog()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      // The old workers' listening sockets close right after their retitle.
      await new Promise((r) => setTimeout(r, 100));
    },
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
