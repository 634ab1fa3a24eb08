import { Module } from '@nestjs/common';
import { AppConnectionsModule } from '../app-connections/app-connections.module.js';
import { DeviceModule } from '../device/device.module.js';
import { SessionCoreModule } from '../session-core/session-core.module.js';
import { PhotoManager } from './photo-manager.js';

@Module({
  imports: [SessionCoreModule, AppConnectionsModule, DeviceModule],
  providers: [PhotoManager],
  exports: [PhotoManager],
})
export class PhotoModule {}
