import {
  CanActivate,
  ExecutionContext,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { safeEqual } from '../common/crypto.util.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { ADMIN_AUTH_FAILURES, type FailureLimiter } from '../limits/limiter.types.js';

/**
 * `Authorization: Bearer <ADMIN_API_KEY>`, compared in constant time. The admin API is never open.
 * Failed authentications are counted per client address (`req.ip`: behind a proxy, from X-Forwarded-For only as
 * TRUST_PROXY allows) in one limiter for the whole process: after ADMIN_AUTH_FAILURES_PER_MINUTE of them within a
 * minute, wrong keys from that address get 429 until the minute is over. The right key is never
 * refused: it is checked before the limiter is consulted, and never counted.
 */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(ADMIN_AUTH_FAILURES) private readonly failures: FailureLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request>();
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
    if (match && safeEqual(match[1]!.trim(), this.config.adminApiKey)) return true;
    const ip = req.ip ?? req.socket?.remoteAddress ?? 'unknown';
    const blockedMs = await this.failures.blockedForMs(ip);
    if (blockedMs > 0) this.refuse(context, Math.ceil(blockedMs / 1000));
    await this.failures.recordFailure(ip);
    throw new UnauthorizedException({
      statusCode: 401,
      code: 'UNAUTHORIZED',
      message: 'A valid admin API key is required (Authorization: Bearer <ADMIN_API_KEY>)',
    });
  }

  private refuse(context: ExecutionContext, retryAfterS: number): never {
    context
      .switchToHttp()
      .getResponse<Response>()
      .setHeader('Retry-After', String(Math.max(1, retryAfterS)));
    throw new HttpException(
      {
        statusCode: 429,
        code: 'RATE_LIMITED',
        message: 'Too many failed admin authentications from this address; try again later',
      },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}
