import { Module } from '@nestjs/common';
import { SessionCoreModule } from '../session/session-core.module.js';
import { PhoneRequests } from './phone-requests.js';

@Module({ imports: [SessionCoreModule], providers: [PhoneRequests], exports: [PhoneRequests] })
export class PhoneModule {}
