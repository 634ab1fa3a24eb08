import { Module } from '@nestjs/common';
import { AppMessagingModule } from '../app-messaging/app-messaging.module.js';
import { AppsModule } from '../apps/apps.module.js';
import { SessionModule } from '../session/session.module.js';
import { AppGateway } from './app.gateway.js';
import { AppMessageHandler } from './app-message.handler.js';

@Module({ imports: [SessionModule, AppsModule, AppMessagingModule], providers: [AppGateway, AppMessageHandler] })
export class AppWsModule {}
