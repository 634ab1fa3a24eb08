import type { Server } from 'node:http';
import { AppServer, logger as sdkLogger, type AppSession, type ToolCall } from '@mentra/sdk';

// The SDK logs at debug through pino-pretty; keep test output readable.
sdkLogger.level = 'error';

export interface SdkAppHandle {
  server: AppServer;
  url: string;
  sessions: AppSession[];
  stops: Array<{ sessionId: string; userId: string; reason: string }>;
  close(): Promise<void>;
}

export type OnSession = (session: AppSession, sessionId: string, userId: string) => void | Promise<void>;

/** Optional overrides of other AppServer hooks. */
export interface SdkAppHooks {
  onToolCall?: (toolCall: ToolCall) => Promise<string | undefined>;
}

/**
 * A real, unmodified @mentra/sdk AppServer on a loopback port. `start()` is not used: it cannot be
 * closed (and `stop()` exits the process), so the SDK's own Express app is served here instead.
 */
export async function startSdkApp(
  packageName: string,
  apiKey: string,
  onSession: OnSession,
  hooks: SdkAppHooks = {},
): Promise<SdkAppHandle> {
  const sessions: AppSession[] = [];
  const stops: SdkAppHandle['stops'] = [];
  class TestApp extends AppServer {
    protected override async onSession(session: AppSession, sessionId: string, userId: string): Promise<void> {
      sessions.push(session);
      await onSession(session, sessionId, userId);
    }
    protected override async onStop(sessionId: string, userId: string, reason: string): Promise<void> {
      stops.push({ sessionId, userId, reason });
      await super.onStop(sessionId, userId, reason);
    }
    protected override async onToolCall(toolCall: ToolCall): Promise<string | undefined> {
      return hooks.onToolCall ? hooks.onToolCall(toolCall) : super.onToolCall(toolCall);
    }
  }
  const server = new TestApp({ packageName, apiKey, port: 0, healthCheck: true });
  const http: Server = await new Promise((resolve) => {
    const s = server.getExpressApp().listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = http.address() as { port: number };
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    sessions,
    stops,
    async close() {
      for (const s of sessions) {
        try {
          void s.disconnect();
        } catch {
          /* already gone */
        }
      }
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** What serveSdkApp needs of a cloud: the in-process TestCloud and the fault suite's spawned Service both have it. */
export interface AppRegistrar {
  registerApp(app: { packageName: string; publicUrl: string }, installFor?: string[]): Promise<string>;
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body?: unknown }>;
}

/**
 * Registers `registration` (installed for `users`) with a placeholder URL, since the SDK app needs its key before
 * it can listen; serves it from a real AppServer (startSdkApp) and points the registration at it.
 */
export async function serveSdkApp(
  cloud: AppRegistrar,
  registration: { packageName: string } & Record<string, unknown>,
  users: string[],
  onSession: OnSession,
  hooks: SdkAppHooks = {},
): Promise<{ app: SdkAppHandle; apiKey: string }> {
  const { packageName } = registration;
  const apiKey = await cloud.registerApp({ publicUrl: 'http://127.0.0.1:9', ...registration }, users);
  const app = await startSdkApp(packageName, apiKey, onSession, hooks);
  const patched = await cloud.admin('PATCH', `/api/admin/apps/${packageName}`, { publicUrl: app.url });
  if (patched.status !== 200) {
    await app.close();
    throw new Error(`PATCH publicUrl of ${packageName}: ${patched.status} ${JSON.stringify(patched.body)}`);
  }
  return { app, apiKey };
}

/** Polls until `check` returns truthy (or throws its last error after `timeoutMs`). */
export async function eventually<T>(
  check: () => T | Promise<T>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
