import { Module } from '@nestjs/common';
import { SessionCoreModule } from '../session-core/session-core.module.js';
import { AppConnections } from './app-connections.js';

@Module({ imports: [SessionCoreModule], providers: [AppConnections], exports: [AppConnections] })
export class AppConnectionsModule {}
