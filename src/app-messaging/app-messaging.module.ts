import { Module } from '@nestjs/common';
import { SessionModule } from '../session/session.module.js';
import { AppMessagingController } from './app-messaging.controller.js';
import { AppMessagingService } from './app-messaging.service.js';
import { APP_ROOM_STORE, MemoryAppRoomStore } from './app-rooms.js';

@Module({
  imports: [SessionModule],
  providers: [AppMessagingService, { provide: APP_ROOM_STORE, useClass: MemoryAppRoomStore }],
  controllers: [AppMessagingController],
  exports: [AppMessagingService],
})
export class AppMessagingModule {}
