import { Module } from '@nestjs/common';
import { SessionModule } from '../session/session.module.js';
import { SessionCalls } from './session-calls.service.js';

/** Calls on a user's live session from any process (the owner carries them out when clustered). */
@Module({
  imports: [SessionModule],
  providers: [SessionCalls],
  exports: [SessionCalls],
})
export class SessionCallsModule {}
