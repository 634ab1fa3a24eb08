import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { Interval } from '@nestjs/schedule';
import { createHash, randomBytes } from 'node:crypto';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { CloudError } from '../common/cloud-error.js';
import { TEMP_TOKEN_STORE, type TempTokenStore } from './temp-token.store.js';
import { WebviewKeys } from './webview-keys.js';

/** The SDK accepts signed user tokens from this issuer only. */
export const SIGNED_TOKEN_ISSUER = 'https://prod.augmentos.cloud';
export const TEMP_TOKEN_TTL_MS = 60_000;

/**
 * Webview login for apps: single-use 60 s temp tokens (exchanged by the SDK with the app's key) and
 * RS256 signed user tokens (verified by the SDK with its app's public key: one key pair per package).
 */
@Injectable()
export class WebviewAuthService {
  private readonly jwt = new JwtService();

  constructor(
    @Inject(TEMP_TOKEN_STORE) private readonly temp: TempTokenStore,
    private readonly keys: WebviewKeys,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** A new temp token, or null when the user already holds MAX_WEBVIEW_TEMP_TOKENS_PER_USER unused ones. */
  async issueTempToken(userId: string, packageName: string, now = Date.now()): Promise<string | null> {
    const token = randomBytes(32).toString('hex');
    const entry = { userId, packageName, expiresAt: now + TEMP_TOKEN_TTL_MS };
    return (await this.temp.add(token, entry, this.config.maxWebviewTempTokensPerUser, now)) ? token : null;
  }

  /** Single use: the token is gone after this call whatever the outcome. */
  async exchange(
    token: string,
    packageName: string,
    now = Date.now(),
  ): Promise<{ ok: true; userId: string } | { ok: false; error: string }> {
    const entry = await this.temp.take(token);
    if (!entry || entry.expiresAt < now) return { ok: false, error: 'Invalid or expired temporary token' };
    if (entry.packageName !== packageName) return { ok: false, error: 'The token was issued for another app' };
    return { ok: true, userId: entry.userId };
  }

  /**
   * Signed with the package's own key, so only that app's SDK accepts it. SDK 2.1.29 checks signature, issuer
   * and time only; `aud` names the package for apps that check more.
   */
  async signUserToken(userId: string, packageName: string): Promise<string> {
    const key = await this.keys.signingKey(packageName);
    if (!key) throw new CloudError('APP_NOT_FOUND', `App ${packageName} does not exist`);
    return this.jwt.sign(
      { sub: userId, packageName },
      {
        privateKey: key.privateKey,
        algorithm: 'RS256',
        keyid: key.keyId,
        issuer: SIGNED_TOKEN_ISSUER,
        audience: packageName,
        expiresIn: '10m',
      },
    );
  }

  /** `cloudApiUrl` and its checksum let the SDK call this cloud instead of its hard-coded host. */
  webviewQuery(token: string, hashedApiKey: string): Record<string, string> {
    const cloudApiUrl = this.config.publicUrl;
    const checksum = createHash('sha256').update(cloudApiUrl).update(hashedApiKey).digest('hex');
    return { aos_temp_token: token, cloudApiUrl, cloudApiUrlChecksum: checksum };
  }

  @Interval(30_000)
  async sweep(now = Date.now()): Promise<void> {
    await this.temp.sweep(now);
  }
}
