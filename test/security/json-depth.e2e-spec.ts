import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type TestCloud } from '../support/cloud.js';

const USER = 'depth@security.test';
const PKG = 'com.security.depth';

/**
 * Deeply nested JSON bodies are refused (400 BODY_TOO_DEEP) on every route, before validation or a store could
 * recurse through them, and nothing is logged as an error. Keys are not filtered: simple storage keeps `$where`.
 */
describe('JSON body depth', () => {
  let cloud: TestCloud;
  let apiKey = '';
  const errors: string[] = [];

  beforeAll(async () => {
    cloud = await startCloud();
    apiKey = await cloud.registerApp({ packageName: PKG, publicUrl: 'http://127.0.0.1:9' }, [USER]);
    const capture = (m: unknown) => void errors.push(String(m));
    const quiet = () => undefined;
    cloud.app.useLogger({ log: quiet, warn: quiet, debug: quiet, verbose: quiet, error: capture, fatal: capture });
  });
  afterAll(async () => {
    await cloud?.close();
  });

  const post = (method: string, path: string, body: string, authorization = `Bearer ${apiKey}`) =>
    fetch(cloud.url + path, { method, headers: { 'content-type': 'application/json', authorization }, body });
  const deepObject = (n: number) => `{"packageName":"${PKG}","data":${'{"a":'.repeat(n)}"1"${'}'.repeat(n)}}`;
  const deepArray = (n: number) => `{"packageName":"${PKG}","userId":${'['.repeat(n)}${']'.repeat(n)}}`;

  it('100,000-deep bodies get 400 BODY_TOO_DEEP on routes that have no key filter of their own', async () => {
    const routes: Array<[string, string, string?]> = [
      ['POST', '/api/auth/exchange-user-token'],
      ['POST', '/api/auth/generate-webview-token', `Bearer ${cloud.token(USER)}`],
      ['POST', '/api/app-communication/discover-users'],
      ['PUT', `/api/sdk/simple-storage/${USER}`, `Bearer ${PKG}:${apiKey}`],
      ['POST', `/appsettings/${PKG}`, `Bearer ${cloud.token(USER)}`],
      ['POST', '/api/admin/apps', `Bearer ${cloud.config.adminApiKey}`],
    ];
    for (const [method, path, auth] of routes) {
      for (const body of [deepObject(50_000), deepArray(100_000)]) {
        const res = await post(method, path, body, auth);
        expect(res.status, `${method} ${path}`).toBe(400);
        expect(((await res.json()) as { code: string }).code, `${method} ${path}`).toBe('BODY_TOO_DEEP');
      }
    }
    expect(errors).toEqual([]);
  });

  it('the limit is MAX_JSON_BODY_DEPTH levels: at it a body is handled as usual, one deeper is refused', async () => {
    const max = cloud.config.maxJsonBodyDepth;
    expect(max).toBe(32);
    // {"packageName":…,"data":{"a":…}}: the outer object is level 1.
    const atLimit = await post('POST', '/api/auth/exchange-user-token', deepObject(max - 1));
    expect(atLimit.status).toBe(400);
    expect(((await atLimit.json()) as { code: string }).code).not.toBe('BODY_TOO_DEEP');
    const over = await post('POST', '/api/auth/exchange-user-token', deepObject(max));
    expect(((await over.json()) as { code: string }).code).toBe('BODY_TOO_DEEP');
  });

  it('keys are not filtered: simple storage still stores a `$where` key literally', async () => {
    const put = await post(
      'PUT',
      `/api/sdk/simple-storage/${USER}`,
      '{"data":{"$where":"1"}}',
      `Bearer ${PKG}:${apiKey}`,
    );
    expect(put.status).toBe(200);
    const got = await fetch(`${cloud.url}/api/sdk/simple-storage/${USER}`, {
      headers: { authorization: `Bearer ${PKG}:${apiKey}` },
    });
    expect(((await got.json()) as { data: object }).data).toMatchObject({ $where: '1' });
  });
});
