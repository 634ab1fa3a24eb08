import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type TestCloud } from '../support/cloud.js';
import { startRawApp, type RawApp } from '../support/raw-app.js';
import { RawClient } from '../support/raw-ws.js';
import { eventually } from '../support/sdk-app.js';

const USER = 'user@redirects.test';
const PKG = 'com.redirects.app';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Every call the cloud makes to an app's server stays on that server: an app answering with a redirect (307 keeps
 * the method and the body) cannot make the cloud POST to an address of the app's choosing, e.g. inside the cloud's
 * own network. The trap is such an address; it must never be called.
 */
describe('no outgoing call to an app follows a redirect', () => {
  let cloud: TestCloud;
  let trap: Server;
  let trapUrl = '';
  const trapped: string[] = [];
  let app: RawApp;
  let glasses: RawClient;

  beforeAll(async () => {
    trap = createServer((req, res) => {
      trapped.push(`${req.method} ${req.url}`);
      req.resume();
      res.end('{}');
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', () => r()));
    trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
    cloud = await startCloud();
    // Accepts the session, then redirects everything else it is sent (photo error reports, settings) to the trap.
    app = await startRawApp(PKG, (body) =>
      body.type === 'session_request' ? {} : { status: 307, headers: { location: `${trapUrl}/internal/admin` } },
    );
    app.apiKey = await cloud.registerApp(
      {
        packageName: PKG,
        publicUrl: app.url,
        permissions: [{ type: 'CAMERA' }],
        settings: [{ type: 'toggle', key: 'enabled', label: 'Enabled', defaultValue: true }],
      },
      [USER],
    );
    glasses = await RawClient.open(`${cloud.url.replace(/^http/, 'ws')}/glasses-ws`, {
      authorization: `Bearer ${cloud.token(USER)}`,
    });
    await glasses.next((m) => m.type === 'connection_ack');
    expect((await cloud.admin('POST', `/api/admin/sessions/${USER}/apps/${PKG}/start`)).status).toBe(201);
    await app.sockets.at(-1)!.next((m) => m.type === 'tpa_connection_ack');
  });
  afterAll(async () => {
    glasses?.close();
    await app?.close();
    await cloud?.close();
    trap?.closeAllConnections();
    await new Promise((r) => trap?.close(r));
  });

  it("the photo error report to the app's /photo-upload does not follow the app's redirect", async () => {
    const before = app.webhooks.length;
    const t = trapped.length;
    app.sockets.at(-1)!.send({ type: 'photo_request', packageName: PKG, requestId: 'redirect-photo-1' });
    await glasses.next((m) => m.type === 'photo_request' && m.requestId === 'redirect-photo-1');
    glasses.send({
      type: 'photo_response',
      requestId: 'redirect-photo-1',
      success: false,
      error: { code: 'CAMERA_BUSY', message: 'busy' },
    });
    const report = await eventually(
      () => app.webhooks.slice(before).find((b) => b.type === 'photo_error'),
      3000,
      'the photo error report reached the app',
    );
    expect(report).toMatchObject({ requestId: 'redirect-photo-1', errorCode: 'CAMERA_BUSY' });
    await sleep(300);
    expect(trapped.slice(t)).toEqual([]);
  });

  it("the settings notifier's POST to the app's /settings does not follow the app's redirect", async () => {
    const before = app.webhooks.length;
    const t = trapped.length;
    const res = await fetch(`${cloud.url}/appsettings/${PKG}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cloud.token(USER)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ settings: [{ key: 'enabled', value: false }] }),
    });
    expect(res.status).toBe(200);
    await eventually(
      () => app.webhooks.slice(before).some((b) => b.userIdForSettings === USER),
      3000,
      'the settings reached the app',
    );
    await sleep(300);
    expect(trapped.slice(t)).toEqual([]);
  });

  it('the session webhook does not follow a redirect: the start fails at WEBHOOK with the status', async () => {
    const other = await startRawApp('com.redirects.webhook', () => ({
      status: 307,
      headers: { location: `${trapUrl}/internal/webhook` },
    }));
    const t = trapped.length;
    try {
      other.apiKey = await cloud.registerApp({ packageName: 'com.redirects.webhook', publicUrl: other.url }, [USER]);
      const start = await cloud.admin('POST', `/api/admin/sessions/${USER}/apps/com.redirects.webhook/start`);
      expect(start.status).toBeGreaterThanOrEqual(400);
      expect(JSON.stringify(start.body)).toMatch(/WEBHOOK/);
      expect(JSON.stringify(start.body)).toMatch(/307/);
      expect(other.webhooks.length).toBeGreaterThanOrEqual(1);
      await sleep(200);
      expect(trapped.slice(t)).toEqual([]);
    } finally {
      await other.close();
    }
  });
});
