import { Module } from '@nestjs/common';
import { AudioModule } from '../audio/audio.module.js';
import { RelayModule } from '../relay/relay.module.js';
import { SessionCoreModule } from '../session-core/session-core.module.js';
import { SubscriptionsModule } from '../subscriptions/subscriptions.module.js';
import { TranscriptionModule } from '../transcription/transcription.module.js';
import { TranslationManager } from './translation-manager.js';

@Module({
  imports: [SessionCoreModule, SubscriptionsModule, RelayModule, AudioModule, TranscriptionModule],
  providers: [TranslationManager],
  exports: [TranslationManager],
})
export class TranslationModule {}
