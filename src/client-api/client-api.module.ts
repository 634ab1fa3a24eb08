import { Module } from '@nestjs/common';
import { SessionModule } from '../session/session.module.js';
import { SessionCallsModule } from '../session-calls/session-calls.module.js';
import { ClientAppsController } from './client-apps.controller.js';
import { ClientConnectionController } from './client-connection.controller.js';
import { ClientEventsController } from './client-events.controller.js';
import { ClientSettingsController } from './client-settings.controller.js';
import { ClientSettingsService } from './client-settings.service.js';
import { ClientVersionController } from './client-version.controller.js';

/**
 * The MentraOS phone app's REST surface (core token, CoreUserGuard): home screen, app start/stop, settings, phone
 * events, and the calls around its socket (audio format, goodbye, LiveKit).
 */
@Module({
  imports: [SessionModule, SessionCallsModule],
  controllers: [
    ClientVersionController,
    ClientAppsController,
    ClientSettingsController,
    ClientEventsController,
    ClientConnectionController,
  ],
  providers: [ClientSettingsService],
})
export class ClientApiModule {}
