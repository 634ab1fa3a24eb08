import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import type { Request } from 'express';
import { safeEqual } from '../common/crypto.util.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';

/** `Authorization: Bearer <ADMIN_API_KEY>`, compared in constant time. The admin API is never open. */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request>();
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
    if (!match || !safeEqual(match[1]!.trim(), this.config.adminApiKey)) {
      throw new UnauthorizedException({ statusCode: 401, code: 'UNAUTHORIZED', message: 'A valid admin API key is required (Authorization: Bearer <ADMIN_API_KEY>)' });
    }
    return true;
  }
}
