import { Inject, Injectable, Optional, type OnModuleDestroy } from '@nestjs/common';
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import { deadline } from '../common/deadline.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { MetricsService } from '../observability/metrics.service.js';
import { REQUEST_ID_HEADER } from '../observability/request-context.js';

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

/**
 * POSTs JSON to app servers. No auth or signature: the SDK 2.1.29 expects none.
 * Plain `node:http(s)` with keep-alive agents rather than `fetch`: in the churn profile undici's fetch machinery
 * (Request/Response objects, web streams) was about 7.5 % of the server's CPU for a body of a few hundred bytes.
 */
@Injectable()
export class WebhookClient implements OnModuleDestroy {
  private readonly http = new HttpAgent({ keepAlive: true });
  private readonly https = new HttpsAgent({ keepAlive: true });

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() private readonly metrics?: MetricsService,
  ) {}

  onModuleDestroy(): void {
    this.http.destroy();
    this.https.destroy();
  }

  /**
   * One attempt. 2xx resolves; anything else throws a WebhookError that says whether to retry. `requestId` goes out
   * as `x-request-id`, so the app's logs can be matched with ours.
   */
  async postOnce(url: string, body: object, signal?: AbortSignal, requestId?: string): Promise<number> {
    const limit = deadline(this.config.webhookTimeoutMs, signal);
    try {
      let status: number;
      try {
        status = await this.post(new URL(url), JSON.stringify(body), limit.signal, requestId);
      } catch (err) {
        if (signal?.aborted) throw err;
        const what = limit.timedOut
          ? `timed out after ${this.config.webhookTimeoutMs} ms`
          : ((err as { code?: string }).code ?? (err as Error).message);
        throw new WebhookError(`POST ${url} failed: ${what}`, true);
      }
      if (status >= 200 && status < 300) return status;
      const retryable = status >= 500 || status === 429 || status === 408;
      throw new WebhookError(`POST ${url} answered HTTP ${status}`, retryable, status);
    } finally {
      limit.dispose();
    }
  }

  /** Resolves with the status once the whole response has arrived (drained, so the connection is reused). */
  private post(target: URL, payload: string, signal: AbortSignal, requestId: string | undefined): Promise<number> {
    const https = target.protocol === 'https:';
    const send = https ? httpsRequest : httpRequest;
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
    };
    if (requestId !== undefined) headers[REQUEST_ID_HEADER] = requestId;
    return new Promise<number>((resolve, reject) => {
      const req = send(
        target,
        {
          method: 'POST',
          agent: https ? this.https : this.http,
          signal,
          headers,
        },
        (res: IncomingMessage) => {
          res.once('error', reject);
          // A body cut off (the deadline, or the server gone) emits 'error' (ECONNRESET, "aborted").
          res.once('end', () => resolve(res.statusCode ?? 0));
          res.resume();
        },
      );
      req.once('error', reject);
      req.end(payload);
    });
  }

  /**
   * Retries 5xx, timeouts and refused connections with jittered exponential backoff until the
   * configured window closes or `signal` aborts (e.g. because the app connected meanwhile).
   */
  async postWithRetry(
    url: string,
    body: object,
    signal: AbortSignal,
    hooks: {
      onAttempt?: () => void;
      onAttemptFailed?: () => void;
      shouldRetry?: () => boolean;
      /** Sent as `x-request-id` with every attempt. */
      requestId?: string;
    } = {},
  ): Promise<WebhookOutcome> {
    // One deadline for the whole window that also follows the caller's signal; `timedOut` tells the two apart.
    const window = deadline(Math.max(1, this.config.webhookRetryWindowMs), signal);
    const policy = retry(
      handleWhen(
        (e) => e instanceof WebhookError && e.retryable && !window.signal.aborted && (hooks.shouldRetry?.() ?? true),
      ),
      {
        maxAttempts: 1000,
        // The cap scales with the window (a fifth of it, at most 8 s), so a shortened window keeps the same schedule shape.
        backoff: new ExponentialBackoff({
          initialDelay: this.config.webhookRetryBaseMs,
          maxDelay: Math.max(
            this.config.webhookRetryBaseMs,
            Math.min(8_000, Math.floor(this.config.webhookRetryWindowMs / 5)),
          ),
        }),
      },
    );
    let attempts = 0;
    let lastError: Error | null = null;
    const t0 = performance.now();
    try {
      const status = await policy.execute(async () => {
        attempts++;
        hooks.onAttempt?.();
        try {
          return await this.postOnce(url, body, window.signal, hooks.requestId);
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
      throw new WebhookError(
        `gave up after ${attempts} attempt(s) in ${this.config.webhookRetryWindowMs} ms; last error: ${last}`,
        false,
      );
    } finally {
      window.dispose();
      this.metrics?.recordPhase('webhook', performance.now() - t0);
    }
  }
}
