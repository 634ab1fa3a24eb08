import { Logger } from '@nestjs/common';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, decodeJwt, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connectGlasses, freePort, startCloud, type TestCloud } from './support/cloud.js';

/**
 * The phone's sign-in as the MentraOS app does it: the identity provider's token to POST /auth/exchange-token,
 * the core token back, then /glasses-ws and the /api/client calls with it. Provider tokens are made here: HS256
 * with a test secret, ES256 with a key pair whose public half a loopback JWKS server publishes.
 */

const HS_SECRET = 'supabase-test-secret-0123456789abcdef0123';
const ISSUER = 'https://test-project.supabase.co/auth/v1';
const AUDIENCE = 'authenticated';
const KID = 'test-key-1';

interface KeyPair {
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function keyPair(): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid: KID, alg: 'ES256', use: 'sig' } };
}

/** Serves `{keys}` at /auth/v1/.well-known/jwks.json on a loopback port, as Supabase publishes its keys. */
async function startJwksServer(keys: JWK[]): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (req.url !== '/auth/v1/.well-known/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/auth/v1/.well-known/jwks.json`, server };
}

interface Claims {
  email?: string;
  iss?: string;
  aud?: string;
  exp?: number;
}

function claimsOf(email: string | undefined, over: Claims = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    payload: { ...(email === undefined ? {} : { email }), role: 'authenticated', sub: 'user-uuid' },
    iss: over.iss ?? ISSUER,
    aud: over.aud ?? AUDIENCE,
    exp: over.exp ?? now + 3600,
    iat: now - 5,
  };
}

function hsToken(email: string | undefined, over: Claims = {}, secret = HS_SECRET): Promise<string> {
  const c = claimsOf(email, over);
  return new SignJWT(c.payload)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(c.iss)
    .setAudience(c.aud)
    .setIssuedAt(c.iat)
    .setExpirationTime(c.exp)
    .sign(new TextEncoder().encode(secret));
}

function esToken(key: KeyPair, email: string | undefined, over: Claims = {}, kid = KID): Promise<string> {
  const c = claimsOf(email, over);
  return new SignJWT(c.payload)
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid })
    .setIssuer(c.iss)
    .setAudience(c.aud)
    .setIssuedAt(c.iat)
    .setExpirationTime(c.exp)
    .sign(key.privateKey);
}

