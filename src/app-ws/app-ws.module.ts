import { Module } from '@nestjs/common';
import { SessionModule } from '../session/session.module.js';
import { AppGateway } from './app.gateway.js';
import { AppMessageHandler } from './app-message.handler.js';

@Module({ imports: [SessionModule], providers: [AppGateway, AppMessageHandler] })
export class AppWsModule {}
