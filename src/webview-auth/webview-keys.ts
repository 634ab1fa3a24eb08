import { Inject, Injectable, Logger } from '@nestjs/common';
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';

export const WEBVIEW_KEY_FILE = 'webview-signing-key.pem';

/**
 * The RS256 key pair that signs `aos_signed_user_token`s. Generated once and kept in DATA_DIR like the
 * other secrets; app developers give the SDK its public key through MENTRAOS_CLOUD_USER_TOKEN_PUBLIC_KEY.
 */
@Injectable()
export class WebviewKeys {
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const path = join(config.dataDir, WEBVIEW_KEY_FILE);
    if (existsSync(path)) {
      this.privateKeyPem = readFileSync(path, 'utf8');
    } else {
      mkdirSync(config.dataDir, { recursive: true });
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      this.privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, this.privateKeyPem, { mode: 0o600 });
      chmodSync(tmp, 0o600);
      renameSync(tmp, path);
      new Logger('WebviewKeys').log(`generated the webview signing key in ${path}`);
    }
    this.publicKeyPem = createPublicKey(this.privateKeyPem).export({ type: 'spki', format: 'pem' }).toString();
  }
}
