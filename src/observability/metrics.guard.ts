import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { AdminGuard } from '../admin/admin.guard.js';
import { safeEqual } from '../common/crypto.util.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';

/**
 * `/metrics` is never open: `Authorization: Bearer <METRICS_TOKEN>` when that is set (a scraper needs no
 * admin rights), otherwise, and always, the admin key through the admin guard, failure limit included.
 */
@Injectable()
export class MetricsGuard implements CanActivate {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly admin: AdminGuard,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const token = this.config.metricsToken;
    if (token) {
      const header = context.switchToHttp().getRequest<Request>().headers.authorization;
      const match = typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
      if (match && safeEqual(match[1]!.trim(), token)) return true;
    }
    return this.admin.canActivate(context);
  }
}
