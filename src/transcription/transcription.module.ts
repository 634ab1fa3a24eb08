import { Module } from '@nestjs/common';
import { AudioModule } from '../audio/audio.module.js';
import { MicrophoneModule } from '../microphone/microphone.module.js';
import { RelayModule } from '../relay/relay.module.js';
import { SessionCoreModule } from '../session-core/session-core.module.js';
import { SubscriptionsModule } from '../subscriptions/subscriptions.module.js';
import { ProviderRegistry } from './providers/provider-registry.js';
import { TranscriptionManager } from './transcription-manager.js';

@Module({
  imports: [SessionCoreModule, SubscriptionsModule, RelayModule, AudioModule, MicrophoneModule],
  providers: [TranscriptionManager, ProviderRegistry],
  exports: [TranscriptionManager, ProviderRegistry],
})
export class TranscriptionModule {}
