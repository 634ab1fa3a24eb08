import { Module } from '@nestjs/common';
import { AppUninstalls } from '../shared-state/app-uninstalls.js';
import { SessionModule } from '../session/session.module.js';
import { SessionCallsModule } from '../session-calls/session-calls.module.js';
import { ToolsModule } from '../tools/tools.module.js';
import { TelemetryModule } from '../telemetry/telemetry.module.js';
import { AdminAppsController } from './admin-apps.controller.js';
import { AdminClusterController } from './admin-cluster.controller.js';
import { AdminSessionsController } from './admin-sessions.controller.js';
import { AdminToolsController } from './admin-tools.controller.js';
import { AdminIncidentsController } from './admin-incidents.controller.js';
import { AdminUsersController } from './admin-users.controller.js';
import { AdminGuard } from './admin.guard.js';

@Module({
  imports: [SessionModule, SessionCallsModule, ToolsModule, TelemetryModule],
  controllers: [
    AdminAppsController,
    AdminUsersController,
    AdminSessionsController,
    AdminToolsController,
    AdminIncidentsController,
    AdminClusterController,
  ],
  providers: [AdminGuard, AppUninstalls],
})
export class AdminModule {}
