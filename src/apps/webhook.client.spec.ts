import { getEventListeners } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppConfig } from '../config/config.types.js';
import { WebhookClient, WebhookError } from './webhook.client.js';

/** A real HTTP server whose answer per path is scripted: a list of statuses, the last one repeating. */
let server: Server;
let base = '';
const script = new Map<string, number[]>();
const hits = new Map<string, number>();
/** The x-request-id of each request, by path (undefined: none sent). */
const requestIds = new Map<string, Array<string | undefined>>();

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    const path = req.url ?? '/';
    const n = hits.get(path) ?? 0;
    hits.set(path, n + 1);
    requestIds.set(path, [...(requestIds.get(path) ?? []), req.headers['x-request-id'] as string | undefined]);
    const statuses = script.get(path) ?? [200];
    const status = statuses[Math.min(n, statuses.length - 1)]!;
    if (status === 0) return; // never answers
    if (status === -1) return void res.writeHead(200, { 'content-type': 'application/json' }).write('{'); // headers, then silence
    res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function client(overrides: Partial<AppConfig> = {}): WebhookClient {
  return new WebhookClient({
    webhookTimeoutMs: 300,
    webhookRetryWindowMs: 2_000,
    webhookRetryBaseMs: 20,
    ...overrides,
  } as AppConfig);
}

describe('WebhookClient', () => {
  it('retries 503 until a 2xx and counts the attempts', async () => {
    script.set('/flaky', [503, 503, 200]);
    const session = new AbortController();
    const out = await client().postWithRetry(`${base}/flaky`, { type: 'session_request' }, session.signal);
    expect(out).toEqual({ status: 200, attempts: 3 });
    expect(hits.get('/flaky')).toBe(3);
  });

  it('sends the requestId as x-request-id with every attempt, and no such header without one', async () => {
    script.set('/traced', [503, 200]);
    await client().postWithRetry(`${base}/traced`, {}, new AbortController().signal, { requestId: 'g-0123456789ab' });
    expect(requestIds.get('/traced')).toEqual(['g-0123456789ab', 'g-0123456789ab']);
    await client().postOnce(`${base}/untraced`, {});
    await client().postOnce(`${base}/untraced`, {}, undefined, 'req-1');
    expect(requestIds.get('/untraced')).toEqual([undefined, 'req-1']);
  });

  it('does not retry a 4xx', async () => {
    script.set('/gone', [404]);
    const err = await client()
      .postWithRetry(`${base}/gone`, {}, new AbortController().signal)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebhookError);
    expect((err as WebhookError).status).toBe(404);
    expect(hits.get('/gone')).toBe(1);
  });

  it('a silent server is a retryable timeout, and the window gives up naming the last error', async () => {
    script.set('/silent', [0]);
    const t0 = Date.now();
    const err = (await client({ webhookRetryWindowMs: 800 })
      .postWithRetry(`${base}/silent`, {}, new AbortController().signal)
      .catch((e: unknown) => e)) as WebhookError;
    expect(err).toBeInstanceOf(WebhookError);
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/gave up after \d+ attempt\(s\) in 800 ms; last error: .*timed out after 300 ms/);
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it('a 200 whose body never ends is a timeout, not a success', async () => {
    script.set('/half', [-1]);
    const err = (await client()
      .postOnce(`${base}/half`, {})
      .catch((e: unknown) => e)) as WebhookError;
    expect(err).toBeInstanceOf(WebhookError);
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/timed out after 300 ms/);
  });

  it('keeps one connection alive across posts to the same app server', async () => {
    script.set('/reuse', [200]);
    const sockets = new Set<unknown>();
    const seen = (req: { socket: unknown }) => sockets.add(req.socket);
    server.on('request', seen);
    try {
      const c = client();
      for (let i = 0; i < 5; i++) await c.postOnce(`${base}/reuse`, { i });
      expect(sockets.size).toBe(1);
      c.onModuleDestroy();
    } finally {
      server.off('request', seen);
    }
  });

  it('shouldRetry answering false stops the retries after the attempt in flight', async () => {
    script.set('/down-once', [503]);
    let retry = true;
    const err = await client({ webhookRetryWindowMs: 10_000 })
      .postWithRetry(`${base}/down-once`, {}, new AbortController().signal, {
        onAttempt: () => (retry = false),
        shouldRetry: () => retry,
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebhookError);
    expect(hits.get('/down-once')).toBe(1);
  });

  it('the caller aborting stops the retries at once', async () => {
    script.set('/down', [503]);
    const session = new AbortController();
    const pending = client({ webhookRetryWindowMs: 10_000, webhookRetryBaseMs: 200 }).postWithRetry(
      `${base}/down`,
      {},
      session.signal,
    );
    setTimeout(() => session.abort(), 100);
    const t0 = Date.now();
    await expect(pending).rejects.toBeDefined();
    expect(Date.now() - t0).toBeLessThan(1_000);
  });

  // The deadline links each attempt and the window to the session's signal with listeners: they must all be
  // gone when a post settles, or a long-lived session would collect one per start (deadline.spec covers the timer).
  it('leaves no listener on the session signal after success or failure', async () => {
    script.set('/ok', [200]);
    script.set('/bad', [400]);
    const session = new AbortController();
    const c = client({ webhookRetryWindowMs: 40_000 });
    for (let i = 0; i < 20; i++) await c.postWithRetry(`${base}/ok`, {}, session.signal);
    for (let i = 0; i < 5; i++) await c.postWithRetry(`${base}/bad`, {}, session.signal).catch(() => undefined);
    expect(getEventListeners(session.signal, 'abort')).toHaveLength(0);
  });
});
