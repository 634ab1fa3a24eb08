import { Module } from '@nestjs/common';
import { SessionModule } from '../session/session.module.js';
import { ToolsModule } from '../tools/tools.module.js';
import { AdminAppsController } from './admin-apps.controller.js';
import { AdminSessionsController } from './admin-sessions.controller.js';
import { AdminToolsController } from './admin-tools.controller.js';
import { AdminUsersController } from './admin-users.controller.js';
import { AdminGuard } from './admin.guard.js';

@Module({
  imports: [SessionModule, ToolsModule],
  controllers: [AdminAppsController, AdminUsersController, AdminSessionsController, AdminToolsController],
  providers: [AdminGuard],
})
export class AdminModule {}
