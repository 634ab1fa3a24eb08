import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../config/config.types.js';
import type { StreamSpec, TranscriptionProvider } from './provider.types.js';
import { SonioxProvider } from './soniox.provider.js';
import { VoskProvider } from './vosk.provider.js';

interface Health {
  consecutiveFailures: number;
  coolingUntil: number;
  failures: number;
  lastError: string | null;
}

/**
 * The configured providers, in order, and their health across every session: a provider that keeps
 * failing is skipped for a cooling-off time by everyone at once, so an outage does not turn into a
 * restart storm of thousands of sessions hammering it.
 */
@Injectable()
export class ProviderRegistry {
  private readonly logger = new Logger('Transcription');
  readonly providers: TranscriptionProvider[];
  private readonly health = new Map<string, Health>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    const media = config.media;
    this.providers = media.transcriptionProviders.map((name) =>
      name === 'soniox' ? new SonioxProvider(media.soniox!) : new VoskProvider(media.voskUrls),
    );
    for (const p of this.providers)
      this.health.set(p.name, { consecutiveFailures: 0, coolingUntil: 0, failures: 0, lastError: null });
  }

  /** Tests and operators may add providers (e.g. a double) without touching the config. */
  register(provider: TranscriptionProvider): void {
    this.providers.push(provider);
    this.health.set(provider.name, { consecutiveFailures: 0, coolingUntil: 0, failures: 0, lastError: null });
  }

  get hasCloudProvider(): boolean {
    return this.providers.length > 0;
  }

  /** The first provider, in configured order, that supports the spec and is not cooling off (skipping `exclude`). */
  pick(spec: StreamSpec, now = Date.now(), exclude?: string): TranscriptionProvider | null {
    const candidates = this.providers.filter((p) => p.supports(spec));
    const healthy = candidates.filter((p) => (this.health.get(p.name)?.coolingUntil ?? 0) <= now);
    return healthy.find((p) => p.name !== exclude) ?? healthy[0] ?? null;
  }

  /** When the earliest cooling provider for this spec becomes usable again (for scheduling a retry). */
  nextAvailableAt(spec: StreamSpec): number | null {
    const times = this.providers.filter((p) => p.supports(spec)).map((p) => this.health.get(p.name)?.coolingUntil ?? 0);
    return times.length ? Math.min(...times) : null;
  }

  recordSuccess(name: string): void {
    const h = this.health.get(name);
    if (h) h.consecutiveFailures = 0;
  }

  recordFailure(name: string, error: string, now = Date.now()): void {
    const h = this.health.get(name);
    if (!h) return;
    h.failures++;
    h.consecutiveFailures++;
    h.lastError = error;
    if (h.consecutiveFailures >= this.config.media.failureThreshold && h.coolingUntil <= now) {
      h.coolingUntil = now + this.config.media.cooldownMs;
      h.consecutiveFailures = 0;
      this.logger.warn(
        `provider ${name} failed ${this.config.media.failureThreshold} times in a row (${error}); skipping it for ${this.config.media.cooldownMs} ms`,
      );
    }
  }

  describe(now = Date.now()): Array<{ name: string; coolingOff: boolean; failures: number; lastError: string | null }> {
    return this.providers.map((p) => {
      const h = this.health.get(p.name)!;
      return { name: p.name, coolingOff: h.coolingUntil > now, failures: h.failures, lastError: h.lastError };
    });
  }
}
