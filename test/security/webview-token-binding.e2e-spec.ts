import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type TestCloud } from '../support/cloud.js';
import { spawnSdkWebviewApp, type SdkWebviewProcess } from '../support/sdk-webview-process.js';

/**
 * Signed webview user tokens (`aos_signed_user_token`) are bound to their app: each package has its own key pair,
 * and each app's real SDK (one process per app, since the SDK reads its public key once at load) accepts only
 * tokens made for its own package.
 */
describe('webview signed user tokens are bound to their app', () => {
  const USER = 'viewer@binding.test';
  const A = 'com.binding.alpha';
  const B = 'com.binding.beta';
  const secret = randomBytes(24).toString('hex');
  let dataDir: string;
  const env = () => ({ DATA_DIR: dataDir, AUGMENTOS_AUTH_JWT_SECRET: secret });
  let cloud: TestCloud;
  let keyA = '';
  let keyB = '';
  const apps: SdkWebviewProcess[] = [];
  let appA: SdkWebviewProcess;
  let appB: SdkWebviewProcess;

  const publicKey = (packageName?: string) =>
    fetch(`${cloud.url}/api/auth/webview-public-key${packageName ? `?packageName=${packageName}` : ''}`);
  const pemOf = async (packageName: string) => {
    const res = await publicKey(packageName);
    expect(res.status).toBe(200);
    return res.text();
  };
  const signedToken = async (packageName: string) => {
    const res = await fetch(`${cloud.url}/api/auth/generate-webview-signed-user-token`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cloud.token(USER)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ packageName }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { token: string }).token;
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mentra-binding-'));
    cloud = await startCloud(env());
    keyA = await cloud.registerApp({ packageName: A, publicUrl: 'http://127.0.0.1:9' }, [USER]);
    keyB = await cloud.registerApp({ packageName: B, publicUrl: 'http://127.0.0.1:9' }, [USER]);
    appA = await spawnSdkWebviewApp(A, keyA, await pemOf(A));
    apps.push(appA);
    appB = await spawnSdkWebviewApp(B, keyB, await pemOf(B));
    apps.push(appB);
  }, 60_000);

  afterAll(async () => {
    for (const a of apps) await a.close();
    await cloud?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('the public key route needs packageName (400 with a code), answers 404 for an unknown package, one key per package', async () => {
    const missing = await publicKey();
    expect(missing.status).toBe(400);
    const body = (await missing.json()) as { code: string; message: unknown };
    expect(body.code).toBe('BAD_REQUEST');
    expect(JSON.stringify(body.message)).toMatch(/packageName is required/);
    expect((await publicKey('not a package')).status).toBe(400);
    const unknown = await publicKey('com.binding.nobody');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { code: string }).code).toBe('APP_NOT_FOUND');
    const [pemA, pemB] = [await pemOf(A), await pemOf(B)];
    expect(pemA).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(pemB).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(pemA).not.toBe(pemB);
  });

  it("a token minted for app A is accepted by A's SDK and refused by B's SDK, and the other way round", async () => {
    const forA = await signedToken(A);
    const forB = await signedToken(B);
    expect(await appA.whoIs(forA)).toBe(USER);
    expect(await appB.whoIs(forA)).toBeNull();
    expect(await appB.whoIs(forB)).toBe(USER);
    expect(await appA.whoIs(forB)).toBeNull();
  });

  it('an app registered before this change gets its pair on first use; concurrent first uses agree on one', async () => {
    await cloud.registerApp({ packageName: 'com.binding.late', publicUrl: 'http://127.0.0.1:9' }, [USER]);
    const [token, ...pems] = await Promise.all([
      signedToken('com.binding.late'),
      ...Array.from({ length: 5 }, () => pemOf('com.binding.late')),
    ]);
    expect(new Set(pems).size).toBe(1);
    const late = await spawnSdkWebviewApp('com.binding.late', 'unused-key', pems[0]!);
    apps.push(late);
    expect(await late.whoIs(token!)).toBe(USER);
    expect(await late.whoIs(await signedToken(A))).toBeNull();
  }, 30_000);

  it('the pair is kept with the app record: after a restart the same public key, and the stored private key is sealed', async () => {
    const before = await pemOf(A);
    await cloud.close();
    cloud = await startCloud(env());
    expect(await pemOf(A)).toBe(before);
    // A token minted by the restarted cloud still opens A's webview (the private key came back too).
    expect(await appA.whoIs(await signedToken(A))).toBe(USER);
    const stored = await readFile(join(dataDir, 'apps.db'), 'utf8');
    expect(stored).toContain(before.split('\n')[1]!);
    expect(stored).not.toMatch(/PRIVATE KEY/);
    // The admin API never shows the pair.
    expect(JSON.stringify((await cloud.admin('GET', `/api/admin/apps/${A}`)).body)).not.toMatch(/webviewKey|sealed/);
  }, 30_000);
});
