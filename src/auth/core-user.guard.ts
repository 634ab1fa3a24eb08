import {
  createParamDecorator,
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import type { Request } from 'express';
import { bearerToken } from './bearer-token.js';
import { CoreTokenService } from './core-token.service.js';

/** A request whose `Authorization: Bearer <coreToken>` was verified; set only by CoreUserGuard. */
export interface CoreUserRequest extends Request {
  coreUserId?: string;
}

/**
 * The phone's REST routes: `Authorization: Bearer <coreToken>` (the token of `/glasses-ws`), verified once
 * here; anything else is 401 `INVALID_TOKEN`. The user is then read with `@CoreUser()`.
 */
@Injectable()
export class CoreUserGuard implements CanActivate {
  constructor(private readonly tokens: CoreTokenService) {}

  // `check`, not `verify`: a revoked token must not reach the phone routes either.
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<CoreUserRequest>();
    const check = await this.tokens.check(bearerToken(req.headers.authorization));
    if (!check.ok) throw new UnauthorizedException({ statusCode: 401, code: 'INVALID_TOKEN', message: check.message });
    req.coreUserId = check.userId;
    return true;
  }
}

/** The userId CoreUserGuard verified (lower-cased email). */
export const CoreUser = createParamDecorator((_: unknown, context: ExecutionContext): string => {
  const userId = context.switchToHttp().getRequest<CoreUserRequest>().coreUserId;
  if (!userId)
    throw new UnauthorizedException({ statusCode: 401, code: 'INVALID_TOKEN', message: 'Not authenticated' });
  return userId;
});
