import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signCoreToken } from '../../src/simulator/core-token.js';
import { SimulatedGlasses, UpgradeRefusedError } from '../../src/simulator/index.js';
import { startCloud, type TestCloud } from '../support/cloud.js';

const claims = (token: string): Record<string, any> =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));

/**
 * Core tokens expire (CORE_TOKEN_TTL_SECONDS), carry a version checked at the /glasses-ws upgrade, and can be
 * revoked (which closes the user's open glasses sockets with 4001 "token revoked"); simulator links hand out
 * tokens good for /glasses-ws only, for SIMULATOR_TOKEN_TTL_SECONDS.
 */
describe('core tokens expire, are versioned and revocable; simulator tokens are /glasses-ws only', () => {
  const secret = randomBytes(24).toString('hex');
  let dataDir: string;
  let cloud: TestCloud;
  const cleanups: Array<() => unknown> = [];
  const env = () => ({
    DATA_DIR: dataDir,
    AUGMENTOS_AUTH_JWT_SECRET: secret,
    CORE_TOKEN_TTL_SECONDS: '7200',
    SIMULATOR_TOKEN_TTL_SECONDS: '30',
  });

  const mint = async (userId: string): Promise<string> => {
    const res = await cloud.admin('POST', `/api/admin/users/${encodeURIComponent(userId)}/token`);
    expect(res.status).toBe(201);
    return res.body.coreToken;
  };
  const revoke = (userId: string) => cloud.admin('POST', `/api/admin/users/${encodeURIComponent(userId)}/token/revoke`);
  const glasses = async (token: string): Promise<SimulatedGlasses> => {
    const g = new SimulatedGlasses({ cloudUrl: cloud.url, token });
    cleanups.push(() => g.disconnect().catch(() => undefined));
    await g.connect();
    return g;
  };
  const refusedWith = async (token: string): Promise<{ status: number; message: string }> => {
    const g = new SimulatedGlasses({ cloudUrl: cloud.url, token });
    cleanups.push(() => g.disconnect().catch(() => undefined));
    const err = await g.connect().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UpgradeRefusedError);
    const { status, body } = err as UpgradeRefusedError;
    return { status, message: (body as { message: string }).message };
  };
  const webviewToken = (token: string) =>
    fetch(`${cloud.url}/api/auth/generate-webview-token`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ packageName: 'com.lifecycle.app' }),
    });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mentra-lifecycle-'));
    cloud = await startCloud(env());
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await cloud?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('an admin-minted token carries exp (CORE_TOKEN_TTL_SECONDS after iat) and a version', async () => {
    const before = Date.now();
    const token = await mint('exp@lifecycle.test');
    const c = claims(token);
    expect(c.exp - c.iat).toBe(7200);
    expect(c.tv).toBeGreaterThanOrEqual(before);
    expect(c.tv).toBeLessThanOrEqual(Date.now());
    await glasses(token);
  });

  it('a token whose exp has passed is refused at the upgrade', async () => {
    const now = Math.floor(Date.now() / 1000);
    const stale = signCoreToken('stale@lifecycle.test', secret, { iat: now - 7300, exp: now - 100 });
    expect((await refusedWith(stale)).status).toBe(401);
  });

  it('revoke closes the open glasses socket with 4001 "token revoked"; old tokens and tokens without a version are refused; new ones work', async () => {
    const user = 'revoked@lifecycle.test';
    const bystander = 'bystander@lifecycle.test';
    const old = await mint(user);
    const legacy = signCoreToken(user, secret); // no tv, no exp: version 0
    // Before any revoke, a token without a version is accepted (0 ≥ the minimum, 0).
    await (await glasses(legacy)).disconnect();
    const open = await glasses(old);
    const other = await glasses(await mint(bystander));
    const closed = open.waitForClose({ timeoutMs: 5000 });

    const res = await revoke(user);
    expect(res.status).toBe(200);
    expect(res.body.userId).toBe(user);
    expect(res.body.tokenVersion).toBeGreaterThan(claims(old).tv);
    expect(await closed).toEqual({ code: 4001, reason: 'token revoked' });

    expect(await refusedWith(old)).toEqual({ status: 401, message: 'Core token revoked' });
    expect(await refusedWith(legacy)).toEqual({ status: 401, message: 'Core token revoked' });
    const fresh = await glasses(await mint(user));
    expect(fresh.isOpen).toBe(true);
    // Another user's socket is untouched.
    expect(other.isOpen).toBe(true);
  });

  it('revoked tokens are refused by the phone routes too, and the revocation survives a restart', async () => {
    const user = 'restart@lifecycle.test';
    await cloud.registerApp({ packageName: 'com.lifecycle.app', publicUrl: 'http://127.0.0.1:9' }, [user]);
    const old = await mint(user);
    expect((await webviewToken(old)).status).toBe(200);
    expect((await revoke(user)).status).toBe(200);
    const refused = await webviewToken(old);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { code: string }).code).toBe('INVALID_TOKEN');

    await cloud.close();
    cloud = await startCloud(env());
    expect((await refusedWith(old)).status).toBe(401);
    await glasses(await mint(user));
  });

  it('revoke validates the user id and needs the admin key', async () => {
    expect((await cloud.admin('POST', `/api/admin/users/${encodeURIComponent('$ne')}/token/revoke`)).status).toBe(400);
    expect(
      (await cloud.admin('POST', '/api/admin/users/a%40lifecycle.test/token/revoke', undefined, 'wrong-key-0123456789'))
        .status,
    ).toBe(401);
  });

  it('a simulator link hands out tokens for /glasses-ws only, valid SIMULATOR_TOKEN_TTL_SECONDS', async () => {
    const user = 'sim@lifecycle.test';
    await cloud.registerApp({ packageName: 'com.lifecycle.sim', publicUrl: 'http://127.0.0.1:9' }, [user]);
    const link = (await cloud.admin('POST', '/api/simulator/links', { userId: user, ttlSeconds: 3600 })).body;
    const res = await cloud.admin('POST', '/api/simulator/link/token', undefined, link.token);
    expect(res.status).toBe(201);
    const token: string = res.body.coreToken;
    const c = claims(token);
    expect(c.aud).toBe('glasses-ws');
    expect(c.exp - c.iat).toBe(30);
    expect(res.body.expiresAt).toBe(new Date(c.exp * 1000).toISOString());
    await glasses(token);
    // Not a phone credential: the REST routes that take core tokens refuse it.
    const phone = await fetch(`${cloud.url}/api/auth/generate-webview-token`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ packageName: 'com.lifecycle.sim' }),
    });
    expect(phone.status).toBe(401);
    const settings = await fetch(`${cloud.url}/appsettings/com.lifecycle.sim`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '[]',
    });
    expect(settings.status).toBe(401);
  });
});
