import { Module } from '@nestjs/common';
import { AppsStateModule } from '../apps/apps-state.module.js';
import { SessionCoreModule } from '../session-core/session-core.module.js';
import { AudioOutputManager } from './audio-output-manager.js';
import { AudioStreamDirectoryModule } from './audio-stream-directory.module.js';

@Module({
  imports: [SessionCoreModule, AppsStateModule, AudioStreamDirectoryModule],
  providers: [AudioOutputManager],
  exports: [AudioOutputManager],
})
export class AudioOutputModule {}
