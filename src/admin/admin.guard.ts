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
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { safeEqual } from '../common/crypto.util.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';

const FAILURE_WINDOW_S = 60;

/**
 * `Authorization: Bearer <ADMIN_API_KEY>`, compared in constant time. The admin API is never open.
 * Failed authentications are counted per client IP: after ADMIN_AUTH_FAILURES_PER_MINUTE of them within a
 * minute every admin call from that IP (the right key included, so guessing cannot go on) gets 429 for a minute.
 */
@Injectable()
export class AdminGuard implements CanActivate {
  private readonly failures: RateLimiterMemory | null;
  private readonly maxFailures: number;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.maxFailures = config.adminAuthFailuresPerMinute;
    this.failures =
      this.maxFailures > 0
        ? new RateLimiterMemory({
            points: this.maxFailures,
            duration: FAILURE_WINDOW_S,
            blockDuration: FAILURE_WINDOW_S,
          })
        : null;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request>();
    const ip = req.ip ?? req.socket?.remoteAddress ?? 'unknown';
    const seen = this.failures ? await this.failures.get(ip) : null;
    if (seen && seen.consumedPoints >= this.maxFailures) this.refuse(context, Math.ceil(seen.msBeforeNext / 1000));
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
    if (!match || !safeEqual(match[1]!.trim(), this.config.adminApiKey)) {
      await this.failures?.consume(ip).catch(() => undefined);
      throw new UnauthorizedException({
        statusCode: 401,
        code: 'UNAUTHORIZED',
        message: 'A valid admin API key is required (Authorization: Bearer <ADMIN_API_KEY>)',
      });
    }
    return true;
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
