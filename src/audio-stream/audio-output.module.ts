import { Module } from '@nestjs/common';
import { AppConnectionsModule } from '../app-connections/app-connections.module.js';
import { SessionCoreModule } from '../session-core/session-core.module.js';
import { AudioOutputManager } from './audio-output-manager.js';
import { AudioStreamDirectoryModule } from './audio-stream-directory.module.js';

@Module({
  imports: [SessionCoreModule, AppConnectionsModule, AudioStreamDirectoryModule],
  providers: [AudioOutputManager],
  exports: [AudioOutputManager],
})
export class AudioOutputModule {}
