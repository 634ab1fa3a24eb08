import { Module } from '@nestjs/common';
import { AppsStateModule } from '../apps/apps-state.module.js';
import { DeviceModule } from '../device/device.module.js';
import { SessionCoreModule } from '../session-core/session-core.module.js';
import { PhotoManager } from './photo-manager.js';

@Module({
  imports: [SessionCoreModule, AppsStateModule, DeviceModule],
  providers: [PhotoManager],
  exports: [PhotoManager],
})
export class PhotoModule {}
