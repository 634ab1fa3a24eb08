import { createParamDecorator, Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { PACKAGE_NAME_PATTERN } from '../admin/dto/app.dto.js';
import { CloudError } from '../common/cloud-error.js';
import { safeEqual, sha256Hex } from '../common/crypto.util.js';
import { APP_REPOSITORY, type AppRepository } from '../persistence/persistence.types.js';

export interface AppCredential {
  packageName: string;
  apiKey: string;
}

/** Longer headers are refused unparsed: API keys are 64 hex characters and package names at most 128. */
const MAX_HEADER_LENGTH = 1024;

/**
 * Reads `Authorization: Bearer <packageName>:<apiKey>` (the SDK's SimpleStorage header), split on
 * the first `:`, so a key holding `:` stays whole (and then simply does not match). Null for anything else: no
 * header, another scheme, a bare key, an empty half.
 */
export function parseAppCredential(header: unknown): AppCredential | null {
  if (typeof header !== 'string' || header.length > MAX_HEADER_LENGTH) return null;
  const match = /^Bearer +(\S+)$/i.exec(header.trim());
  if (!match) return null;
  const token = match[1]!;
  const colon = token.indexOf(':');
  if (colon <= 0 || colon === token.length - 1) return null;
  return { packageName: token.slice(0, colon), apiKey: token.slice(colon + 1) };
}

/** Compared against when the package is unknown, so an unknown package costs the same as a wrong key. */
const NO_APP_HASH = sha256Hex('no app has this key');

/** Where the guard leaves the authenticated package for the handler (never taken from the URL or body). */
const AUTHENTICATED_APP = Symbol('authenticatedApp');
type AuthenticatedRequest = Request & { [AUTHENTICATED_APP]?: string };

/**
 * Lets a request through only with a valid app credential: the key's sha256 must equal the stored hash of
 * the named package (constant-time compare). Everything else is a 401 INVALID_API_KEY before the handler
 * runs, so a refused request changes nothing. The package is then what the data is scoped to.
 */
@Injectable()
export class AppCredentialGuard implements CanActivate {
  constructor(@Inject(APP_REPOSITORY) private readonly apps: AppRepository) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const credential = parseAppCredential(req.headers.authorization);
    if (!credential) {
      throw new CloudError(
        'INVALID_API_KEY',
        'An app credential is required: Authorization: Bearer <packageName>:<apiKey>',
      );
    }
    const app = PACKAGE_NAME_PATTERN.test(credential.packageName)
      ? await this.apps.findByPackageName(credential.packageName)
      : null;
    const matches = safeEqual(sha256Hex(credential.apiKey), app?.hashedApiKey ?? NO_APP_HASH);
    if (!app || !matches) throw new CloudError('INVALID_API_KEY', 'The API key is not valid for this package');
    req[AUTHENTICATED_APP] = app.packageName;
    return true;
  }
}

/** The package AppCredentialGuard authenticated. */
export const AuthenticatedApp = createParamDecorator((_data: unknown, context: ExecutionContext): string => {
  const packageName = context.switchToHttp().getRequest<AuthenticatedRequest>()[AUTHENTICATED_APP];
  // Only reachable when a route forgot the guard: fail closed.
  if (!packageName) throw new CloudError('INVALID_API_KEY', 'No authenticated app');
  return packageName;
});
