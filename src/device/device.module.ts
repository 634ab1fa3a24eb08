import { Module } from '@nestjs/common';
import { AppsStateModule } from '../apps/apps-state.module.js';
import { SessionCoreModule } from '../session-core/session-core.module.js';
import { DeviceManager } from './device-manager.js';

@Module({ imports: [SessionCoreModule, AppsStateModule], providers: [DeviceManager], exports: [DeviceManager] })
export class DeviceModule {}
