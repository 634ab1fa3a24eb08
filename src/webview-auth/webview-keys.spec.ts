import { createPublicKey, createSign, createVerify } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppConfig } from '../config/config.types.js';
import { EmbeddedAppRepository } from '../persistence/embedded/embedded-app.repository.js';
import { EmbeddedStore } from '../persistence/embedded/embedded.store.js';
import { newApp } from '../persistence/repository.contract.js';
import { WebviewKeys } from './webview-keys.js';

const config = (jwtSecret: string) => ({ jwtSecret }) as AppConfig;

/** Signs with the private key and checks with the public PEM: the two halves belong together. */
function pairsUp(privateKey: Parameters<ReturnType<typeof createSign>['sign']>[0], publicKeyPem: string): boolean {
  const signature = createSign('sha256').update('probe').sign(privateKey);
  return createVerify('sha256').update('probe').verify(createPublicKey(publicKeyPem), signature);
}

describe('WebviewKeys (one sealed pair per app, on the embedded store)', () => {
  let dataDir: string;
  let store: EmbeddedStore;
  let apps: EmbeddedAppRepository;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mentra-webview-keys-'));
    store = await EmbeddedStore.open({ dataDir, compactionIntervalMs: 0 });
    apps = new EmbeddedAppRepository(store);
    await apps.create(newApp('com.example.alpha'));
    await apps.create(newApp('com.example.beta'));
  });
  afterEach(async () => {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('makes one pair per app on first use, seals the private key, and gives another instance the same pair', async () => {
    const keys = new WebviewKeys(config('secret-one-0123456789'), apps);
    const alpha = await keys.publicKeyPem('com.example.alpha');
    const beta = await keys.publicKeyPem('com.example.beta');
    expect(alpha).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(alpha).not.toBe(beta);
    const stored = await apps.findWebviewKey('com.example.alpha');
    expect(stored?.sealedPrivateKey).toMatch(/^v1\./);
    expect(stored?.sealedPrivateKey).not.toMatch(/PRIVATE KEY/);

    const again = new WebviewKeys(config('secret-one-0123456789'), apps);
    expect(await again.publicKeyPem('com.example.alpha')).toBe(alpha);
    const key = await again.signingKey('com.example.alpha');
    expect(pairsUp(key!.privateKey, alpha!)).toBe(true);
    expect(pairsUp(key!.privateKey, beta!)).toBe(false);
  });

  it('unknown packages get null and no key; a pair sealed for another package does not unseal', async () => {
    const keys = new WebviewKeys(config('secret-one-0123456789'), apps);
    expect(await keys.publicKeyPem('com.example.nobody')).toBeNull();
    expect(await keys.signingKey('com.example.nobody')).toBeNull();
    await keys.publicKeyPem('com.example.alpha');
    const alpha = (await apps.findWebviewKey('com.example.alpha'))!;
    // Moving alpha's sealed key to beta (as a tampered store might) does not give beta alpha's key: it is replaced.
    await apps.replaceWebviewKey('com.example.beta', null, alpha);
    const beta = await keys.publicKeyPem('com.example.beta');
    expect(beta).not.toBe(alpha.publicKeyPem);
  });

  it('after a change of the JWT secret a pair that no longer unseals is replaced by a new one', async () => {
    const before = await new WebviewKeys(config('secret-one-0123456789'), apps).publicKeyPem('com.example.alpha');
    const keys = new WebviewKeys(config('secret-two-0123456789'), apps);
    const after = await keys.publicKeyPem('com.example.alpha');
    expect(after).not.toBe(before);
    expect(pairsUp((await keys.signingKey('com.example.alpha'))!.privateKey, after!)).toBe(true);
  });
});
