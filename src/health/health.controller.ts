import { Controller, Get, Optional, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorService, type HealthCheckResult } from '@nestjs/terminus';
import type { Response } from 'express';
import { NodeRegistry } from '../cluster/node-registry.js';
import { StoreHealth } from '../persistence/store-health.js';
import { SessionRegistry } from '../session/session-registry.js';

/** How long `/ready` waits for the store before calling it down. */
export const READY_STORE_TIMEOUT_MS = 2_000;

/**
 * Cluster mode while Redis (the cluster's, and maybe the store's) is away or the leases could not be renewed: the
 * process keeps serving the users it has, so it stays in the load balancer (200), but says so.
 */
export type ReadyBody = HealthCheckResult | (Omit<HealthCheckResult, 'status'> & { status: 'degraded' });

export type LivenessBody = HealthCheckResult & { status: 'ok'; sessions: number; uptime: number; timestamp: string };

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(
    private readonly registry: SessionRegistry,
    private readonly checks: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly store: StoreHealth,
    @Optional() private readonly nodes?: NodeRegistry,
  ) {}

  /** Liveness: answers from memory (never the store), so it stays fast while anything else is slow. */
  @Get('health')
  @ApiOperation({ summary: 'Liveness: the process serves requests; never touches the store' })
  @ApiOkResponse({ description: '{status:"ok", info, details, sessions, uptime, timestamp}' })
  health(): LivenessBody {
    const uptime = process.uptime();
    const process_ = this.indicators.check('process').up({ uptime: Math.round(uptime), sessions: this.registry.size });
    return {
      status: 'ok',
      info: process_,
      error: {},
      details: process_,
      sessions: this.registry.size,
      uptime,
      timestamp: new Date().toISOString(),
    };
  }

  /** Readiness: the store answers (StoreHealth.ping) and the service is not shutting down. */
  @Get('ready')
  @ApiOperation({ summary: 'Readiness: the store is reachable and the service is not shutting down' })
  @ApiOkResponse({
    description:
      '{status:"ok", info:{store:{status:"up", kind}}, …}; cluster mode: status "degraded" (still 200) while Redis is away or the leases could not be renewed',
  })
  @ApiServiceUnavailableResponse({ description: '{status:"error"|"shutting_down", error:{store:{status:"down"}}, …}' })
  async ready(@Res({ passthrough: true }) res: Response): Promise<ReadyBody> {
    try {
      const result = await this.checks.check([
        () =>
          this.indicators
            .check('store')
            .attempt(async () => {
              if (!(await this.store.ping())) throw new Error(`the ${this.store.kind} store does not answer`);
              return { kind: this.store.kind };
            })
            .withTimeout(READY_STORE_TIMEOUT_MS),
      ]);
      if (this.nodes && this.nodes.self().health === 'degraded') return { ...result, status: 'degraded' };
      return result;
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      const body = err.getResponse() as HealthCheckResult;
      if (this.nodes && !this.registry.isShuttingDown) return { ...body, status: 'degraded' };
      res.status(503);
      return body;
    }
  }
}
