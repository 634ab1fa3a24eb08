// The floor for the app-start scenario: the bare webhook + WebSocket round trip with no cloud logic at all.
// /glasses-ws?user=<id>&hook=<app publicUrl> (no auth): a start_app immediately POSTs session_request to
// <hook>/webhook; /app-ws answers any tpa_connection_init with a tpa_connection_ack at once.
import http from 'node:http';
import { WebSocketServer } from 'ws';

const PORT = Number(process.env.PORT ?? 0);
const HOST = process.env.HOST ?? '127.0.0.1';
const APP_WS_URL = `ws://${HOST}:${PORT}/app-ws`;
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function postJson(url, body) {
  const data = JSON.stringify(body);
  const req = http.request(
    url,
    {
      method: 'POST',
      agent,
      timeout: 10_000,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) },
    },
    (res) => res.resume(),
  );
  req.on('timeout', () => req.destroy());
  req.on('error', () => {});
  req.end(data);
}

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}');
    return;
  }
  res.writeHead(404).end();
});

server.on('upgrade', (req, socket, head) => {
  socket.on('error', () => {});
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/glasses-ws') {
    const userId = url.searchParams.get('user');
    const hook = url.searchParams.get('hook');
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => {});
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        const msg = JSON.parse(data.toString());
        if (msg.type === 'start_app') {
          const sessionId = `${userId}-${msg.packageName}`;
          postJson(`${hook}/webhook`, {
            type: 'session_request',
            sessionId,
            userId,
            timestamp: new Date().toISOString(),
            augmentOSWebsocketUrl: APP_WS_URL,
            mentraOSWebsocketUrl: APP_WS_URL,
          });
        }
      });
      ws.send(JSON.stringify({ type: 'connection_ack', sessionId: userId, timestamp: new Date() }));
    });
  } else if (url.pathname === '/app-ws') {
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => {});
      ws.once('message', (data) => {
        const msg = JSON.parse(data.toString());
        ws.send(
          JSON.stringify({
            type: 'tpa_connection_ack',
            sessionId: msg.sessionId,
            settings: [],
            mentraosSettings: {},
            augmentosSettings: {},
            capabilities: null,
            timestamp: new Date(),
          }),
        );
      });
    });
  } else socket.destroy();
});

server.listen(PORT, HOST);
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
