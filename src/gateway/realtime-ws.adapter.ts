import type { INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Observable } from 'rxjs';
import { rememberRawSocket } from '../common/write-batching.js';

/** The user route key prefix of cluster app URLs (see userAppWsUrl). */
const ROUTE_PREFIX = /^\/u\/[A-Za-z0-9_-]{22}(?=\/app-ws$)/;

interface PathServer {
  path: string;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, cb: (ws: unknown) => void): void;
  emit(event: 'connection', ws: unknown, req: IncomingMessage): boolean;
}

interface TrackedSocket {
  readyState: number;
  close(code: number, reason: string): void;
  terminate(): void;
  once(event: 'close', cb: () => void): unknown;
  on(event: 'close', cb: (this: TrackedSocket) => void): unknown;
}

function reject(socket: Duplex, status: number, reason: string, body: object): void {
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

/**
 * WsAdapter without the per-message rxjs pipeline for gateways that declare no @SubscribeMessage:
 * ours attach one raw `message` listener per socket instead (the pipeline parses every frame as JSON,
 * audio included). Unknown WebSocket paths get a JSON 404 instead of a silently destroyed socket.
 */
export class RealtimeWsAdapter extends WsAdapter {
  private shuttingDown = false;
  /** Every accepted socket of both gateways, until it closes (for the shutdown drain). */
  private readonly sockets = new Set<TrackedSocket>();
  /**
   * One listener for every socket rather than a closure per socket: an emitter calls its listeners with itself
   * as `this`, which is all these need (at thousands of sockets, closures and their scopes add up).
   */
  private readonly untrack: (this: TrackedSocket) => void;
  private readonly onClientError: (err: Error) => void;

  constructor(app: INestApplicationContext | Server) {
    super(app);
    const sockets = this.sockets;
    this.untrack = function (this: TrackedSocket) {
      sockets.delete(this);
    };
    this.onClientError = (err: Error) => this.logger.warn(`client socket: ${err.message}`);
  }

  /** A client that breaks the protocol (oversized frame, bad masking) is its problem, not a server error. */
  override bindErrorHandler(server: { on(event: string, cb: (...args: any[]) => void): void }): unknown {
    server.on('connection', (ws: { on(e: string, cb: (err: Error) => void): void }) =>
      ws.on('error', this.onClientError),
    );
    server.on('error', (err: Error) => this.logger.error(err));
    return server;
  }

  /**
   * Nest binds a disconnect hook to every socket (a closure and a once() wrapper, ~300 bytes a socket) to call
   * the gateway's handleDisconnect. Our gateways implement none (each handles its socket's own 'close', and
   * test/architecture checks that none does), so no hook is bound.
   */
  override bindClientDisconnect(): void {}

  /** New upgrades are refused with 503 once shutdown has begun. */
  beginShutdown(): void {
    this.shuttingDown = true;
  }

  /**
   * Graceful drain: every socket either gateway accepted gets a close frame with `code` (1012 Service Restart
   * tells glasses and SDK apps to reconnect); the ones that have not closed within `timeoutMs` are terminated.
   */
  async closeAll(code: number, reason: string, timeoutMs: number): Promise<{ closed: number; terminated: number }> {
    const sockets = [...this.sockets];
    const done = sockets.map((ws) =>
      ws.readyState === 3 ? Promise.resolve() : new Promise<void>((r) => ws.once('close', () => r())),
    );
    for (const ws of sockets) if (ws.readyState === 0 || ws.readyState === 1) ws.close(code, reason);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(done), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    let terminated = 0;
    for (const ws of sockets) {
      if (ws.readyState !== 3) {
        ws.terminate();
        terminated++;
      }
    }
    return { closed: sockets.length - terminated, terminated };
  }

  override bindMessageHandlers(
    client: unknown,
    handlers: MessageMappingProperties[],
    transform: (data: unknown) => Observable<unknown>,
  ): void {
    if (handlers.length === 0) return;
    super.bindMessageHandlers(client, handlers, transform);
  }

  /** No closure per socket: declared in the upgrade listener, one kept that scope and the request alive. */
  private track(ws: TrackedSocket): void {
    this.sockets.add(ws);
    ws.on('close', this.untrack); // emitted once: `on` spares once()'s wrapper
  }

  protected override ensureHttpServerExists(port: number, httpServer: Server = createServer()): Server | undefined {
    if (this.httpServersRegistry.has(port)) return undefined;
    this.httpServersRegistry.set(port, httpServer);
    httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const stamp = new Date().toISOString();
      try {
        if (this.shuttingDown) {
          reject(socket, 503, 'Service Unavailable', {
            type: 'connection_error',
            code: 'SHUTTING_DOWN',
            message: 'Server is shutting down',
            timestamp: stamp,
          });
          return;
        }
        // `/u/<route key>/app-ws` is the cluster's app URL (userAppWsUrl); nginx strips the prefix, and a client
        // that reaches a process directly gets the same gateway.
        const pathname = new URL(req.url ?? '/', 'ws://localhost').pathname.replace(ROUTE_PREFIX, '');
        const servers = (this.wsServersRegistry.get(port) ?? []) as PathServer[];
        const server = servers.find((s) => s.path === pathname);
        if (!server) {
          reject(socket, 404, 'Not Found', {
            type: 'connection_error',
            code: 'UNKNOWN_PATH',
            message: 'Unknown WebSocket path',
            timestamp: stamp,
          });
          return;
        }
        server.handleUpgrade(req, socket, head, (ws) => {
          // An upgrade whose checks were still running when the drain began: closeAll's snapshot missed it.
          if (this.shuttingDown) return (ws as TrackedSocket).close(1012, 'Service restart');
          rememberRawSocket(ws as TrackedSocket, socket);
          this.track(ws as TrackedSocket);
          server.emit('connection', ws, req);
        });
      } catch (err) {
        reject(socket, 400, 'Bad Request', {
          type: 'connection_error',
          code: 'BAD_UPGRADE',
          message: (err as Error).message,
          timestamp: stamp,
        });
      }
    });
    return httpServer;
  }
}
