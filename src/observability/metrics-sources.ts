import { Injectable, type OnModuleInit } from '@nestjs/common';
import { SessionRegistry } from '../session/session-registry.js';
import { ProviderRegistry } from '../transcription/providers/provider-registry.js';
import { MetricsService } from './metrics.service.js';

/** Points the scrape-time gauges at the live session registry and the transcription providers. */
@Injectable()
export class MetricsSources implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    private readonly sessions: SessionRegistry,
    private readonly providers: ProviderRegistry,
  ) {}

  onModuleInit(): void {
    this.metrics.setSources({
      sessionCount: () => this.sessions.size,
      sessions: () => this.sessions.sessions(),
      providers: () => this.providers.describe(),
    });
  }
}
