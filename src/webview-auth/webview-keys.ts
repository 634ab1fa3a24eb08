import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  generateKeyPair,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { APP_REPOSITORY, type AppRepository, type WebviewKeyPair } from '../persistence/persistence.types.js';

const generateRsa = promisify(generateKeyPair);
const SEAL_VERSION = 'v1';
const SEAL_INFO = 'mentra-open-cloud webview signing key v1';

export interface SigningKey {
  privateKey: KeyObject;
  /** `kid` of the tokens it signs: derived from the public key, so it changes with the pair. */
  keyId: string;
}

/**
 * One RS256 key pair per app for `aos_signed_user_token`s, so a token made for one app is refused by every other
 * app's SDK (each app's operator sets MENTRAOS_CLOUD_USER_TOKEN_PUBLIC_KEY to its own package's public key).
 * Made the first time a package needs one and kept with the app's record; the private key is stored sealed
 * (AES-256-GCM under a key derived from the JWT secret, the package name bound in as associated data), so the
 * store alone (a MongoDB dump, a copied apps.db) does not give it away.
 */
@Injectable()
export class WebviewKeys {
  private readonly logger = new Logger(WebviewKeys.name);
  private readonly sealKey: Buffer;
  /** Unsealed keys by package, valid while the stored sealed key is the same string. */
  private readonly unsealed = new Map<string, { sealed: string; key: SigningKey }>();
  /** One generation per package at a time in this process. */
  private readonly making = new Map<string, Promise<WebviewKeyPair | null>>();

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(APP_REPOSITORY) private readonly apps: AppRepository,
  ) {
    this.sealKey = Buffer.from(hkdfSync('sha256', config.jwtSecret, Buffer.alloc(0), SEAL_INFO, 32));
  }

  /** The PEM the package's operator gives its SDK; null for an unknown package. */
  async publicKeyPem(packageName: string): Promise<string | null> {
    return (await this.pairOf(packageName))?.publicKeyPem ?? null;
  }

  /** The package's private key; null for an unknown package. */
  async signingKey(packageName: string): Promise<SigningKey | null> {
    const pair = await this.pairOf(packageName);
    if (!pair) return null;
    const key = this.unsealedKey(packageName, pair);
    if (!key) throw new Error(`the webview signing key of ${packageName} cannot be unsealed`);
    return key;
  }

  /**
   * The stored pair, made when missing. A pair that no longer unseals (the JWT secret changed) is replaced:
   * the app's operator then has to fetch the new public key, which the log says.
   */
  private async pairOf(packageName: string): Promise<WebviewKeyPair | null> {
    const stored = await this.apps.findWebviewKey(packageName);
    if (stored && this.unsealedKey(packageName, stored)) return stored;
    // Only a registered app gets a key: unknown names cost a lookup, never a key generation.
    if (!stored && !(await this.apps.findByPackageName(packageName))) return null;
    let pending = this.making.get(packageName);
    if (!pending) {
      pending = this.make(packageName, stored).finally(() => this.making.delete(packageName));
      this.making.set(packageName, pending);
    }
    return pending;
  }

  private unsealedKey(packageName: string, pair: WebviewKeyPair): SigningKey | null {
    const cached = this.unsealed.get(packageName);
    if (cached?.sealed === pair.sealedPrivateKey) return cached.key;
    const privateKey = this.unseal(packageName, pair.sealedPrivateKey);
    if (!privateKey) return null;
    const key = { privateKey, keyId: keyIdOf(pair.publicKeyPem) };
    this.unsealed.set(packageName, { sealed: pair.sealedPrivateKey, key });
    return key;
  }

  private async make(packageName: string, replacing: WebviewKeyPair | null): Promise<WebviewKeyPair | null> {
    const { publicKey, privateKey } = await generateRsa('rsa', { modulusLength: 2048 });
    const next: WebviewKeyPair = {
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      sealedPrivateKey: this.seal(packageName, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
      createdAt: new Date(),
    };
    // Compare-and-set: when another request (or instance) stored a pair first, theirs is the one.
    const stored = await this.apps.replaceWebviewKey(packageName, replacing, next);
    if (stored?.sealedPrivateKey === next.sealedPrivateKey) {
      if (replacing)
        this.logger.warn(
          `the webview signing key of ${packageName} could not be unsealed (AUGMENTOS_AUTH_JWT_SECRET changed?) and was replaced: its app must set MENTRAOS_CLOUD_USER_TOKEN_PUBLIC_KEY to the new public key`,
        );
      else this.logger.log(`made the webview signing key of ${packageName}`);
    }
    return stored;
  }

  private seal(packageName: string, pem: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.sealKey, iv);
    cipher.setAAD(Buffer.from(packageName));
    const body = Buffer.concat([cipher.update(pem, 'utf8'), cipher.final()]);
    const parts = [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url'));
    return [SEAL_VERSION, ...parts].join('.');
  }

  /** The private key, or null when the sealed text is not ours (another secret, another package, tampered). */
  private unseal(packageName: string, sealed: string): KeyObject | null {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== SEAL_VERSION || !iv || !tag || !body) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.sealKey, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(packageName));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      const pem = Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]);
      return createPrivateKey(pem);
    } catch {
      return null;
    }
  }
}

function keyIdOf(publicKeyPem: string): string {
  return createHash('sha256').update(publicKeyPem).digest('base64url').slice(0, 16);
}
