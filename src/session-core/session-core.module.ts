import { Module } from '@nestjs/common';
import { SessionContext } from './session-context.js';

/** The per-user root every manager module imports. */
@Module({ providers: [SessionContext], exports: [SessionContext] })
export class SessionCoreModule {}
