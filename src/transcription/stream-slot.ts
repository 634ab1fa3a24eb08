import type { MediaConfig } from '../config/config.types.js';
import {
  ProviderError,
  type ProviderResult,
  type ProviderStream,
  type StreamSpec,
} from './providers/provider.types.js';
import type { ProviderRegistry } from './providers/provider-registry.js';

export type SlotState = 'opening' | 'open' | 'backoff' | 'waiting_provider' | 'closed';

export interface SlotView {
  key: string;
  provider: string | null;
  state: SlotState;
  restarts: number;
  lastError: string | null;
  openedAt: string | null;
}

/**
 * One provider stream of one session, supervised: restarts with jittered exponential backoff on
 * errors and on silent stalls (audio flows, nothing comes back), falls over to the next provider,
 * waits out a provider-wide cooling-off instead of hammering it.
 */
export class StreamSlot {
  state: SlotState = 'opening';
  private stream: ProviderStream | null = null;
  private providerName: string | null = null;
  private restarts = 0;
  private attempt = 0;
  private lastError: string | null = null;
  private openedAt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  /** Audio time (ms) written since the last result: the stall detector works in audio time, not wall time. */
  private audioMsSinceResult = 0;
  private gotResult = false;
  private finalizing = false;

  constructor(
    readonly key: string,
    readonly spec: StreamSpec,
    private readonly registry: ProviderRegistry,
    private readonly media: MediaConfig,
    private readonly onResult: (result: ProviderResult, provider: string) => void,
    private readonly log: (message: string) => void,
  ) {
    this.open();
  }

  private open(exclude?: string): void {
    if (this.state === 'closed') return;
    const provider = this.registry.pick(this.spec, Date.now(), exclude);
    if (!provider) {
      // Every provider is cooling off: wait until one is back instead of retrying into an outage.
      this.state = 'waiting_provider';
      const at = this.registry.nextAvailableAt(this.spec);
      this.schedule(Math.max(this.media.restartBaseMs, (at ?? Date.now() + this.media.cooldownMs) - Date.now()));
      return;
    }
    this.state = 'opening';
    this.providerName = provider.name;
    this.audioMsSinceResult = 0;
    this.gotResult = false;
    let current: ProviderStream | null = null;
    const isCurrent = () => this.stream === current && current !== null;
    current = provider.open(this.spec, {
      onOpen: () => {
        if (!isCurrent()) return;
        this.state = 'open';
        this.openedAt = Date.now();
      },
      onResult: (r) => {
        // Results of a stream being replaced are still real speech: deliver them.
        if (this.state === 'closed' && !this.finalizing) return;
        this.audioMsSinceResult = 0;
        if (!this.gotResult) {
          this.gotResult = true;
          this.attempt = 0;
          this.registry.recordSuccess(provider.name);
        }
        this.onResult(r, provider.name);
      },
      onError: (err) => {
        if (!isCurrent()) return;
        this.fail(provider.name, err);
      },
      onClosed: () => {
        if (!isCurrent() || this.state === 'closed') return;
        this.fail(provider.name, new ProviderError(provider.name, 'stream closed by the provider', true));
      },
    });
    this.stream = current;
  }

  private fail(provider: string, err: ProviderError): void {
    this.lastError = `${provider}: ${err.message}`;
    this.registry.recordFailure(provider, err.message);
    this.stream = null;
    if (this.state === 'closed') return;
    this.restarts++;
    this.attempt++;
    this.log(`${this.key} on ${provider} failed (${err.retryable ? 'retryable' : 'fatal'}): ${err.message}`);
    if (!err.retryable) {
      // A fatal error (bad key, bad config) will not heal by retrying this provider: try the next one now.
      this.open(provider);
      return;
    }
    this.state = 'backoff';
    const base = Math.min(this.media.restartMaxMs, this.media.restartBaseMs * 2 ** Math.min(this.attempt - 1, 10));
    this.schedule(base / 2 + Math.random() * (base / 2));
  }

  private schedule(ms: number): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, ms);
  }

  write(pcm: Buffer): void {
    if (this.stream === null) return;
    this.stream.write(pcm);
    this.audioMsSinceResult += pcm.length / 32;
    if (this.state === 'open' && this.audioMsSinceResult > this.media.stallMs) {
      const provider = this.providerName ?? 'provider';
      this.stream.close();
      this.fail(
        provider,
        new ProviderError(provider, `no result for ${Math.round(this.audioMsSinceResult)} ms of audio`, true),
      );
    }
  }

  finalize(): void {
    this.stream?.finalize();
  }

  keepalive(): void {
    this.stream?.keepalive();
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    // Let a last final arrive from the stream being closed.
    this.finalizing = true;
    const s = this.stream;
    this.stream = null;
    s?.close();
    setTimeout(() => {
      this.finalizing = false;
    }, 2_000).unref();
  }

  view(): SlotView {
    return {
      key: this.key,
      provider: this.providerName,
      state: this.state,
      restarts: this.restarts,
      lastError: this.lastError,
      openedAt: this.openedAt ? new Date(this.openedAt).toISOString() : null,
    };
  }
}
