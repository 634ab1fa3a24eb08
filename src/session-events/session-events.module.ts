import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { MetricsService } from '../observability/metrics.service.js';
import { LogSink } from './log.sink.js';
import { MetricSink } from './metric.sink.js';
import { PostHogSink } from './posthog.sink.js';
import { SessionEvents } from './session-events.service.js';
import { SESSION_EVENT_SINKS, type SessionEventSink } from './session-events.types.js';

@Module({
  providers: [
    {
      provide: SESSION_EVENT_SINKS,
      inject: [APP_CONFIG, { token: MetricsService, optional: true }],
      useFactory: (config: AppConfig, metrics?: MetricsService): SessionEventSink[] => [
        new LogSink(),
        ...(metrics ? [new MetricSink(metrics)] : []),
        ...(config.posthog ? [new PostHogSink(config.posthog)] : []),
      ],
    },
    SessionEvents,
  ],
  exports: [SessionEvents],
})
export class SessionEventsModule {}
