import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppRegistrar } from './sdk-app.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(import.meta.url);

/** The Bun binary the npm package `@oven/bun-linux-x64` ships (a devDependency). */
export const BUN = join(dirname(require.resolve('@oven/bun-linux-x64/package.json')), 'bin', 'bun');

export interface Sdk3State {
  sessions: number;
  pongs: number;
  errors: string[];
  streamsDone: Array<{ streamId: string; bytes: number }>;
}

export interface Sdk3AppHandle {
  packageName: string;
  url: string;
  apiKey: string;
  child: ChildProcess;
  /** What the app saw (its GET /test/state). */
  state(): Promise<Sdk3State>;
  /** Opens an output stream in the app's current session and starts writing `file`; resolves once the cloud said ready. */
  stream(
    file: string,
    opts?: { chunkBytes?: number; intervalMs?: number },
  ): Promise<{ streamId: string; streamUrl: string }>;
  /** POSTs to one of the app's /test routes and returns its JSON answer. */
  call<T = any>(route: 'photo' | 'rtmp', body?: unknown): Promise<T>;
  output(): string;
  close(): Promise<void>;
}

/**
 * Registers `registration` (installed for `users`) and runs test/support/sdk3-app.ts under Bun as a child
 * process: a real @mentra/sdk 3.0.0-hono.8 app. The registration then points at it.
 */
export async function startSdk3App(
  cloud: AppRegistrar,
  registration: { packageName: string } & Record<string, unknown>,
  users: string[],
  env: Record<string, string> = {},
): Promise<Sdk3AppHandle> {
  const { packageName } = registration;
  const apiKey = await cloud.registerApp({ publicUrl: 'http://127.0.0.1:9', ...registration }, users);
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) childEnv[k] = v;
  Object.assign(childEnv, { PACKAGE_NAME: packageName, MENTRAOS_API_KEY: apiKey, MENTRA_LOG_LEVEL: 'error' }, env);
  const child = spawn(BUN, ['test/support/sdk3-app.ts'], {
    cwd: REPO_ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sdk3 app did not start within 30 s:\n${out}`)), 30_000);
    const check = (): void => {
      const m = /LISTENING (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sdk3 app exited with ${code}:\n${out}`));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const patched = await cloud.admin('PATCH', `/api/admin/apps/${packageName}`, { publicUrl: url });
  if (patched.status !== 200) {
    child.kill('SIGKILL');
    throw new Error(`PATCH publicUrl of ${packageName}: ${patched.status} ${JSON.stringify(patched.body)}`);
  }
  return {
    packageName,
    url,
    apiKey,
    child,
    output: () => out,
    async state() {
      return (await (await fetch(`${url}/test/state`)).json()) as Sdk3State;
    },
    async stream(file, opts = {}) {
      const res = await fetch(`${url}/test/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ file, ...opts }),
      });
      if (res.status !== 200) throw new Error(`stream: ${res.status} ${await res.text()}\n${out}`);
      return (await res.json()) as { streamId: string; streamUrl: string };
    },
    async call(route, body = {}) {
      const res = await fetch(`${url}/test/${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return (await res.json()) as never;
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      // The SDK traps SIGTERM to disconnect without exiting; a test app has nothing to keep.
      child.kill('SIGKILL');
      await exited;
    },
  };
}
