import { Module } from '@nestjs/common';
import { SessionModule } from '../session/session.module.js';
import { GlassesGateway } from './glasses.gateway.js';
import { GlassesMessageHandler } from './glasses-message.handler.js';

@Module({ imports: [SessionModule], providers: [GlassesGateway, GlassesMessageHandler] })
export class GlassesWsModule {}
