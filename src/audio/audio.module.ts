import { Module } from '@nestjs/common';
import { AppConnectionsModule } from '../app-connections/app-connections.module.js';
import { MicrophoneModule } from '../microphone/microphone.module.js';
import { SessionCoreModule } from '../session-core/session-core.module.js';
import { SubscriptionsModule } from '../subscriptions/subscriptions.module.js';
import { AudioManager } from './audio-manager.js';

@Module({
  imports: [SessionCoreModule, SubscriptionsModule, AppConnectionsModule, MicrophoneModule],
  providers: [AudioManager],
  exports: [AudioManager],
})
export class AudioModule {}
