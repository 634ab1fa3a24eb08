import { Global, Module } from '@nestjs/common';
import { LimiterFactory } from '../cluster/limiter.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { ClientAddress } from './client-address.js';
import { ADMIN_AUTH_FAILURES, PENDING_APP_SOCKETS } from './limiter.types.js';
import { FactoryFailureLimiter } from './factory-limiters.js';
import { MemoryConcurrencyLimiter } from './memory-limiters.js';

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
      inject: [APP_CONFIG, LimiterFactory],
      // Shared by every process when clustered (LimiterFactory): the budget is per client, not per process.
      useFactory: (config: AppConfig, limiters: LimiterFactory) =>
        FactoryFailureLimiter.create(
          limiters,
          'admin-auth-failures',
          config.adminAuthFailuresPerMinute,
          ADMIN_FAILURE_WINDOW_S,
        ),
    },
    // Per process on purpose, even clustered: a slot is held by an open socket of this process and must be given
    // back by it; a shared counter would leak the slots of a process that died. nginx spreads one address's
    // sockets over the processes by user, so the cluster admits at most N times APP_WS_PENDING_PER_ADDRESS.
    { provide: PENDING_APP_SOCKETS, useClass: MemoryConcurrencyLimiter },
  ],
  exports: [ClientAddress, ADMIN_AUTH_FAILURES, PENDING_APP_SOCKETS],
})
export class LimitsModule {}
