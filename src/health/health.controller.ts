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
 * Clustered, while the cluster's Redis is away (or this node lost it): still 200, so the balancer keeps sending
 * this process the users it serves from memory, but marked degraded. The store's own failure (Redis again, when
 * it is the store) is reported in `error` as usual.
 */
export type ReadyBody = Omit<HealthCheckResult, 'status'> & { status: HealthCheckResult['status'] | 'degraded' };

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
  @ApiOperation({
    summary:
      'Readiness: the store is reachable and the service is not shutting down; clustered, "degraded" (still 200) while the cluster\'s Redis is away',
  })
  @ApiOkResponse({ description: '{status:"ok"|"degraded", info:{store:{status:"up", kind}}, …}' })
  @ApiServiceUnavailableResponse({ description: '{status:"error"|"shutting_down", error:{store:{status:"down"}}, …}' })
  async ready(@Res({ passthrough: true }) res: Response): Promise<ReadyBody> {
    const degraded = this.nodes?.self().health === 'degraded';
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
      return degraded ? { ...result, status: 'degraded' } : result;
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      const body = err.getResponse() as HealthCheckResult;
      if (degraded && body.status === 'error') return { ...body, status: 'degraded' };
      res.status(503);
      return body;
    }
  }
}
