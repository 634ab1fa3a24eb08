import { Global, Module } from '@nestjs/common';
import { AdminGuard } from '../admin/admin.guard.js';
import { SessionModule } from '../session/session.module.js';
import { TranscriptionModule } from '../transcription/transcription.module.js';
import { MetricsController } from './metrics.controller.js';
import { MetricsGuard } from './metrics.guard.js';
import { MetricsSources } from './metrics-sources.js';
import { MetricsService } from './metrics.service.js';
import { SocketTracker } from './socket-tracker.js';

/**
 * Metrics (`/metrics`), the per-socket tracking of both gateways (ids, rate limits, close lines). Global so
 * the gateways and the per-session managers can inject MetricsService / SocketTracker without imports.
 */
@Global()
@Module({
  imports: [SessionModule, TranscriptionModule],
  controllers: [MetricsController],
  providers: [MetricsService, MetricsSources, SocketTracker, MetricsGuard, AdminGuard],
  exports: [MetricsService, SocketTracker],
})
export class ObservabilityModule {}
