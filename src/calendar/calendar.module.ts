import { Module } from '@nestjs/common';
import { RelayModule } from '../relay/relay.module.js';
import { SessionCoreModule } from '../session-core/session-core.module.js';
import { CalendarManager } from './calendar-manager.js';

@Module({ imports: [SessionCoreModule, RelayModule], providers: [CalendarManager], exports: [CalendarManager] })
export class CalendarModule {}
