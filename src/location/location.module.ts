import { Module } from '@nestjs/common';
import { RelayModule } from '../relay/relay.module.js';
import { SessionCoreModule } from '../session-core/session-core.module.js';
import { SubscriptionsModule } from '../subscriptions/subscriptions.module.js';
import { LocationManager } from './location-manager.js';

@Module({
  imports: [SessionCoreModule, SubscriptionsModule, RelayModule],
  providers: [LocationManager],
  exports: [LocationManager],
})
export class LocationModule {}
