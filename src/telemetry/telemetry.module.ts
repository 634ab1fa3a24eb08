import { Module } from '@nestjs/common';
import { IncidentStore } from './incident-store.js';
import { TelemetryController } from './telemetry.controller.js';

@Module({ providers: [IncidentStore], controllers: [TelemetryController], exports: [IncidentStore] })
export class TelemetryModule {}
