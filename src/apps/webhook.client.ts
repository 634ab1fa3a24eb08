import { Inject, Injectable, Optional, type OnModuleDestroy } from '@nestjs/common';
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
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

/** An attempt's own time limit ran out (as opposed to the caller aborting). */
class AttemptTimeout extends Error {
  constructor() {
    super('webhook attempt timed out');
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
  postOnce(url: string, body: object, signal?: AbortSignal, requestId?: string): Promise<number> {
    return this.attempt(url, JSON.stringify(body), this.config.webhookTimeoutMs, signal, requestId);
  }

  private async attempt(
    url: string,
    payload: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    requestId: string | undefined,
  ): Promise<number> {
    let status: number;
    try {
      status = await this.post(new URL(url), payload, timeoutMs, signal, requestId);
    } catch (err) {
      if (signal?.aborted) throw err;
      const what =
        err instanceof AttemptTimeout
          ? `timed out after ${timeoutMs} ms`
          : ((err as { code?: string }).code ?? (err as Error).message);
      throw new WebhookError(`POST ${url} failed: ${what}`, true);
    }
    if (status >= 200 && status < 300) return status;
    const retryable = status >= 500 || status === 429 || status === 408;
    throw new WebhookError(`POST ${url} answered HTTP ${status}`, retryable, status);
  }

  /**
   * Resolves with the status once the whole response has arrived (drained, so the connection is reused); rejects
   * with AttemptTimeout after `timeoutMs`, or when `signal` aborts. One timer and one listener, rather than an
   * AbortController per attempt handed to `request` (which adds its own listener): a webhook's client side cost
   * ~50 µs more that way, measured in-process.
   */
  private post(
    target: URL,
    payload: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    requestId: string | undefined,
  ): Promise<number> {
    const https = target.protocol === 'https:';
    const send = https ? httpsRequest : httpRequest;
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
    };
    if (requestId !== undefined) headers[REQUEST_ID_HEADER] = requestId;
    return new Promise<number>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      let timedOut = false;
      const req = send(target, { method: 'POST', agent: https ? this.https : this.http, headers }, (res) => {
        // A body cut off (the deadline, or the server gone) emits 'error' (ECONNRESET, "aborted").
        res.once('error', fail);
        res.once('end', () => {
          settle();
          resolve(res.statusCode ?? 0);
        });
        res.resume();
      });
      const timer = setTimeout(
        () => {
          timedOut = true;
          req.destroy(new AttemptTimeout());
        },
        Math.max(1, timeoutMs),
      );
      timer.unref();
      const onAbort = (): void => void req.destroy(signal!.reason as Error);
      signal?.addEventListener('abort', onAbort, { once: true });
      function settle(): void {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      }
      function fail(err: unknown): void {
        settle();
        reject(timedOut ? new AttemptTimeout() : err);
      }
      req.once('error', fail);
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
    const t0 = performance.now();
    const windowMs = Math.max(1, this.config.webhookRetryWindowMs);
    const payload = JSON.stringify(body);
    let attempts = 1;
    // The first attempt runs on its own (most webhooks answer at once); the retry policy comes in only after a
    // retryable failure, replaying that failure first so its backoff schedule is the same as if it ran every attempt.
    let replay: Error;
    hooks.onAttempt?.();
    try {
      const status = await this.attempt(
        url,
        payload,
        Math.min(this.config.webhookTimeoutMs, windowMs),
        signal,
        hooks.requestId,
      );
      this.metrics?.recordPhase('webhook', performance.now() - t0);
      return { status, attempts };
    } catch (err) {
      hooks.onAttemptFailed?.();
      const retry = err instanceof WebhookError && err.retryable && !signal.aborted && (hooks.shouldRetry?.() ?? true);
      if (!retry) {
        this.metrics?.recordPhase('webhook', performance.now() - t0);
        throw err;
      }
      replay = err as Error;
    }
    // One deadline for the rest of the window that also follows the caller's signal; `timedOut` tells the two apart.
    const window = deadline(Math.max(1, windowMs - (performance.now() - t0)), signal);
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
    let lastError: Error | null = replay;
    let replayed = false;
    try {
      const status = await policy.execute(async () => {
        if (!replayed) {
          replayed = true;
          throw replay;
        }
        attempts++;
        hooks.onAttempt?.();
        try {
          return await this.attempt(url, payload, this.config.webhookTimeoutMs, window.signal, hooks.requestId);
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
