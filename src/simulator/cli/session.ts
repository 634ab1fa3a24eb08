import { SimulatedGlasses, UpgradeRefusedError } from '../simulated-glasses.js';
import { AdminClient, SetupError, UnknownAppError } from './admin-client.js';
import type { CliOptions } from './args.js';

export interface SimSession {
  opts: CliOptions;
  admin: AdminClient;
  glasses: SimulatedGlasses;
  /** Apps this run started (stopped again at the end unless --keep). */
  started: string[];
}

export type Out = (line: string) => void;

/**
 * What the CLI does before the first step: checks the cloud and the admin key,
 * finds or creates the user, installs the apps, connects as the glasses, starts the apps and
 * waits until each has subscribed to something (so a first `press` is not lost).
 */
export async function bringUp(opts: CliOptions, out: Out): Promise<SimSession> {
  const admin = new AdminClient(opts.cloudUrl, opts.adminKey, opts.adminKeySource);
  const registered = await admin.listApps(); // proves the cloud is there and the admin key is right
  for (const app of opts.apps) {
    if (!registered.some((a) => a.packageName === app)) {
      throw new UnknownAppError(
        app,
        registered.map((a) => a.packageName),
      );
    }
  }
  const token = await admin.coreToken(opts.userId);
  for (const app of opts.apps) await admin.install(opts.userId, app);

  const glasses = new SimulatedGlasses({
    cloudUrl: opts.cloudUrl,
    token,
    model: opts.model.name,
    timeoutMs: Math.min(opts.timeoutMs, 15_000),
  });
  try {
    const ack = await glasses.connect();
    out(`connected as ${opts.model.name} for ${opts.userId} (session ${ack.sessionId})`);
  } catch (err) {
    if (err instanceof UpgradeRefusedError) {
      throw new SetupError(
        `The cloud refused the glasses socket: HTTP ${err.status} ${typeof err.body === 'string' ? err.body : JSON.stringify(err.body)}`,
        { cause: err },
      );
    }
    throw new SetupError(
      `Could not connect the glasses socket to ${opts.cloudUrl}/glasses-ws: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const session: SimSession = { opts, admin, glasses, started: [] };
  try {
    for (const app of opts.apps) await startApp(session, app, out);
  } catch (err) {
    await glasses.disconnect().catch(() => undefined);
    throw err;
  }
  return session;
}

/** Starts an app through the admin API (failures carry the stage) and waits for its subscriptions. */
export async function startApp(session: SimSession, packageName: string, out: Out): Promise<void> {
  const { alreadyRunning } = await session.admin.start(session.opts.userId, packageName, session.opts.timeoutMs);
  if (!session.started.includes(packageName)) session.started.push(packageName);
  const subs = await waitForSubscriptions(session, packageName, 3000);
  out(
    `${packageName} ${alreadyRunning ? 'was already running' : 'started'}${subs.length ? `; subscribed to ${subs.join(', ')}` : '; no subscriptions yet'}`,
  );
}

export async function stopApp(session: SimSession, packageName: string): Promise<boolean> {
  const stopped = await session.admin.stop(session.opts.userId, packageName);
  session.started = session.started.filter((p) => p !== packageName);
  return stopped;
}

async function waitForSubscriptions(session: SimSession, packageName: string, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const summary = await session.admin.session(session.opts.userId);
    const subs = summary?.subscriptions?.[packageName] ?? [];
    if (subs.length > 0 || Date.now() > deadline) return subs;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Ends the run: stops what it started (unless --keep) and closes the socket. */
export async function tearDown(session: SimSession): Promise<void> {
  if (!session.opts.keep) {
    for (const app of [...session.started]) await stopApp(session, app).catch(() => undefined);
  }
  await session.glasses.disconnect().catch(() => undefined);
}
