import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedGlasses } from '../../src/simulator/index.js';
import { startSdkAppOn, type SdkAppRecord } from './apps.js';
import { ensureBuilt, LONG, report, sleep, spawnService, until, type Service } from './support.js';

/**
 * Fault case 7 — graceful shutdown: SIGTERM → glasses and apps get a close frame with 1012 (Service Restart:
 * reconnect), not 1006; nothing is removed from the users' persisted running apps; the process exits within
 * SHUTDOWN_DRAIN_MS; a restart on the same DATA_DIR starts each user's apps again when the glasses reconnect.
 */
const PKG = 'com.faults.shutdown';
const USERS = LONG
  ? ['s1@faults.test', 's2@faults.test', 's3@faults.test', 's4@faults.test', 's5@faults.test']
  : ['s1@faults.test', 's2@faults.test', 's3@faults.test'];
const DRAIN_MS = LONG ? 10_000 : 5_000;

describe('fault 7: graceful shutdown and restart on the same data', () => {
  let svc: Service;
  let restarted: Service | null = null;
  let app: SdkAppRecord;
  const presses = new Map<string, string[]>();
  const glasses = new Map<string, SimulatedGlasses>();

  beforeAll(async () => {
    await ensureBuilt();
    svc = await spawnService({
      env: { SHUTDOWN_DRAIN_MS: String(DRAIN_MS), GLASSES_GRACE_MS: '60000', APP_GRACE_MS: '1000' },
      keepDataDir: true,
    });
    app = await startSdkAppOn(svc, PKG, USERS, (session, userId) => {
      session.events.onButtonPress((p) => {
        const list = presses.get(userId) ?? [];
        list.push(p.buttonId);
        presses.set(userId, list);
      });
    });
  }, 180_000);

  afterAll(async () => {
    for (const g of glasses.values()) await g.disconnect().catch(() => undefined);
    await app?.handle.close();
    await restarted?.close();
    await svc?.close();
  });

  it('SIGTERM closes every socket with 1012, keeps the running apps, exits within the drain time; after a restart the apps start again', async () => {
    for (const userId of USERS) {
      const g = new SimulatedGlasses({ cloudUrl: svc.url, token: svc.token(userId) });
      glasses.set(userId, g);
      await g.connect();
      g.startApp(PKG);
    }
    for (const userId of USERS) {
      await until(
        async () => (await svc.admin('GET', `/api/admin/sessions/${userId}`)).body?.runningApps?.includes(PKG),
        10_000,
        `${PKG} running for ${userId}`,
      );
      await until(() => app.webhooks.some((w) => w.userId === userId), 10_000, `SDK session of ${userId}`);
      // The handler is wired once onSession ran; a press proves the path end to end.
      await until(
        () => {
          glasses.get(userId)!.pressButton('short', 'before');
          return presses.get(userId)?.includes('before');
        },
        5_000,
        `press of ${userId}`,
        300,
      );
    }
    const glassesCloses = new Map<string, { code: number; reason: string }>();
    for (const [userId, g] of glasses) g.once('close', (info) => glassesCloses.set(userId, info));
    const webhooksBefore = app.webhooks.length;

    // Upgrades attempted while the process drains must be refused (503), never accepted.
    const upgradeOutcomes: string[] = [];
    const t0 = Date.now();
    svc.child.kill('SIGTERM');
    const probing = (async () => {
      while (svc.alive && Date.now() - t0 < DRAIN_MS + 2000) {
        upgradeOutcomes.push(
          await new Promise<string>((resolve) => {
            const ws = new WebSocket(`${svc.wsUrl}/glasses-ws`, {
              headers: { authorization: `Bearer ${svc.token('late@faults.test')}` },
            });
            // One that got in just before the signal was handled must still be closed with 1012.
            ws.once('open', () => ws.once('close', (code) => resolve(`accepted-then-${code}`)));
            ws.once('unexpected-response', (_req, res) => {
              resolve(`http-${res.statusCode}`);
              ws.terminate();
            });
            ws.once('error', () => resolve('refused'));
          }),
        );
        await sleep(20);
      }
    })();
    const exit = await svc.exited;
    const exitMs = exit.at - t0;
    await probing;
    await until(() => glassesCloses.size === USERS.length, 2000, 'every glasses close');
    await until(
      () => USERS.every((u) => app.disconnects.some((d) => d.userId === u)),
      3000,
      'every SDK session disconnected',
    );

    const glassesCodes = [...glassesCloses.values()].map((c) => c.code);
    const appCodes = USERS.map((u) => app.disconnects.find((d) => d.userId === u)!.code);
    expect(glassesCodes).toEqual(USERS.map(() => 1012));
    expect(appCodes).toEqual(USERS.map(() => 1012));
    expect(app.handle.stops, 'the SDK must not see the session end (onStop)').toEqual([]);
    expect(exitMs).toBeLessThanOrEqual(DRAIN_MS);
    expect(upgradeOutcomes.filter((o) => o.startsWith('accepted') && o !== 'accepted-then-1012')).toEqual([]);

    // Same port, keys and DATA_DIR: the apps are still persisted as running.
    restarted = await spawnService({
      port: svc.port,
      dataDir: svc.dataDir,
      adminKey: svc.adminKey,
      jwtSecret: svc.jwtSecret,
      env: { SHUTDOWN_DRAIN_MS: String(DRAIN_MS), GLASSES_GRACE_MS: '60000', APP_GRACE_MS: '1000' },
    });
    for (const userId of USERS)
      expect((await restarted.admin('GET', `/api/admin/users/${userId}`)).body.runningApps, userId).toEqual([PKG]);
    const restartAt = Date.now();
    for (const [, g] of glasses) await g.reconnect();
    for (const userId of USERS) {
      await until(
        async () => (await restarted!.admin('GET', `/api/admin/sessions/${userId}`)).body?.runningApps?.includes(PKG),
        15_000,
        `${PKG} running again for ${userId}`,
      );
      await until(
        () => {
          glasses.get(userId)!.pressButton('short', 'after-restart');
          return presses.get(userId)?.includes('after-restart');
        },
        8_000,
        `press after restart of ${userId}`,
        300,
      );
    }
    const restartedInMs = Date.now() - restartAt;
    const newWebhooks = app.webhooks.length - webhooksBefore;
    expect(newWebhooks).toBeGreaterThanOrEqual(USERS.length);
    expect(restarted.alive).toBe(true);
    report('7 graceful shutdown', {
      users: USERS.length,
      drainMs: DRAIN_MS,
      exitMs,
      exit: exit.signal ?? exit.code,
      glassesClose: [...new Set(glassesCodes)].join('/'),
      appClose: [...new Set(appCodes)].join('/'),
      upgradesDuringShutdown: upgradeOutcomes.join(','),
      upgradesRefused: upgradeOutcomes.filter((o) => !o.startsWith('accepted')).length,
      appsRunningAgainMs: restartedInMs,
      newWebhooks,
    });
  }, 120_000);
});
