import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { RawClient } from './raw-ws.js';

export interface WebhookReply {
  status?: number;
  /** Open the app socket and send tpa_connection_init (default true for session_request). */
  connect?: boolean;
  /** Answer only after this long (the SDK answers after its onSession work). */
  delayMs?: number;
  /** Open the app socket only after this long. */
  connectAfterMs?: number;
  /** Subscriptions sent right after the ack. */
  subscriptions?: unknown[];
  /** Extra response headers (e.g. a redirect's `location`). */
  headers?: Record<string, string>;
}

export interface RawApp {
  url: string;
  packageName: string;
  apiKey: string;
  webhooks: any[];
  sockets: RawClient[];
  /** TCP connections the webhook server accepted (keep-alive reuse shows as fewer than webhooks). */
  connections: number;
  close(): Promise<void>;
}

/**
 * A protocol-level app server: records webhooks, answers them as scripted, and connects a raw socket
 * the way the SDK does, so tests can control timing and failures the SDK would hide.
 */
export async function startRawApp(
  packageName: string,
  reply: (body: any, n: number) => WebhookReply = () => ({}),
): Promise<RawApp> {
  const state: RawApp = {
    url: '',
    packageName,
    apiKey: '',
    webhooks: [],
    sockets: [],
    connections: 0,
    close: async () => undefined,
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(text || '{}');
      state.webhooks.push(body);
      const r = reply(body, state.webhooks.length);
      const answer = () => {
        if (res.writableEnded || res.destroyed) return;
        res.writeHead(r.status ?? 200, { 'content-type': 'application/json', ...r.headers });
        res.end(JSON.stringify({ status: (r.status ?? 200) < 300 ? 'success' : 'error' }));
      };
      const connect = body.type === 'session_request' && (r.connect ?? (r.status ?? 200) < 300);
      const work = async () => {
        if (connect) {
          if (r.connectAfterMs) await new Promise((resolve) => setTimeout(resolve, r.connectAfterMs));
          const client = await RawClient.open(body.mentraOSWebsocketUrl);
          state.sockets.push(client);
          client.send({
            type: 'tpa_connection_init',
            sessionId: body.sessionId,
            packageName,
            apiKey: state.apiKey,
            timestamp: new Date().toISOString(),
          });
          await client.next((m) => m.type === 'tpa_connection_ack' || m.type === 'tpa_connection_error');
          client.send({
            type: 'subscription_update',
            packageName,
            sessionId: body.sessionId,
            subscriptions: r.subscriptions ?? [],
            timestamp: new Date().toISOString(),
          });
        }
        if (r.delayMs) await new Promise((resolve) => setTimeout(resolve, r.delayMs));
        answer();
      };
      work().catch(() => answer());
    });
  });
  server.on('connection', () => state.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  state.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  state.close = async () => {
    for (const s of state.sockets) s.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return state;
}
