import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type TestCloud } from './support/cloud.js';

/**
 * Webview login with the SDK's own Express middleware. The SDK reads MENTRAOS_CLOUD_USER_TOKEN_PUBLIC_KEY
 * when it loads, so it is imported only after the cloud has published its key.
 */
describe('webview login', () => {
  let cloud: TestCloud;
  let appUrl: string;
  let close: () => Promise<void>;
  const user = 'viewer@example.com';

  beforeAll(async () => {
    cloud = await startCloud();
    const apiKey = await cloud.registerApp({ packageName: 'com.example.web', publicUrl: 'http://127.0.0.1:1' }, [user]);
    const pem = await (await fetch(`${cloud.url}/api/auth/webview-public-key?packageName=com.example.web`)).text();
    expect(pem).toMatch(/BEGIN PUBLIC KEY/);
    process.env.MENTRAOS_CLOUD_USER_TOKEN_PUBLIC_KEY = pem;
    const { startSdkApp } = await import('./support/sdk-app.js');
    const app = await startSdkApp('com.example.web', apiKey, () => undefined);
    app.server.getExpressApp().get('/whoami', (req, res) => {
      res.json({ userId: (req as unknown as { authUserId?: string }).authUserId ?? null });
    });
    appUrl = app.url;
    close = () => app.close();
    await cloud.admin('PATCH', '/api/admin/apps/com.example.web', {
      publicUrl: app.url,
      webviewURL: `${app.url}/whoami`,
    });
    await cloud.registerApp({ packageName: 'com.example.elsewhere', publicUrl: 'http://127.0.0.1:1' }, [user]);
  });
  afterAll(async () => {
    await close?.();
    await cloud?.close();
  });

  const phone = (path: string, body: unknown, token = cloud.token(user)) =>
    fetch(`${cloud.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('a temp token opens the webview once: the SDK exchanges it with this cloud (cloudApiUrl + checksum) and logs the user in', async () => {
    const res = await phone('/api/auth/generate-webview-token', { packageName: 'com.example.web' });
    expect(res.status).toBe(200);
    const { token, webviewUrl } = (await res.json()) as { token: string; webviewUrl: string };
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(new URL(webviewUrl).searchParams.get('cloudApiUrl')).toBe(cloud.url);
    const first = (await (await fetch(webviewUrl)).json()) as { userId: string | null };
    expect(first.userId).toBe(user);
    // Single use.
    const second = (await (await fetch(webviewUrl)).json()) as { userId: string | null };
    expect(second.userId).toBeNull();
  });

  it("a signed user token (RS256, iss prod.augmentos.cloud) verifies with the public key the cloud serves for the app's package", async () => {
    const res = await phone('/api/auth/generate-webview-signed-user-token', { packageName: 'com.example.web' });
    const { token } = (await res.json()) as { token: string };
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString());
    expect(header).toMatchObject({ alg: 'RS256', kid: expect.stringMatching(/^[\w-]{16}$/) });
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    expect(payload).toMatchObject({ sub: user, aud: 'com.example.web', iss: 'https://prod.augmentos.cloud' });
    const got = (await (await fetch(`${appUrl}/whoami?aos_signed_user_token=${token}`)).json()) as {
      userId: string | null;
    };
    expect(got.userId).toBe(user);
    const tampered = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    const bad = (await (await fetch(`${appUrl}/whoami?aos_signed_user_token=${tampered}`)).json()) as {
      userId: string | null;
    };
    expect(bad.userId).toBeNull();
  });

  it("refuses bad credentials: no core token, an app not installed, another package's token, a wrong API key", async () => {
    expect(
      (await phone('/api/auth/generate-webview-token', { packageName: 'com.example.web' }, 'garbage')).status,
    ).toBe(401);
    const stranger = await phone(
      '/api/auth/generate-webview-token',
      { packageName: 'com.example.web' },
      cloud.token('stranger@example.com'),
    );
    expect(stranger.status).toBe(403);
    const { token } = (await (
      await phone('/api/auth/generate-webview-token', { packageName: 'com.example.elsewhere' })
    ).json()) as { token: string };
    const apps = await cloud.admin('POST', '/api/admin/apps/com.example.web/api-key');
    const exchange = (key: string) =>
      fetch(`${cloud.url}/api/auth/exchange-user-token`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ aos_temp_token: token, packageName: 'com.example.web' }),
      });
    expect((await exchange('f'.repeat(64))).status).toBe(401);
    const wrongPackage = await exchange(apps.body.apiKey);
    expect(wrongPackage.status).toBe(401);
    expect(((await wrongPackage.json()) as { message: string }).message).toMatch(/another app|expired/);
  });
});
