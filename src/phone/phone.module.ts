import { Module } from '@nestjs/common';
import { AppsStateModule } from '../apps/apps-state.module.js';
import { SessionCoreModule } from '../session-core/session-core.module.js';
import { PhoneRequests } from './phone-requests.js';

@Module({ imports: [SessionCoreModule, AppsStateModule], providers: [PhoneRequests], exports: [PhoneRequests] })
export class PhoneModule {}
