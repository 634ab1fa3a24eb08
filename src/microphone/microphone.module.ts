import { Module } from '@nestjs/common';
import { SessionCoreModule } from '../session-core/session-core.module.js';
import { SubscriptionsModule } from '../subscriptions/subscriptions.module.js';
import { MicrophoneManager } from './microphone-manager.js';

@Module({
  imports: [SessionCoreModule, SubscriptionsModule],
  providers: [MicrophoneManager],
  exports: [MicrophoneManager],
})
export class MicrophoneModule {}
