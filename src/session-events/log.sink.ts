import { Logger } from '@nestjs/common';
import type { SessionEndedEvent, SessionEventSink } from './session-events.types.js';

/** One log line per event (a JSON object per line with LOG_FORMAT=json), its fields those of the event. */
export class LogSink implements SessionEventSink {
  readonly name = 'log';
  private readonly logger = new Logger('SessionEvents');

  sessionEnded(e: SessionEndedEvent): void {
    this.logger.log({
      msg: `session of ${e.userId} ended (${e.reason}) after ${Math.round(e.durationMs / 1000)} s, ${e.appsUsed.length} app(s) used`,
      event: 'session.ended',
      ...e,
    });
  }
}
