import { Module } from '@nestjs/common';
import { AppConnectionsModule } from '../app-connections/app-connections.module.js';
import { SessionCoreModule } from '../session-core/session-core.module.js';
import { PhoneRequests } from './phone-requests.js';

@Module({ imports: [SessionCoreModule, AppConnectionsModule], providers: [PhoneRequests], exports: [PhoneRequests] })
export class PhoneModule {}
