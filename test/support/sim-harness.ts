import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AppSession } from '@mentra/sdk';
import type { TestCloud } from './cloud.js';
import { exampleOnSession, newExampleStats, type ExampleStats } from './example-app.js';
import { serveSdkApp, type SdkAppHandle } from './sdk-app.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ExampleAppHandle {
  app: SdkAppHandle;
  stats: ExampleStats;
  apiKey: string;
}

/**
 * Registers the example app (button → display, transcription → display, audio counted), runs it as a
 * real @mentra/sdk AppServer and points the registration at it. Installed for `users`.
 */
export async function startExampleApp(
  cloud: TestCloud,
  packageName: string,
  users: string[],
  opts: { audio?: boolean; onSession?: (s: AppSession) => void; extra?: Record<string, unknown> } = {},
): Promise<ExampleAppHandle> {
  const stats = newExampleStats();
  const { app, apiKey } = await serveSdkApp(
    cloud,
    { packageName, appType: 'standard', permissions: [{ type: 'MICROPHONE' }], ...opts.extra },
    users,
    (session) => {
      exampleOnSession(session, stats, { audio: opts.audio });
      opts.onSession?.(session);
    },
  );
  return { app, stats, apiKey };
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface CliSession {
  /** Writes to the CLI's stdin (keys in interactive mode). */
  type(text: string): void;
  /** Resolves when stdout (so far) matches. */
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<void>;
}

/**
 * Runs the simulator CLI exactly as `npm run sim` does (node --import tsx …/bin.ts), as a child
 * process. With `interact`, stdin is a pipe the callback types into (interactive mode).
 */
export function runSimCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  timeoutMs = 90_000,
  interact?: (cli: CliSession) => Promise<void>,
): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const childEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) childEnv[k] = v;
    // The child must not inherit the test's own key or data dir unless a test sets them.
    if (!('ADMIN_API_KEY' in env)) delete childEnv.ADMIN_API_KEY;
    if (!('DATA_DIR' in env)) delete childEnv.DATA_DIR;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/simulator/cli/bin.ts', ...args], {
      cwd: REPO_ROOT,
      env: childEnv,
      stdio: [interact ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const watchers = new Set<() => void>();
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
      for (const w of [...watchers]) w();
    });
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    if (interact) {
      const session: CliSession = {
        type: (text) => child.stdin!.write(text),
        waitForOutput: (re, ms = 15_000) =>
          new Promise<void>((res, rej) => {
            const check = (): void => {
              if (!re.test(stdout)) return;
              watchers.delete(check);
              clearTimeout(t);
              res();
            };
            const t = setTimeout(() => {
              watchers.delete(check);
              rej(new Error(`CLI output never matched ${re} within ${ms} ms:\n${stdout}\n${stderr}`));
            }, ms);
            watchers.add(check);
            check();
          }),
      };
      interact(session).catch((err: unknown) => {
        child.kill('SIGKILL');
        reject(err instanceof Error ? err : new Error(String(err)));
      });
    }
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the CLI did not exit within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}
