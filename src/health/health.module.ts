import { Module } from '@nestjs/common';
import { SessionModule } from '../session/session.module.js';
import { HealthController } from './health.controller.js';

@Module({ imports: [SessionModule], controllers: [HealthController] })
export class HealthModule {}
