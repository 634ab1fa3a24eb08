import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { SessionModule } from '../session/session.module.js';
import { HealthController } from './health.controller.js';

@Module({
  imports: [SessionModule, TerminusModule.forRoot({ errorLogStyle: 'json' })],
  controllers: [HealthController],
})
export class HealthModule {}
