import { Module } from '@nestjs/common';
import { SessionModule } from '../session/session.module.js';
import { AppMessagingController } from './app-messaging.controller.js';
import { AppMessagingService } from './app-messaging.service.js';

@Module({
  imports: [SessionModule],
  // APP_ROOM_STORE comes from SharedStateModule (global): in memory, or in Redis when clustered.
  providers: [AppMessagingService],
  controllers: [AppMessagingController],
  exports: [AppMessagingService],
})
export class AppMessagingModule {}
