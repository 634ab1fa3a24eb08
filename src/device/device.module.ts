import { Module } from '@nestjs/common';
import { SessionCoreModule } from '../session/session-core.module.js';
import { DeviceManager } from './device-manager.js';

@Module({ imports: [SessionCoreModule], providers: [DeviceManager], exports: [DeviceManager] })
export class DeviceModule {}
