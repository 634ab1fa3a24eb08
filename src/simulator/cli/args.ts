import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveModel, type DeviceModel } from '../device-models.js';
import { STEP_SYNTAX } from './script.js';

/** Bad command-line input: the CLI prints the message and the usage, and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface CliOptions {
  userId: string;
  model: DeviceModel;
  /** Apps to install and start, in order (`--app` may be repeated). */
  apps: string[];
  scriptPath: string | null;
  cloudUrl: string;
  adminKey: string;
  adminKeySource: string;
  /** Connect timeout and the longest an app start is waited for. */
  timeoutMs: number;
  /** Leave the app running and the session open when the script ends (default: stop what we started). */
  keep: boolean;
  help: false;
}

export const EXIT = {
  OK: 0,
  /** A script step failed. */
  STEP_FAILED: 1,
  /** Bad input: arguments, script, audio file, model name. */
  BAD_INPUT: 2,
  /** The cloud side: unreachable, bad admin key, unknown app, app start failed, socket refused. */
  SETUP_FAILED: 3,
} as const;

export const USAGE = `Usage: npm run sim -- --user EMAIL [options]

Simulated MentraOS glasses against this cloud: finds or creates the user, installs and starts
the app, connects as the glasses, then runs a script or shows the display in the terminal.

Options:
  --user EMAIL        user id (created if needed)                         (required)
  --model NAME        glasses model or alias: g1, g2, live, display, z100, sim, nimo  (default g1)
  --app PACKAGE       app to install and start; repeat for several
  --script FILE       YAML steps to run; exit 0 when all pass, 1 at the first failure
  --cloud URL         cloud base URL              (default http://127.0.0.1:$PORT, PORT default 8002)
  --admin-key KEY     admin API key (default: $ADMIN_API_KEY, else <DATA_DIR or ./data>/secrets.json)
  --timeout MS        connect / app start timeout (default 30000)
  --keep              leave the app running when the script ends
  -h, --help          this text

Script steps (a YAML list, one key per step):
${Object.values(STEP_SYNTAX)
  .map((s) => `  - ${s}`)
  .join('\n')}

Interactive keys: b short press, B long press, u head up, d head down, s say (transcript),
  t speak (synthesized audio), r reconnect, q quit.

Exit codes: 0 passed, 1 a step failed, 2 bad input (arguments, script, audio file, model),
  3 cloud problem (unreachable, bad admin key, unknown app, app start failed).`;

/** Parses argv (without node and the script path) and the environment; throws UsageError. */
export function parseCliArgs(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
  readSecrets: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): CliOptions | { help: true } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        user: { type: 'string' },
        model: { type: 'string' },
        app: { type: 'string', multiple: true },
        script: { type: 'string' },
        cloud: { type: 'string' },
        'admin-key': { type: 'string' },
        timeout: { type: 'string' },
        keep: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  const v = parsed.values;
  if (v.help) return { help: true };
  const userId = v.user?.trim();
  if (!userId) throw new UsageError('--user EMAIL is required');
  if (/[\s/\\$]/.test(userId) || userId.length > 320)
    throw new UsageError(`--user ${JSON.stringify(userId)} is not a valid user id (an email, no spaces, slashes or $)`);
  let model: DeviceModel;
  try {
    model = resolveModel(v.model ?? 'g1');
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const apps = (v.app ?? []).map((a) => a.trim());
  for (const a of apps) {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}$/.test(a))
      throw new UsageError(`--app ${JSON.stringify(a)} is not a valid package name`);
  }
  const cloudUrl = normalizeCloudUrl(v.cloud ?? `http://127.0.0.1:${env.PORT?.trim() || '8002'}`);
  let timeoutMs = 30_000;
  if (v.timeout !== undefined) {
    timeoutMs = Number(v.timeout);
    if (!Number.isInteger(timeoutMs) || timeoutMs < 100)
      throw new UsageError(`--timeout must be a whole number of milliseconds ≥ 100, got ${JSON.stringify(v.timeout)}`);
  }
  const key = resolveAdminKey({ flag: v['admin-key'], env, readSecrets });
  return {
    userId,
    model,
    apps,
    scriptPath: v.script ? resolve(v.script) : null,
    cloudUrl,
    adminKey: key.key,
    adminKeySource: key.source,
    timeoutMs,
    keep: v.keep ?? false,
    help: false,
  };
}

export function normalizeCloudUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new UsageError(`--cloud ${JSON.stringify(raw)} is not a URL (e.g. http://127.0.0.1:8002)`);
  }
  if (url.protocol === 'ws:') url.protocol = 'http:';
  if (url.protocol === 'wss:') url.protocol = 'https:';
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--cloud must be an http(s) URL, got ${JSON.stringify(raw)}`);
  if (url.search || url.hash) throw new UsageError('--cloud must not have a query or fragment');
  return url.toString().replace(/\/+$/, '');
}

/**
 * The admin key, in order: `--admin-key`, `ADMIN_API_KEY`, then `adminApiKey` of
 * `<DATA_DIR or ./data>/secrets.json` (what a bare `npm start` generates and prints).
 */
export function resolveAdminKey(input: {
  flag?: string;
  env: Record<string, string | undefined>;
  readSecrets?: (path: string) => string;
}): { key: string; source: string } {
  if (input.flag !== undefined) {
    if (!input.flag.trim()) throw new UsageError('--admin-key is empty');
    return { key: input.flag.trim(), source: '--admin-key' };
  }
  const fromEnv = input.env.ADMIN_API_KEY?.trim();
  if (fromEnv) return { key: fromEnv, source: 'ADMIN_API_KEY' };
  const path = join(resolve(input.env.DATA_DIR?.trim() || './data'), 'secrets.json');
  let text: string;
  try {
    text = (input.readSecrets ?? ((p) => readFileSync(p, 'utf8')))(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      `No admin API key: pass --admin-key KEY, set ADMIN_API_KEY, or run where the cloud keeps its data (${path}: ${code === 'ENOENT' ? 'not found' : (err as Error).message})`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`${path} is not JSON; pass --admin-key KEY or set ADMIN_API_KEY`);
  }
  const key = (parsed as { adminApiKey?: unknown } | null)?.adminApiKey;
  if (typeof key !== 'string' || !key.trim())
    throw new UsageError(`${path} has no adminApiKey; pass --admin-key KEY or set ADMIN_API_KEY`);
  return { key: key.trim(), source: path };
}
