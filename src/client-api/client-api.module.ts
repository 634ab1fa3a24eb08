import { Module } from '@nestjs/common';
import { SessionModule } from '../session/session.module.js';
import { ClientApiController } from './client-api.controller.js';

/** The phone's `/api/client/*` calls around its socket; routes guard with CoreTokenGuard (src/auth). */
@Module({ imports: [SessionModule], controllers: [ClientApiController] })
export class ClientApiModule {}
