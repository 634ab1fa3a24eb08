import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppConfig } from '../config/config.types.js';
import { EmbeddedStore } from '../persistence/embedded/embedded.store.js';
import { EmbeddedUserRepository } from '../persistence/embedded/embedded-user.repository.js';
import { CoreTokenService, GLASSES_WS_AUDIENCE } from './core-token.service.js';
import { UserRecordTokenVersions } from './token-version.store.js';

const SECRET = 'core-token-secret-0123456789';
const config = { jwtSecret: SECRET, coreTokenTtlSeconds: 3600 } as AppConfig;

describe('CoreTokenService (versions in the user record, embedded store)', () => {
  let dataDir: string;
  let store: EmbeddedStore;
  let tokens: CoreTokenService;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mentra-core-token-'));
    store = await EmbeddedStore.open({ dataDir, compactionIntervalMs: 0 });
    tokens = new CoreTokenService(config, new UserRecordTokenVersions(new EmbeddedUserRepository(store)));
  });
  afterEach(async () => {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('sign adds exp (the configured lifetime or the one asked for) and tv; verify reads the version back', () => {
    const token = tokens.sign('Alice@Example.com');
    const claims = jwt.verify(token, SECRET) as jwt.JwtPayload;
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(tokens.verify(token)).toEqual({ ok: true, userId: 'alice@example.com', version: claims.tv });
    const short = jwt.decode(tokens.sign('a@example.com', { ttlSeconds: 30 })) as jwt.JwtPayload;
    expect(short.exp! - short.iat!).toBe(30);
    expect(tokens.expiresAt(token).getTime()).toBe(claims.exp! * 1000);
  });

  it('a token with an audience is accepted only where that audience is asked for', () => {
    const ws = tokens.sign('a@example.com', { audience: GLASSES_WS_AUDIENCE });
    expect(tokens.verify(ws).ok).toBe(false);
    expect(tokens.verify(ws, { audience: GLASSES_WS_AUDIENCE }).ok).toBe(true);
    expect(tokens.verify(tokens.sign('a@example.com'), { audience: GLASSES_WS_AUDIENCE }).ok).toBe(true);
    const foreign = jwt.sign({ email: 'a@example.com', aud: 'elsewhere' }, SECRET);
    expect(tokens.verify(foreign, { audience: GLASSES_WS_AUDIENCE }).ok).toBe(false);
    const badVersion = jwt.sign({ email: 'a@example.com', tv: 'latest' }, SECRET);
    expect(tokens.verify(badVersion).ok).toBe(false);
  });

  it('revoke refuses every token minted before it (the same millisecond included) and none minted after', async () => {
    const heard: Array<[string, number]> = [];
    tokens.onRevoked((userId, minimum) => heard.push([userId, minimum]));
    const legacy = jwt.sign({ email: 'a@example.com' }, SECRET);
    const before = tokens.sign('a@example.com');
    expect((await tokens.check(legacy)).ok).toBe(true);
    const minimum = await tokens.revoke('a@example.com');
    expect(heard).toEqual([['a@example.com', minimum]]);
    expect(await tokens.check(before)).toEqual({ ok: false, message: 'Core token revoked' });
    expect(await tokens.check(legacy)).toEqual({ ok: false, message: 'Core token revoked' });
    while (Date.now() < minimum) await new Promise((r) => setTimeout(r, 1));
    expect((await tokens.check(tokens.sign('a@example.com'))).ok).toBe(true);
    expect((await tokens.check(tokens.sign('b@example.com'))).ok).toBe(true);
    // A second revoke never lowers the minimum.
    expect(await tokens.revoke('a@example.com')).toBeGreaterThanOrEqual(minimum);
  });
});
