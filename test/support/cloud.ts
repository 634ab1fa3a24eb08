import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createApp } from '../../src/app.factory.js';
import type { AppConfig } from '../../src/config/config.types.js';
import { loadConfig } from '../../src/config/load-config.js';
import { SessionRegistry } from '../../src/session/session-registry.js';
import { signCoreToken } from '../../src/simulator/core-token.js';
import { SimulatedGlasses, type SimulatedGlassesOptions } from '../../src/simulator/index.js';

export interface TestCloud {
  url: string;
  config: AppConfig;
  app: NestExpressApplication;
  registry: SessionRegistry;
  /** Admin REST call; returns status and parsed JSON body. */
  admin<T = any>(method: string, path: string, body?: unknown, key?: string): Promise<{ status: number; body: T }>;
  token(userId: string): string;
  /** Registers an app, installs it for the user; returns the API key. */
  registerApp(
    app: {
      packageName: string;
      publicUrl: string;
      appType?: string;
      permissions?: { type: string }[];
      name?: string;
      hardwareRequirements?: unknown[];
      settings?: unknown[];
    },
    installFor?: string[],
  ): Promise<string>;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** The whole service on a loopback port with a temporary embedded store. */
export async function startCloud(env: Record<string, string> = {}): Promise<TestCloud> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mentra-cloud-'));
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const config = loadConfig({
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'error',
    AUGMENTOS_AUTH_JWT_SECRET: randomBytes(24).toString('hex'),
    ADMIN_API_KEY: randomBytes(24).toString('hex'),
    // Suites here make hundreds of deliberate auth failures from 127.0.0.1; the limiter has its own test (test/security).
    ADMIN_AUTH_FAILURES_PER_MINUTE: '0',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    WEBHOOK_RETRY_BASE_MS: '100',
    WEBHOOK_RETRY_WINDOW_MS: '3000',
    WEBHOOK_TIMEOUT_MS: '3000',
    ...env,
  });
  const app = await createApp(config);
  await app.listen(port, '127.0.0.1');
  const url = `http://127.0.0.1:${port}`;
  const admin: TestCloud['admin'] = async (method, path, body, key = config.adminApiKey) => {
    const res = await fetch(url + path, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as never };
  };
  return {
    url,
    config,
    app,
    registry: app.get(SessionRegistry),
    admin,
    token: (userId) => signCoreToken(userId, config.jwtSecret),
    async registerApp(def, installFor = []) {
      const res = await admin('POST', '/api/admin/apps', { name: def.packageName, appType: 'background', ...def });
      if (res.status !== 201) throw new Error(`register ${def.packageName}: ${res.status} ${JSON.stringify(res.body)}`);
      for (const userId of installFor) {
        const r = await admin('PUT', `/api/admin/users/${encodeURIComponent(userId)}/apps/${def.packageName}`);
        if (r.status !== 200) throw new Error(`install: ${r.status} ${JSON.stringify(r.body)}`);
      }
      return (res.body as { apiKey: string }).apiKey;
    },
    async close() {
      await app.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Simulated glasses of `userId`, connected (resolves on the ack) and disconnected by the caller's `cleanups`
 * after the test.
 */
export async function connectGlasses(
  cloud: Pick<TestCloud, 'url' | 'token'>,
  userId: string,
  cleanups: Array<() => unknown>,
  options: Partial<SimulatedGlassesOptions> = {},
): Promise<{ glasses: SimulatedGlasses; ack: Awaited<ReturnType<SimulatedGlasses['connect']>> }> {
  const glasses = new SimulatedGlasses({ cloudUrl: cloud.url, token: cloud.token(userId), ...options });
  cleanups.push(() => glasses.disconnect().catch(() => undefined));
  const ack = await glasses.connect();
  return { glasses, ack };
}
