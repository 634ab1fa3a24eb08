import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { signCoreToken } from '../../src/simulator/core-token.js';
import { freePort } from '../support/cloud.js';
import { ensureBuilt, ROOT } from '../faults/support.js';

const SECRET = 'cluster-cli-test-secret-0123456789abcdef';

/** Every process below `pid` (children, grandchildren…), read from /proc: pid → command name. */
function descendants(pid: number): Map<number, string> {
  const parentOf = new Map<number, number>();
  const names = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces, so read around the last ')'.
      const close = stat.lastIndexOf(')');
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      parentOf.set(Number(entry), ppid);
      names.set(Number(entry), stat.slice(stat.indexOf('(') + 1, close));
    } catch {
      /* gone meanwhile */
    }
  }
  const out = new Map<number, string>();
  let frontier = [pid];
  while (frontier.length > 0) {
    const next: number[] = [];
    for (const [child, parent] of parentOf) if (frontier.includes(parent) && !out.has(child)) next.push(child);
    for (const c of next) out.set(c, names.get(c)!);
    frontier = next;
  }
  return out;
}

/** Alive and not a zombie. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('npm run cluster', () => {
  beforeAll(() => ensureBuilt(), 180_000);

  it('--nodes 2 starts Redis, nginx and two processes behind one printed address; SIGINT stops every one of them', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['scripts/cluster.mjs', '--nodes', '2', '--port', String(port)], {
      cwd: ROOT,
      // A secret set by the caller is used by every process (here: so the test can sign a core token).
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', AUGMENTOS_AUTH_JWT_SECRET: SECRET },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
      child.once('exit', (code, signal) => r({ code, signal })),
    );
    let pids = new Map<number, string>();
    try {
      const deadline = Date.now() + 90_000;
      while (!/Ctrl-C stops everything/.test(out)) {
        if (child.exitCode !== null) throw new Error(`the script exited:\n${out}`);
        if (Date.now() > deadline) throw new Error(`no address printed:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const address = /processes behind (http:\/\/\S+)/.exec(out)![1]!;
      expect(address).toBe(`http://127.0.0.1:${port}`);
      const adminKey = /admin API key: (\S+)/.exec(out)![1]!;
      const workDir = /AOF in (\S+)\/redis\)/.exec(out)![1]!;
      expect(existsSync(workDir)).toBe(true);

      for (let i = 0; i < 4; i++) {
        const health = await fetch(`${address}/health`);
        expect(health.status).toBe(200);
        expect(((await health.json()) as { status: string }).status).toBe('ok');
        // Round-robin reaches both processes: both take the one admin key generated for the cluster.
        const admin = await fetch(`${address}/api/admin/sessions`, {
          headers: { authorization: `Bearer ${adminKey}` },
        });
        expect(admin.status).toBe(200);
      }

      // A glasses socket through nginx reaches a process and is accepted (upgrade headers and token pass through).
      const ws = new WebSocket(`${address.replace(/^http/, 'ws')}/glasses-ws`, {
        headers: { authorization: `Bearer ${signCoreToken('cli@example.com', SECRET)}` },
      });
      const first = await new Promise<{ type: string }>((resolve, reject) => {
        ws.once('message', (d) => resolve(JSON.parse(d.toString()) as { type: string }));
        ws.once('error', reject);
      });
      expect(first.type).toBe('connection_ack');
      ws.close();

      pids = descendants(child.pid!);
      const names = [...pids.values()];
      expect(names.filter((n) => n === 'redis-server')).toHaveLength(1);
      expect(names.filter((n) => n === 'node')).toHaveLength(2);
      expect(names.filter((n) => n === 'nginx').length).toBeGreaterThanOrEqual(2); // master + worker(s)

      child.kill('SIGINT');
      const { code } = await exited;
      expect(code, out).toBe(0);
      expect(out).toMatch(/cluster stopped/);
      const left = [...pids].filter(([pid]) => running(pid));
      expect(left, 'processes left running').toEqual([]);
      expect(existsSync(workDir)).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      for (const pid of pids.keys()) if (running(pid)) process.kill(pid, 'SIGKILL');
    }
  }, 150_000);
});
