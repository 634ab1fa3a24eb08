import { Injectable, type OnModuleInit } from '@nestjs/common';
import { SessionRegistry } from '../session/session-registry.js';
import { ProviderRegistry } from '../transcription/providers/provider-registry.js';
import { MetricsService, type SessionView } from './metrics.service.js';

const NO_TRANSLATION: SessionView['translation'] = { describe: () => ({ streams: [] }) };

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
      // Translation is built on first use: a session that never used it has no streams to count.
      sessions: () =>
        this.sessions.sessions().map((s) => ({
          connections: s.connections,
          transcription: s.transcription,
          translation: s.built('translation') ?? NO_TRANSLATION,
        })),
      providers: () => this.providers.describe(),
    });
  }
}
