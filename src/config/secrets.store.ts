import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface StoredSecrets {
  jwtSecret: string;
  adminApiKey: string;
}

const FILE = 'secrets.json';

/**
 * Secrets that were not configured are generated once and kept in DATA_DIR, so a bare `npm start`
 * is never running on an empty or well-known secret and tokens survive a restart.
 */
export function loadOrCreateSecrets(dataDir: string): { secrets: StoredSecrets; created: boolean } {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, FILE);
  if (existsSync(path)) {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<StoredSecrets>;
    if (typeof parsed.jwtSecret === 'string' && parsed.jwtSecret.length >= 32 && typeof parsed.adminApiKey === 'string' && parsed.adminApiKey.length >= 32) {
      return { secrets: { jwtSecret: parsed.jwtSecret, adminApiKey: parsed.adminApiKey }, created: false };
    }
    throw new Error(`${path} is damaged: delete it to generate new secrets (all issued tokens become invalid)`);
  }
  const secrets: StoredSecrets = {
    jwtSecret: randomBytes(32).toString('hex'),
    adminApiKey: randomBytes(24).toString('base64url'),
  };
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
  return { secrets, created: true };
}
