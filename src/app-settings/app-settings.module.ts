import { Module } from '@nestjs/common';
import { AdminGuard } from '../admin/admin.guard.js';
import { SessionModule } from '../session/session.module.js';
import { AdminAppSettingsController } from './admin-app-settings.controller.js';
import { AppSettingsController } from './app-settings.controller.js';
import { AppSettingsService } from './app-settings.service.js';

/** Users' app settings: the SDK's fetch, the phone's changes and the admin route, all pushing settings_update. */
@Module({
  imports: [SessionModule],
  controllers: [AppSettingsController, AdminAppSettingsController],
  providers: [AppSettingsService, AdminGuard],
  exports: [AppSettingsService],
})
export class AppSettingsModule {}
