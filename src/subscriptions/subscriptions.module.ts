import { Module } from '@nestjs/common';
import { SessionCoreModule } from '../session-core/session-core.module.js';
import { SubscriptionManager } from './subscription-manager.js';

@Module({ imports: [SessionCoreModule], providers: [SubscriptionManager], exports: [SubscriptionManager] })
export class SubscriptionsModule {}
