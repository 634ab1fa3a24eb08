import { Module } from '@nestjs/common';
import { AdminGuard } from '../admin/admin.guard.js';
import { SessionModule } from '../session/session.module.js';
import { SimulatorLinkController, SimulatorLinkGuard } from './simulator-link.controller.js';
import { SimulatorLinkService } from './simulator-link.service.js';
import { WebUiController } from './web-ui.controller.js';

/**
 * The browser pages: `/simulator` (glasses in a browser tab, speaking /glasses-ws itself) and
 * `/console` (the developer console over the admin API), plus short-lived simulator links.
 */
@Module({
  imports: [SessionModule],
  controllers: [WebUiController, SimulatorLinkController],
  providers: [SimulatorLinkService, SimulatorLinkGuard, AdminGuard],
})
export class WebUiModule {}
