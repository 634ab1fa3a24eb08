import type { ExecutionContext } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { CloudError } from '../common/cloud-error.js';
import { sha256Hex } from '../common/crypto.util.js';
import type { AppRecord, AppRepository } from '../persistence/persistence.types.js';
import { AppCredentialGuard, parseAppCredential } from './app-credential.guard.js';

const KEY = 'k'.repeat(64);

function repo(apps: Record<string, string>): AppRepository & { lookups: string[] } {
  const lookups: string[] = [];
  return {
    lookups,
    findByPackageName: async (packageName: string) => {
      lookups.push(packageName);
      const key = apps[packageName];
      return key ? ({ packageName, hashedApiKey: sha256Hex(key) } as AppRecord) : null;
    },
  } as unknown as AppRepository & { lookups: string[] };
}

function context(authorization?: string): { ctx: ExecutionContext; req: Record<string | symbol, unknown> } {
  const req: Record<string | symbol, unknown> = { headers: authorization === undefined ? {} : { authorization } };
  const ctx = { switchToHttp: () => ({ getRequest: () => req }) } as unknown as ExecutionContext;
  return { ctx, req };
}

describe('parseAppCredential', () => {
  it('splits "Bearer <packageName>:<apiKey>" on the first colon', () => {
    expect(parseAppCredential(`Bearer com.example.a:${KEY}`)).toEqual({ packageName: 'com.example.a', apiKey: KEY });
    expect(parseAppCredential(`bearer   com.example.a:${KEY}  `)).toEqual({
      packageName: 'com.example.a',
      apiKey: KEY,
    });
    expect(parseAppCredential('Bearer pkg:key:with:colons')).toEqual({ packageName: 'pkg', apiKey: 'key:with:colons' });
  });

  it.each([
    undefined,
    '',
    KEY,
    `Bearer ${KEY}`,
    'Bearer pkg:',
    `Bearer :${KEY}`,
    `Basic pkg:${KEY}`,
    `pkg:${KEY}`,
    `Bearer pkg:${KEY} extra`,
    `Bearer pkg:${'k'.repeat(2000)}`,
    ['Bearer pkg:key'],
  ])('refuses %j', (header) => {
    expect(parseAppCredential(header)).toBeNull();
  });
});

describe('AppCredentialGuard', () => {
  it('passes a valid credential and hands the package to the handler', async () => {
    const apps = repo({ 'com.example.a': KEY });
    const { ctx, req } = context(`Bearer com.example.a:${KEY}`);
    expect(await new AppCredentialGuard(apps).canActivate(ctx)).toBe(true);
    expect(Object.getOwnPropertySymbols(req).map((s) => req[s])).toEqual(['com.example.a']);
  });

  it.each([
    ['no header', undefined],
    ['a wrong key', `Bearer com.example.a:${'0'.repeat(64)}`],
    ["another package's key", `Bearer com.example.a:${'b'.repeat(64)}`],
    ['an unknown package', `Bearer com.example.unknown:${KEY}`],
    ['a bare key', `Bearer ${KEY}`],
    ['a package name that is not one', `Bearer $where:${KEY}`],
  ])('refuses %s with INVALID_API_KEY (401)', async (_what, header) => {
    const apps = repo({ 'com.example.a': KEY, 'com.example.b': 'b'.repeat(64) });
    const { ctx, req } = context(header);
    const attempt = new AppCredentialGuard(apps).canActivate(ctx);
    await expect(attempt).rejects.toBeInstanceOf(CloudError);
    await expect(attempt).rejects.toMatchObject({ code: 'INVALID_API_KEY' });
    expect(Object.getOwnPropertySymbols(req)).toEqual([]);
  });

  it('never looks up a malformed package name', async () => {
    const apps = repo({});
    await expect(
      new AppCredentialGuard(apps).canActivate(context(`Bearer {"$gt":""}:${KEY}`).ctx),
    ).rejects.toBeInstanceOf(CloudError);
    expect(apps.lookups).toEqual([]);
  });
});
