import { Module } from '@nestjs/common';
import { AppConnectionsModule } from '../app-connections/app-connections.module.js';
import { DisplayModule } from '../display/display.module.js';
import { SessionCoreModule } from '../session-core/session-core.module.js';
import { DashboardManager } from './dashboard-manager.js';

@Module({
  imports: [SessionCoreModule, DisplayModule, AppConnectionsModule],
  providers: [DashboardManager],
  exports: [DashboardManager],
})
export class DashboardModule {}
