import { Module } from '@nestjs/common';
import { AppsStateModule } from '../apps/apps-state.module.js';
import { SessionCoreModule } from '../session-core/session-core.module.js';
import { SubscriptionsModule } from '../subscriptions/subscriptions.module.js';
import { EventRelay } from './event-relay.js';

@Module({
  imports: [SessionCoreModule, SubscriptionsModule, AppsStateModule],
  providers: [EventRelay],
  exports: [EventRelay],
})
export class RelayModule {}
