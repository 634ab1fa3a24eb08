/**
 * PostHog capture API double: a real HTTP server on loopback that takes what posthog-node sends. Behaviour of
 * PostHog's capture endpoint as posthog-node uses it:
 * - `POST /batch/` with `{api_key, batch: [{event, distinct_id, properties, timestamp, type, uuid, library…}], sent_at}`
 *   as JSON, gzip-compressed with `Content-Encoding: gzip` unless the client disables compression.
 * - The single-event routes (`/capture/`, `/e/`, `/i/v0/e/`) take `{api_key, event, distinct_id, properties}`.
 * - A body without a project key gets 401 `{type: "authentication_error", code: "invalid_api_key", …}`; a body
 *   that is not JSON (or not valid gzip) gets 400; anything else 200 `{"status": "Ok"}`. Keys are not checked
 *   against a project: capture accepts any key and drops the events of unknown projects later.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';

export interface PostHogCapturedEvent {
  apiKey: string;
  event: string;
  distinctId: string;
  properties: Record<string, unknown>;
  timestamp?: string;
  /** The route and encoding it came by. */
  path: string;
  gzip: boolean;
}

export interface PostHogDouble {
  url: string;
  events: PostHogCapturedEvent[];
  /** Requests by path, with their HTTP status. */
  requests: Array<{ path: string; status: number }>;
  close(): Promise<void>;
}

const BATCH = '/batch/';
const SINGLE = new Set(['/capture/', '/e/', '/i/v0/e/']);

export async function startPostHogDouble(): Promise<PostHogDouble> {
  const events: PostHogCapturedEvent[] = [];
  const requests: PostHogDouble['requests'] = [];
  const answer = (res: ServerResponse, path: string, status: number, body: unknown) => {
    requests.push({ path, status });
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || (path !== BATCH && !SINGLE.has(path)))
        return answer(res, path, 404, { type: 'invalid_request', code: 'not_found', detail: 'Not found' });
      const gzip = req.headers['content-encoding'] === 'gzip';
      let body: Record<string, any>;
      try {
        const raw = Buffer.concat(chunks);
        body = JSON.parse((gzip ? gunzipSync(raw) : raw).toString('utf8'));
        if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object');
      } catch {
        return answer(res, path, 400, {
          type: 'invalid_request',
          code: 'invalid_payload',
          detail: 'Malformed request',
        });
      }
      const apiKey = body.api_key ?? body.token;
      if (typeof apiKey !== 'string' || apiKey === '')
        return answer(res, path, 401, {
          type: 'authentication_error',
          code: 'invalid_api_key',
          detail: 'Project API key invalid. You can find your project API key in PostHog project settings.',
        });
      const items: any[] = path === BATCH ? (Array.isArray(body.batch) ? body.batch : []) : [body];
      for (const e of items) {
        events.push({
          apiKey,
          event: e.event,
          distinctId: e.distinct_id ?? e.properties?.distinct_id,
          properties: e.properties ?? {},
          timestamp: e.timestamp,
          path,
          gzip,
        });
      }
      answer(res, path, 200, { status: 'Ok' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    events,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
