import { Inject, Injectable } from '@nestjs/common';
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { deadline } from '../common/deadline.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { requestIdHeaders } from '../observability/request-context.js';

export class WebhookError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'WebhookError';
  }
}

export interface WebhookOutcome {
  status: number;
  attempts: number;
}

/** POSTs JSON to app servers. No auth or signature: the SDK 2.1.29 expects none (apps.md §1.3). */
@Injectable()
export class WebhookClient {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** One attempt. 2xx resolves; anything else throws a WebhookError that says whether to retry. */
  async postOnce(url: string, body: object, signal?: AbortSignal): Promise<number> {
    const limit = deadline(this.config.webhookTimeoutMs, signal);
    try {
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...requestIdHeaders() },
          body: JSON.stringify(body),
          signal: limit.signal,
          redirect: 'manual',
        });
      } catch (err) {
        if (signal?.aborted) throw err;
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        const what = limit.timedOut ? `timed out after ${this.config.webhookTimeoutMs} ms` : (cause?.code ?? cause?.message ?? (err as Error).message);
        throw new WebhookError(`POST ${url} failed: ${what}`, true);
      }
      // Drain the body so the connection can be reused; its content is not part of the protocol.
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return res.status;
      const retryable = res.status >= 500 || res.status === 429 || res.status === 408;
      throw new WebhookError(`POST ${url} answered HTTP ${res.status}`, retryable, res.status);
    } finally {
      limit.dispose();
    }
  }

  /**
   * Retries 5xx, timeouts and refused connections with jittered exponential backoff until the
   * configured window closes or `signal` aborts (e.g. because the app connected meanwhile).
   */
  async postWithRetry(url: string, body: object, signal: AbortSignal, hooks: { onAttempt?: () => void; onAttemptFailed?: () => void } = {}): Promise<WebhookOutcome> {
    // One deadline for the whole window that also follows the caller's signal; `timedOut` tells the two apart.
    const window = deadline(Math.max(1, this.config.webhookRetryWindowMs), signal);
    const policy = retry(handleWhen((e) => e instanceof WebhookError && e.retryable && !window.signal.aborted), {
      maxAttempts: 1000,
      // The cap scales with the window (a fifth of it, at most 8 s), so a shortened window keeps the same schedule shape.
      backoff: new ExponentialBackoff({ initialDelay: this.config.webhookRetryBaseMs, maxDelay: Math.max(this.config.webhookRetryBaseMs, Math.min(8_000, Math.floor(this.config.webhookRetryWindowMs / 5))) }),
    });
    let attempts = 0;
    let lastError: Error | null = null;
    try {
      const status = await policy.execute(async () => {
        attempts++;
        hooks.onAttempt?.();
        try {
          return await this.postOnce(url, body, window.signal);
        } catch (err) {
          hooks.onAttemptFailed?.();
          if (!window.timedOut) lastError = err as Error;
          throw err;
        }
      }, window.signal);
      return { status, attempts };
    } catch (err) {
      if (signal.aborted || !window.timedOut) throw err;
      const last = lastError ? (lastError as Error).message : (err as Error).message;
      throw new WebhookError(`gave up after ${attempts} attempt(s) in ${this.config.webhookRetryWindowMs} ms; last error: ${last}`, false);
    } finally {
      window.dispose();
    }
  }
}
