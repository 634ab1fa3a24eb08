import { Module } from '@nestjs/common';
import { AppsStateModule } from '../apps/apps-state.module.js';
import { MicrophoneModule } from '../microphone/microphone.module.js';
import { SessionCoreModule } from '../session-core/session-core.module.js';
import { SubscriptionsModule } from '../subscriptions/subscriptions.module.js';
import { AudioManager } from './audio-manager.js';

@Module({
  imports: [SessionCoreModule, SubscriptionsModule, AppsStateModule, MicrophoneModule],
  providers: [AudioManager],
  exports: [AudioManager],
})
export class AudioModule {}
