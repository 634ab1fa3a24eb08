import { Module } from '@nestjs/common';
import { AppConnectionsModule } from '../app-connections/app-connections.module.js';
import { SessionCoreModule } from '../session-core/session-core.module.js';
import { SubscriptionsModule } from '../subscriptions/subscriptions.module.js';
import { EventRelay } from './event-relay.js';

@Module({
  imports: [SessionCoreModule, SubscriptionsModule, AppConnectionsModule],
  providers: [EventRelay],
  exports: [EventRelay],
})
export class RelayModule {}
