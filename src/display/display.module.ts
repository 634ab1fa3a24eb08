import { Module } from '@nestjs/common';
import { AppsStateModule } from '../apps/apps-state.module.js';
import { SessionCoreModule } from '../session-core/session-core.module.js';
import { DisplayManager } from './display-manager.js';

@Module({ imports: [SessionCoreModule, AppsStateModule], providers: [DisplayManager], exports: [DisplayManager] })
export class DisplayModule {}
