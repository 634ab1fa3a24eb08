import { PostHog } from 'posthog-node';
import type { SessionEndedEvent, SessionEventSink } from './session-events.types.js';

export interface PostHogSinkOptions {
  apiKey: string;
  host: string;
  /** Events buffered before a batch is sent (posthog-node's flushAt). */
  flushAt?: number;
  /** Longest time an event waits in the buffer, ms (posthog-node's flushInterval). */
  flushIntervalMs?: number;
  /** Upper bound of the flush at shutdown. */
  shutdownTimeoutMs?: number;
}

/**
 * `session_ended` events to PostHog (its capture API, batched by posthog-node), the user id as the distinct id.
 * Sessions end one at a time, so events are batched (20, or 10 s) rather than sent one request each; whatever is
 * left is sent at shutdown.
 */
export class PostHogSink implements SessionEventSink {
  readonly name = 'posthog';
  private readonly client: PostHog;

  constructor(private readonly options: PostHogSinkOptions) {
    this.client = new PostHog(options.apiKey, {
      host: options.host,
      flushAt: options.flushAt ?? 20,
      flushInterval: options.flushIntervalMs ?? 10_000,
    });
  }

  sessionEnded(e: SessionEndedEvent): void {
    this.client.capture({
      distinctId: e.userId,
      event: 'session_ended',
      timestamp: new Date(e.endedAt),
      properties: {
        startedAt: e.startedAt,
        durationMs: e.durationMs,
        durationSeconds: Math.round(e.durationMs / 1000),
        appsUsed: e.appsUsed,
        appCount: e.appsUsed.length,
        reason: e.reason,
      },
    });
  }

  flush(): Promise<void> {
    return this.client.shutdown(this.options.shutdownTimeoutMs ?? 5_000);
  }
}
