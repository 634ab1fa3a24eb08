import { Module } from '@nestjs/common';
import { AppConnectionsModule } from '../app-connections/app-connections.module.js';
import { DeviceModule } from '../device/device.module.js';
import { SessionCoreModule } from '../session-core/session-core.module.js';
import { UserSettingsManager } from './user-settings.manager.js';

/** The user's MentraOS settings inside a live session (the store and the REST routes live elsewhere). */
@Module({
  imports: [SessionCoreModule, AppConnectionsModule, DeviceModule],
  providers: [UserSettingsManager],
  exports: [UserSettingsManager],
})
export class UserSettingsModule {}
