import type { MetricsService } from '../observability/metrics.service.js';
import type { SessionEndedEvent, SessionEventSink } from './session-events.types.js';

/** `mentra_sessions_ended_total{reason}` and `mentra_session_duration_seconds{reason}`. */
export class MetricSink implements SessionEventSink {
  readonly name = 'metric';

  constructor(private readonly metrics: MetricsService) {}

  sessionEnded(e: SessionEndedEvent): void {
    this.metrics.recordSessionEnd(e.reason, e.durationMs);
  }
}
