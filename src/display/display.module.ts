import { Module } from '@nestjs/common';
import { AppConnectionsModule } from '../app-connections/app-connections.module.js';
import { SessionCoreModule } from '../session-core/session-core.module.js';
import { DisplayManager } from './display-manager.js';

@Module({ imports: [SessionCoreModule, AppConnectionsModule], providers: [DisplayManager], exports: [DisplayManager] })
export class DisplayModule {}
