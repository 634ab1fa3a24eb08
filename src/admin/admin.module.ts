import { Module } from '@nestjs/common';
import { SessionModule } from '../session/session.module.js';
import { AdminAppsController } from './admin-apps.controller.js';
import { AdminSessionsController } from './admin-sessions.controller.js';
import { AdminUsersController } from './admin-users.controller.js';
import { AdminGuard } from './admin.guard.js';

@Module({
  imports: [SessionModule],
  controllers: [AdminAppsController, AdminUsersController, AdminSessionsController],
  providers: [AdminGuard],
})
export class AdminModule {}
