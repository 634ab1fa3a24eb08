import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { ClientAddress } from './client-address.js';
import { ADMIN_AUTH_FAILURES, PENDING_APP_SOCKETS } from './limiter.types.js';
import { MemoryConcurrencyLimiter, RateLimiterFailures } from './memory-limiters.js';

const ADMIN_FAILURE_WINDOW_S = 60;

/**
 * Process-wide limiter state, one instance each whatever module asks: guards are instantiated once per module
 * that uses them, so state kept in a guard would be multiplied by the number of modules.
 */
@Global()
@Module({
  providers: [
    ClientAddress,
    {
      provide: ADMIN_AUTH_FAILURES,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) =>
        RateLimiterFailures.inMemory(config.adminAuthFailuresPerMinute, ADMIN_FAILURE_WINDOW_S),
    },
    { provide: PENDING_APP_SOCKETS, useClass: MemoryConcurrencyLimiter },
  ],
  exports: [ClientAddress, ADMIN_AUTH_FAILURES, PENDING_APP_SOCKETS],
})
export class LimitsModule {}
