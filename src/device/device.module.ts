import { Module } from '@nestjs/common';
import { AppConnectionsModule } from '../app-connections/app-connections.module.js';
import { SessionCoreModule } from '../session-core/session-core.module.js';
import { DeviceManager } from './device-manager.js';

@Module({ imports: [SessionCoreModule, AppConnectionsModule], providers: [DeviceManager], exports: [DeviceManager] })
export class DeviceModule {}
