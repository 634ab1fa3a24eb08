import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { errorMessage } from '../common/cloud-error.js';
import { SESSION_EVENT_SINKS, type SessionEndedEvent, type SessionEventSink } from './session-events.types.js';

/** The one way session events leave the session code: each event goes to every configured sink. */
@Injectable()
export class SessionEvents implements OnApplicationShutdown {
  private readonly logger = new Logger('SessionEvents');

  constructor(@Inject(SESSION_EVENT_SINKS) private readonly sinks: SessionEventSink[]) {}

  sessionEnded(event: SessionEndedEvent): void {
    for (const sink of this.sinks) {
      try {
        sink.sessionEnded(event);
      } catch (err) {
        this.logger.error(`sink ${sink.name} failed on session.ended: ${errorMessage(err)}`);
      }
    }
  }

  /** After SessionRegistry ended the last sessions (beforeApplicationShutdown), so their events go out too. */
  async onApplicationShutdown(): Promise<void> {
    await Promise.all(
      this.sinks.map(async (sink) => {
        try {
          await sink.flush?.();
        } catch (err) {
          this.logger.warn(`sink ${sink.name} could not flush: ${errorMessage(err)}`);
        }
      }),
    );
  }
}
