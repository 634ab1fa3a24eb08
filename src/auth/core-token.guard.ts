import { createParamDecorator, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { CloudError } from '../common/cloud-error.js';
import { CoreTokenService } from './core-token.service.js';

const MAX_AUTH_HEADER = 9000;

/** What CoreTokenGuard leaves on the request for @CoreUserId(). */
interface CoreAuthedRequest extends Request {
  coreUserId?: string;
}

/**
 * Phone REST routes (`/api/client/*` and the like): `Authorization: Bearer <coreToken>`, the token the phone got
 * from `POST /auth/exchange-token` and uses on /glasses-ws. A missing or bad token is 401 INVALID_TOKEN with the
 * same messages the glasses socket gives. Read the user with `@CoreUserId()`.
 */
@Injectable()
export class CoreTokenGuard implements CanActivate {
  constructor(private readonly tokens: CoreTokenService) {}

  // `check`, not `verify`: a revoked token must not reach the phone routes either.
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<CoreAuthedRequest>();
    const check = await this.tokens.check(bearerToken(req.headers.authorization));
    if (!check.ok) throw new CloudError('INVALID_TOKEN', check.message);
    req.coreUserId = check.userId;
    return true;
  }
}

/** The user id CoreTokenGuard verified (lower-cased email). */
export const CoreUserId = createParamDecorator((_: unknown, context: ExecutionContext): string => {
  const userId = context.switchToHttp().getRequest<CoreAuthedRequest>().coreUserId;
  // Only reachable when a route forgot @UseGuards(CoreTokenGuard): fail closed.
  if (!userId) throw new CloudError('INVALID_TOKEN', 'No core token provided');
  return userId;
});

function bearerToken(header: unknown): string | null {
  if (typeof header !== 'string' || header.length > MAX_AUTH_HEADER) return null;
  return /^Bearer +(\S+)$/i.exec(header.trim())?.[1] ?? null;
}
