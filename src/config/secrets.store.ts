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
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, FILE);
  if (existsSync(path)) {
    const damaged = (why: string, cause?: unknown) =>
      new Error(`${path} is damaged (${why}): delete it to generate new secrets (all issued tokens become invalid)`, {
        cause,
      });
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new Error(
        `${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): fix its permissions, or delete it to generate new secrets`,
        { cause: err },
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw damaged('not JSON', err);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw damaged('not a JSON object');
    const { jwtSecret, adminApiKey } = parsed as Partial<Record<keyof StoredSecrets, unknown>>;
    if (typeof jwtSecret !== 'string' || jwtSecret.trim().length < 32)
      throw damaged('jwtSecret missing or shorter than 32 characters');
    if (typeof adminApiKey !== 'string' || adminApiKey.trim().length < 32)
      throw damaged('adminApiKey missing or shorter than 32 characters');
    if (jwtSecret === adminApiKey) throw damaged('jwtSecret and adminApiKey are the same');
    return { secrets: { jwtSecret, adminApiKey }, created: false };
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