async function exchange(
  cloud: TestCloud,
  body: unknown,
  path = '/auth/exchange-token',
): Promise<{ status: number; body: any }> {
  const res = await fetch(cloud.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

describe('phone sign-in', () => {
  const cleanups: Array<() => unknown> = [];
  let signing: KeyPair;
  let jwks: { url: string; server: Server };

  beforeAll(async () => {
    signing = await keyPair();
    jwks = await startJwksServer([signing.publicJwk]);
    cleanups.push(() => new Promise((resolve) => jwks.server.close(resolve)));
  });
  afterAll(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  });

  describe('with SUPABASE_JWT_SECRET and a JWKS URL, issuer and audience checked', () => {
    let cloud: TestCloud;
    beforeAll(async () => {
      cloud = await startCloud({
        SUPABASE_JWT_SECRET: HS_SECRET,
        PHONE_AUTH_JWKS_URL: jwks.url,
        PHONE_AUTH_ISSUER: ISSUER,
        PHONE_AUTH_AUDIENCE: AUDIENCE,
      });
      cleanups.push(() => cloud.close());
    });

    it('exchanges an HS256 token for a core token, creates the user on first sign-in, and the core token opens /glasses-ws', async () => {
      const user = 'hs-user@example.com';
      expect((await cloud.admin('GET', `/api/admin/users/${user}`)).status).toBe(404);
      const res = await exchange(cloud, { supabaseToken: await hsToken(user) });
      expect(res.status).toBe(200);
      expect(Object.keys(res.body)).toEqual(['coreToken']);
      expect(decodeJwt(res.body.coreToken).email).toBe(user);
      expect((await cloud.admin('GET', `/api/admin/users/${user}`)).status).toBe(200);

      const { ack } = await connectGlasses({ url: cloud.url, token: () => res.body.coreToken }, user, cleanups);
      expect(ack.type).toBe('connection_ack');
      expect(cloud.registry.get(user)).toBeDefined();
    });

    it('exchanges an ES256 token checked against the JWKS, on both paths, for the lower-cased email', async () => {
      for (const path of ['/auth/exchange-token', '/api/auth/exchange-token']) {
        const res = await exchange(cloud, { supabaseToken: await esToken(signing, 'ES.User@Example.COM') }, path);
        expect(res.status).toBe(200);
        expect(decodeJwt(res.body.coreToken).email).toBe('es.user@example.com');
      }
      const { coreToken } = (await exchange(cloud, { supabaseToken: await esToken(signing, 'es.user@example.com') }))
        .body;
      const { ack } = await connectGlasses({ url: cloud.url, token: () => coreToken }, 'es.user@example.com', cleanups);
      expect(ack.type).toBe('connection_ack');
      expect(cloud.registry.get('es.user@example.com')).toBeDefined();
    });

    it('refuses wrong signatures, issuers, audiences, expired, alg none and email-less tokens with 401 and a code, creating no user', async () => {
      const victim = 'victim@example.com';
      const otherKey = await keyPair();
      const past = Math.floor(Date.now() / 1000) - 120;
      const cases: Array<[string, string, string, string?]> = [
        [
          'HS256, another secret',
          await hsToken(victim, {}, 'another-secret-another-secret-0123'),
          'INVALID_TOKEN',
          'signature',
        ],
        ['ES256, another key under the same kid', await esToken(otherKey, victim), 'INVALID_TOKEN', 'signature'],
        [
          'ES256, a kid the JWKS does not have',
          await esToken(signing, victim, {}, 'unknown-kid'),
          'INVALID_TOKEN',
          'no_matching_key',
        ],
        [
          'another issuer',
          await hsToken(victim, { iss: 'https://evil.example.com/auth/v1' }),
          'INVALID_TOKEN',
          'issuer',
        ],
        [
          'another issuer (JWKS)',
          await esToken(signing, victim, { iss: 'https://evil.example.com' }),
          'INVALID_TOKEN',
          'issuer',
        ],
        ['another audience', await hsToken(victim, { aud: 'anon' }), 'INVALID_TOKEN', 'audience'],
        ['expired', await hsToken(victim, { exp: past }), 'TOKEN_EXPIRED'],
        ['expired (JWKS)', await esToken(signing, victim, { exp: past }), 'TOKEN_EXPIRED'],
        [
          'alg none',
          new UnsecuredJWT({ email: victim }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime('1h').encode(),
          'INVALID_TOKEN',
          'algorithm',
        ],
        ['not a JWT', 'not-a-jwt', 'INVALID_TOKEN', 'malformed'],
      ];
      for (const [name, token, code, reason] of cases) {
        const res = await exchange(cloud, { supabaseToken: token });
        expect({ name, status: res.status, code: res.body.code }).toEqual({ name, status: 401, code });
        if (reason) expect({ name, reason: res.body.details?.reason }).toEqual({ name, reason });
        expect(res.body.coreToken).toBeUndefined();
      }
      expect((await cloud.admin('GET', `/api/admin/users/${victim}`)).status).toBe(404);

      for (const token of [await hsToken(undefined), await esToken(signing, undefined), await hsToken('')]) {
        const res = await exchange(cloud, { supabaseToken: token });
        expect(res).toMatchObject({ status: 401, body: { code: 'INVALID_TOKEN', details: { reason: 'no_email' } } });
      }
    });

    it('Swagger documents the sign-in and the client calls', async () => {
      const doc = (await (await fetch(`${cloud.url}/api/docs-json`)).json()) as { paths: Record<string, object> };
      expect(Object.keys(doc.paths['/auth/exchange-token'] ?? {})).toEqual(['post']);
      expect(Object.keys(doc.paths['/api/auth/exchange-token'] ?? {})).toEqual(['post']);
      expect(Object.keys(doc.paths['/api/client/audio/configure'] ?? {})).toEqual(['post']);
      expect(Object.keys(doc.paths['/api/client/goodbye'] ?? {})).toEqual(['post']);
      expect(Object.keys(doc.paths['/api/client/livekit/token'] ?? {})).toEqual(['get']);
    });

    it('answers 400 without a supabaseToken', async () => {
      for (const body of [{}, { supabaseToken: '' }, { supabaseToken: 42 }]) {
        const res = await exchange(cloud, body);
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('BAD_REQUEST');
      }
    });

    describe('the /api/client calls the phone makes around its socket', () => {
      const user = 'client-calls@example.com';
      let coreToken: string;
      beforeAll(async () => {
        coreToken = (await exchange(cloud, { supabaseToken: await hsToken(user) })).body.coreToken;
      });
      const call = async (method: string, path: string, body?: unknown, token: string | null = coreToken) => {
        const res = await fetch(cloud.url + path, {
          method,
          headers: {
            ...(token === null ? {} : { authorization: `Bearer ${token}` }),
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: res.status, body: (await res.json()) as any };
      };

      it('need the core token as Bearer: none, garbage or a provider token is 401 INVALID_TOKEN', async () => {
        const providerToken = await hsToken(user);
        for (const token of [null, 'garbage', providerToken]) {
          for (const [method, path, body] of [
            ['POST', '/api/client/audio/configure', { format: 'pcm' }],
            ['POST', '/api/client/goodbye', undefined],
            ['GET', '/api/client/livekit/token', undefined],
          ] as const) {
            const res = await call(method, path, body, token);
            expect({ path, status: res.status, code: res.body.code }).toEqual({
              path,
              status: 401,
              code: 'INVALID_TOKEN',
            });
          }
        }
      });

      it('refuse a revoked core token, and take the one the next sign-in gives', async () => {
        const revokedUser = 'client-revoked@example.com';
        const before = (await exchange(cloud, { supabaseToken: await hsToken(revokedUser) })).body.coreToken;
        expect((await call('GET', '/api/client/livekit/token', undefined, before)).body.code).not.toBe('INVALID_TOKEN');
        expect((await cloud.admin('POST', `/api/admin/users/${revokedUser}/token/revoke`)).status).toBe(200);
        const refused = await call('GET', '/api/client/livekit/token', undefined, before);
        expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 401, code: 'INVALID_TOKEN' });
        const after = (await exchange(cloud, { supabaseToken: await hsToken(revokedUser) })).body.coreToken;
        expect((await call('GET', '/api/client/livekit/token', undefined, after)).body.code).not.toBe('INVALID_TOKEN');
      });

      it('audio/configure takes pcm as upstream answers it, refuses lc3 (no decoder here) and unknown formats', async () => {
        const pcm = await call('POST', '/api/client/audio/configure', { format: 'pcm' });
        expect(pcm.status).toBe(200);
        expect(pcm.body).toMatchObject({
          success: true,
          format: 'pcm',
          message: 'Audio format configured successfully',
        });
        expect(Number.isNaN(Date.parse(pcm.body.timestamp))).toBe(false);

        const lc3 = await call('POST', '/api/client/audio/configure', {
          format: 'lc3',
          lc3Config: { sampleRate: 16000, frameDurationMs: 10, frameSizeBytes: 20 },
        });
        expect(lc3).toMatchObject({ status: 409, body: { code: 'UNSUPPORTED', details: { supported: ['pcm'] } } });

        const opus = await call('POST', '/api/client/audio/configure', { format: 'opus' });
        expect(opus.status).toBe(400);
      });

      it('livekit/token answers as upstream without LiveKit (500, success false), so the phone stays on the socket', async () => {
        const res = await call('GET', '/api/client/livekit/token');
        expect(res.status).toBe(500);
        expect(res.body).toMatchObject({
          success: false,
          message: 'Failed to mint token',
          code: 'LIVEKIT_UNAVAILABLE',
        });
        expect(res.body.data).toBeUndefined();
      });

      it('goodbye keeps a session whose socket is open, and ends one whose socket closed without waiting for the grace period', async () => {
        const { glasses } = await connectGlasses({ url: cloud.url, token: () => coreToken }, user, cleanups);
        const open = await call('POST', '/api/client/goodbye');
        expect(open).toMatchObject({ status: 200, body: { success: true, data: { sessionEnded: false } } });
        expect(cloud.registry.get(user)).toBeDefined();

        await glasses.disconnect();
        await vi.waitFor(() => expect(cloud.registry.get(user)?.ctx.glassesOpen).toBe(false));
        // GLASSES_GRACE_MS is 60 s here: only the goodbye can end the session this soon.
        const closed = await call('POST', '/api/client/goodbye');
        expect(closed).toMatchObject({ status: 200, body: { success: true, data: { sessionEnded: true } } });
        expect(cloud.registry.get(user)).toBeUndefined();

        const again = await call('POST', '/api/client/goodbye');
        expect(again).toMatchObject({ status: 200, body: { success: true, data: { sessionEnded: false } } });
      });
    });
  });

  describe('with a JWKS URL only', () => {
    let cloud: TestCloud;
    beforeAll(async () => {
      cloud = await startCloud({ PHONE_AUTH_JWKS_URL: jwks.url });
      cleanups.push(() => cloud.close());
    });

    it('exchanges an ES256 token with no issuer or audience configured', async () => {
      const res = await exchange(cloud, {
        supabaseToken: await esToken(signing, 'jwks-only@example.com', { iss: 'x' }),
      });
      expect(res.status).toBe(200);
      expect(decodeJwt(res.body.coreToken).email).toBe('jwks-only@example.com');
    });

    it('refuses HS256 tokens, even one keyed with the published public key (algorithm confusion)', async () => {
      const publicKeyAsSecret = JSON.stringify(signing.publicJwk);
      for (const token of [await hsToken('hs@example.com'), await hsToken('hs@example.com', {}, publicKeyAsSecret)]) {
        const res = await exchange(cloud, { supabaseToken: token });
        expect(res).toMatchObject({ status: 401, body: { code: 'INVALID_TOKEN', details: { reason: 'algorithm' } } });
      }
    });
  });

  it('answers 503 PROVIDER_UNAVAILABLE when the JWKS cannot be fetched', async () => {
    const deadPort = await freePort();
    const cloud = await startCloud({ PHONE_AUTH_JWKS_URL: `http://127.0.0.1:${deadPort}/jwks.json` });
    cleanups.push(() => cloud.close());
    const res = await exchange(cloud, { supabaseToken: await esToken(signing, 'nobody@example.com') });
    expect(res).toMatchObject({ status: 503, body: { code: 'PROVIDER_UNAVAILABLE' } });
  });

  it('answers 501 naming the variables to set when no verification is configured', async () => {
    const cloud = await startCloud();
    cleanups.push(() => cloud.close());
    for (const supabaseToken of [await hsToken('someone@example.com'), 'someone@example.com']) {
      const res = await exchange(cloud, { supabaseToken });
      expect(res.status).toBe(501);
      expect(res.body.code).toBe('NOT_CONFIGURED');
      expect(res.body.message).toContain('SUPABASE_JWT_SECRET');
      expect(res.body.message).toContain('PHONE_AUTH_JWKS_URL');
    }
    expect((await cloud.admin('GET', '/api/admin/users/someone@example.com')).status).toBe(404);
  });

  describe('PHONE_AUTH=dev', () => {
    let cloud: TestCloud;
    let warnings: string[];
    beforeAll(async () => {
      const warn = vi.spyOn(Logger.prototype, 'warn');
      cloud = await startCloud({ PHONE_AUTH: 'dev' });
      warnings = warn.mock.calls.map((args) => String(args[0]));
      warn.mockRestore();
      cleanups.push(() => cloud.close());
    });

    it('logs a warning at start', () => {
      expect(warnings.some((w) => w.includes('PHONE_AUTH=dev') && w.includes('ANY email'))).toBe(true);
    });

    it('signs in a plain email, and an unsigned JWT by its email claim; the core token opens /glasses-ws', async () => {
      const plain = await exchange(cloud, { supabaseToken: 'Dev.Person@Example.com' });
      expect(plain.status).toBe(200);
      expect(decodeJwt(plain.body.coreToken).email).toBe('dev.person@example.com');
      const { ack } = await connectGlasses(
        { url: cloud.url, token: () => plain.body.coreToken },
        'dev.person@example.com',
        cleanups,
      );
      expect(ack.type).toBe('connection_ack');

      const unsigned = new UnsecuredJWT({ email: 'unsigned@example.com' }).encode();
      const res = await exchange(cloud, { supabaseToken: unsigned });
      expect(res.status).toBe(200);
      expect(decodeJwt(res.body.coreToken).email).toBe('unsigned@example.com');
      expect((await cloud.admin('GET', '/api/admin/users/unsigned@example.com')).status).toBe(200);
    });

    it('still refuses something that names no email', async () => {
      for (const supabaseToken of ['no-at-sign', new UnsecuredJWT({ sub: 'x' }).encode()]) {
        const res = await exchange(cloud, { supabaseToken });
        expect(res.status).toBe(401);
        expect(res.body.code).toBe('INVALID_TOKEN');
      }
    });
  });
});
