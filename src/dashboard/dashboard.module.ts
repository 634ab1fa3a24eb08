import { Module } from '@nestjs/common';
import { AppsStateModule } from '../apps/apps-state.module.js';
import { DisplayModule } from '../display/display.module.js';
import { SessionCoreModule } from '../session-core/session-core.module.js';
import { DashboardManager } from './dashboard-manager.js';

@Module({
  imports: [SessionCoreModule, DisplayModule, AppsStateModule],
  providers: [DashboardManager],
  exports: [DashboardManager],
})
export class DashboardModule {}
