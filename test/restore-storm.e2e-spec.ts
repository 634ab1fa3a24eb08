import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SimulatedGlasses } from '../src/simulator/index.js';
import { connectGlasses, freePort, startCloud, type TestCloud } from './support/cloud.js';
import { eventually, serveSdkApp, type SdkAppHandle } from './support/sdk-app.js';

const PKG = 'com.example.storm';
const USERS = Array.from({ length: 300 }, (_, i) => `storm-${i}@example.com`);
/** Set-up starts per batch: under the lowered per-address limit whatever the start path does. */
const SETUP_BATCH = 8;

/**
 * A restart with many users whose running app is served by ONE real SDK AppServer (one client address to the cloud):
 * every session restores its app by webhook at once. The per-address limit of uninitialised app sockets is lowered
 * to 16 and the init time to 1 s, so asking the app server for all sessions together gets its sockets refused (429)
 * and its inits timed out; every app must run again all the same, and stay in the users' running apps.
 */
describe('restore storm: a restart with 300 users on one app server loses no app', () => {
  const cleanups: Array<() => unknown> = [];
  let app: SdkAppHandle | undefined;
  let dataDir = '';
  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await app?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('after the restart every user has the app running again and in the stored running apps', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mentra-storm-'));
    const env = {
      PORT: String(await freePort()),
      DATA_DIR: dataDir,
      APP_WS_PENDING_PER_ADDRESS: '16',
      APP_INIT_TIMEOUT_MS: '1000',
      // The same secrets after the restart, so the glasses' tokens still open their sessions.
      AUGMENTOS_AUTH_JWT_SECRET: randomBytes(24).toString('hex'),
      ADMIN_API_KEY: randomBytes(24).toString('hex'),
    };
    const first = await startCloud(env);
    let firstOpen = true;
    cleanups.push(() => firstOpen && first.close());
    ({ app } = await serveSdkApp(first, { packageName: PKG }, USERS, (session) => {
      session.events.onButtonPress(() => undefined);
    }));

    const glasses = new Map<string, SimulatedGlasses>();
    for (let i = 0; i < USERS.length; i += SETUP_BATCH) {
      const batch = USERS.slice(i, i + SETUP_BATCH);
      await Promise.all(
        batch.map(async (userId) => {
          const { glasses: g } = await connectGlasses(first, userId, cleanups);
          glasses.set(userId, g);
          g.startApp(PKG);
          await eventually(() => isRunning(first, userId), 10_000, `${userId} running before the restart`);
        }),
      );
    }

    // The restart: shutdown keeps the running apps in the store; the same port and data come back.
    firstOpen = false;
    await first.app.close();
    const second = await startCloud(env);
    cleanups.push(() => second.close());
    await Promise.all([...glasses.values()].map((g) => g.reconnect()));

    const running = () => USERS.filter((u) => isRunning(second, u)).length;
    await eventually(() => running() === USERS.length, 60_000, 'every app running again').catch((err) => {
      throw new Error(`${(err as Error).message}: ${running()} of ${USERS.length} running`);
    });
    for (const userId of USERS) {
      const stored = await second.admin('GET', `/api/admin/users/${encodeURIComponent(userId)}`);
      expect(stored.body.runningApps, userId).toEqual([PKG]);
    }
  }, 240_000);
});

function isRunning(cloud: TestCloud, userId: string): boolean {
  return (
    cloud.registry
      .get(userId)
      ?.apps.describe()
      .some((a) => a.packageName === PKG && a.state === 'running') ?? false
  );
}
