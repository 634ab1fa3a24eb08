import { Module } from '@nestjs/common';
import { DeviceModule } from '../device/device.module.js';
import { SessionCoreModule } from '../session-core/session-core.module.js';
import { SubscriptionsModule } from '../subscriptions/subscriptions.module.js';
import { AppManager } from './app-manager.js';
import { AppConnectionsModule } from '../app-connections/app-connections.module.js';
import { PendingInits } from './pending-inits.js';
import { StartSlots } from './start-slots.js';
import { WebhookClient } from './webhook.client.js';

@Module({
  imports: [SessionCoreModule, AppConnectionsModule, SubscriptionsModule, DeviceModule],
  providers: [AppManager, WebhookClient, PendingInits, StartSlots],
  exports: [AppManager, AppConnectionsModule, WebhookClient, PendingInits],
})
export class AppsModule {}
