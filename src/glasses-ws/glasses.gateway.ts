import { Inject, Logger, Optional, type OnModuleDestroy } from '@nestjs/common';
import { WebSocketGateway, WebSocketServer, type OnGatewayConnection, type OnGatewayInit } from '@nestjs/websockets';
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { WebSocket, WebSocketServer as WsServer } from 'ws';
import { CoreTokenService, GLASSES_WS_AUDIENCE, TOKEN_REVOKED_CLOSE } from '../auth/core-token.service.js';
import { CloudError, errorMessage } from '../common/cloud-error.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { MetricsService } from '../observability/metrics.service.js';
import { SocketTracker } from '../observability/socket-tracker.js';
import { SessionRegistry } from '../session/session-registry.js';
import type { UserSession } from '../session/user-session.js';
import { GlassesMessageHandler } from './glasses-message.handler.js';
import { dropAfterRefusedFrame } from '../gateway/frame-limit.js';
import { StaggeredHeartbeat } from '../gateway/heartbeat.js';

const OPEN = 1;
const MAX_EARLY_FRAMES = 64;

interface Principal {
  userId: string;
  /** The token's version (the lower one when both header and query carry a token). */
  version: number;
}

/** The upgrade request's authenticated user; set by verifyClient, read once in handleConnection. */
const principals = new WeakMap<IncomingMessage, Principal>();
/** Who each open socket authenticated as, for closing the sockets of revoked tokens. */
const socketPrincipals = new WeakMap<WebSocket, Principal>();
/** A revocation is remembered this long, for upgrades that passed the version check just before it. */
const REVOCATION_MEMORY_MS = 30_000;

function bearer(req: IncomingMessage): string | null {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^Bearer\s+(.+)$/i.exec(h.trim());
  return m ? m[1]!.trim() : '';
}

/**
 * `/glasses-ws`: the phone's socket. Authenticated at the upgrade (401 with a JSON connection_error),
 * one raw message listener per socket, one heartbeat timer for all sockets.
 */
@WebSocketGateway({ path: '/glasses-ws' })
export class GlassesGateway implements OnGatewayInit, OnGatewayConnection, OnModuleDestroy {
  private readonly logger = new Logger('GlassesGateway');
  @WebSocketServer() server!: WsServer;
  private heartbeat: StaggeredHeartbeat | null = null;

  constructor(
    private readonly registry: SessionRegistry,
    private readonly tokens: CoreTokenService,
    private readonly handler: GlassesMessageHandler,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly tracker: SocketTracker,
    @Optional() private readonly metrics?: MetricsService,
  ) {}

  afterInit(server: WsServer): void {
    // ws reads these options per upgrade, so setting them here (with DI available) takes effect. This server
    // serves /glasses-ws alone, so its frame limit is sized to what glasses send (GLASSES_MAX_FRAME_BYTES): a
    // larger frame is refused from its header, before its payload is buffered or parsed (close 1009).
    server.options.maxPayload = this.config.glassesMaxFrameBytes;
    server.options.perMessageDeflate = false;
    server.options.verifyClient = (info, cb) => {
      const t0 = performance.now();
      const refuse = (status: number, message: string, code?: string, headers: Record<string, string> = {}) => {
        const body = JSON.stringify({
          type: 'connection_error',
          ...(code ? { code } : {}),
          message,
          timestamp: new Date().toISOString(),
        });
        cb(false, status, body, { 'Content-Type': 'application/json', ...headers });
      };
      const result = this.authenticate(info.req);
      if (!result.ok) return refuse(401, result.message);
      this.tokens.current(result).then(
        (current) => {
          if (!current.ok) return refuse(401, current.message);
          // The drain may have begun while the token's version was read: its socket snapshot would miss this one.
          if (this.registry.isShuttingDown) return refuse(503, 'Server is shutting down', 'SHUTTING_DOWN');
          if (!this.registry.get(result.userId) && this.registry.occupancy >= this.config.maxSessions) {
            this.tracker.refused(result.userId);
            return refuse(
              503,
              `The server is at its limit of ${this.config.maxSessions} sessions; try again later`,
              'TOO_MANY_SESSIONS',
              { 'Retry-After': '30' },
            );
          }
          principals.set(info.req, { userId: result.userId, version: result.version });
          this.metrics?.recordPhase('auth', performance.now() - t0);
          cb(true);
        },
        (err: unknown) => {
          // Fail closed: without the store a revoked token cannot be told from a good one.
          this.logger.error(`token version of ${result.userId} unreadable: ${errorMessage(err)}`);
          refuse(503, 'The token store is unavailable; try again later', 'INTERNAL_ERROR', { 'Retry-After': '5' });
        },
      );
    };
    this.tokens.onRevoked((userId, minimum) => this.closeRevoked(userId, minimum));
    this.heartbeat = new StaggeredHeartbeat(() => server.clients, this.config.heartbeatIntervalMs);
  }

  /** Header first, then `?token=`; when both are present they must both be valid for the same user. */
  private authenticate(
    req: IncomingMessage,
  ): { ok: true; userId: string; version: number } | { ok: false; message: string } {
    const header = bearer(req);
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token');
    if (header === null && query === null) return this.tokens.verify(null);
    const checks = [header, query]
      .filter((t): t is string => t !== null)
      .map((t) => this.tokens.verify(t, { audience: GLASSES_WS_AUDIENCE }));
    const failed = checks.find((c) => !c.ok);
    if (failed) return failed;
    const ok = checks as Array<{ ok: true; userId: string; version: number }>;
    if (new Set(ok.map((c) => c.userId)).size > 1)
      return { ok: false, message: 'Invalid core token - conflicting tokens' };
    return { ok: true, userId: ok[0]!.userId, version: Math.min(...ok.map((c) => c.version)) };
  }

  /** Revoked users' minimum versions, kept briefly (see REVOCATION_MEMORY_MS). */
  private readonly recentRevocations = new Map<string, number>();

  /** Closes the user's sockets opened with a token below the new minimum version. */
  private closeRevoked(userId: string, minimum: number): void {
    this.recentRevocations.set(userId, minimum);
    setTimeout(() => {
      if (this.recentRevocations.get(userId) === minimum) this.recentRevocations.delete(userId);
    }, REVOCATION_MEMORY_MS).unref();
    for (const ws of this.server.clients) {
      const p = socketPrincipals.get(ws);
      if (p && p.userId === userId && p.version < minimum)
        ws.close(TOKEN_REVOKED_CLOSE.code, TOKEN_REVOKED_CLOSE.reason);
    }
  }

  handleConnection(ws: WebSocket, req: IncomingMessage): void {
    const principal = principals.get(req);
    principals.delete(req);
    if (!principal) {
      ws.close(1008, 'Not authenticated');
      return;
    }
    const userId = principal.userId;
    if (principal.version < (this.recentRevocations.get(userId) ?? 0)) {
      ws.close(TOKEN_REVOKED_CLOSE.code, TOKEN_REVOKED_CLOSE.reason);
      return;
    }
    socketPrincipals.set(ws, principal);
    let session: UserSession | null = null;
    // Frames that arrive while the session is being built; allocated only if one does.
    let early: Array<[Buffer, boolean]> | null = null;
    const conn = this.tracker.glasses(userId, ws, this.onLimited, this.onAudioFlood);
    conn.opened(`glasses connected: ${userId}`);
    ws.on(
      'message',
      conn.wrap((data: Buffer, isBinary: boolean) => {
        if (session !== null) this.handler.handle(session, ws, data, isBinary);
        else if ((early ??= []).length < MAX_EARLY_FRAMES) early.push([data, isBinary]);
      }),
    );
    ws.on('error', this.onSocketError);
    // 'close' is emitted once; `on` spares once()'s wrapper and its state (~200 bytes a socket).
    ws.on('close', (code: number, reason: Buffer) => {
      conn.close(code, reason);
      this.onClose(userId, ws, code, session);
      // Nest's connection stream keeps the last socket it saw (distinctUntilChanged), so a closed
      // socket must not keep its session reachable through these closures.
      session = null;
      early = null;
      ws.removeAllListeners('message');
    });
    const t0 = performance.now();
    this.registry
      .open(userId)
      .then(({ session: s, created }) => {
        if (created) this.metrics?.recordPhase('session_build', performance.now() - t0);
        if (ws.readyState !== OPEN) {
          if (created) this.registry.scheduleEnd(userId);
          return;
        }
        session = s;
        this.attach(s, ws, created);
        const queued = early;
        early = null;
        if (queued !== null) for (const [data, isBinary] of queued) this.handler.handle(s, ws, data, isBinary);
      })
      .catch((err) => {
        // Cluster: the user's owner has not handed over yet, or Redis is away; 1013 (Try Again Later) makes
        // the phone reconnect with its backoff, by when the owner has answered or left the node list.
        if (err instanceof CloudError && (err.code === 'OWNER_UNREACHABLE' || err.code === 'CLUSTER_UNAVAILABLE')) {
          this.logger.warn(`session of ${userId} not built here yet: ${err.message}`);
          if (ws.readyState === OPEN) {
            this.handler.error(ws, err.code, err.message);
            ws.close(1013, 'Try again later');
          }
          return;
        }
        this.logger.error(`opening the session of ${userId} failed: ${errorMessage(err)}`);
        if (ws.readyState === OPEN) {
          this.handler.error(ws, 'INTERNAL_ERROR', 'Failed to create session');
          ws.close(1011, 'Internal server error');
        }
      });
  }

  // One function each for every socket (a closure per socket costs its bytes at thousands of sessions); an
  // emitter's listener gets the socket as `this`.
  private readonly onLimited = (message: string, ws: WebSocket): void =>
    this.handler.error(ws, 'RATE_LIMITED', message);

  private readonly onAudioFlood = (message: string, ws: WebSocket): void => {
    this.handler.error(ws, 'RATE_LIMITED', message);
    if (ws.readyState === OPEN) ws.close(1008, message);
  };

  private readonly onSocketError = (() => {
    const logger = this.logger;
    return function (this: WebSocket, err: Error): void {
      logger.warn(`glasses socket of ${socketPrincipals.get(this)?.userId ?? '?'}: ${err.message}`);
      dropAfterRefusedFrame(this);
    };
  })();

  private attach(session: UserSession, ws: WebSocket, created: boolean): void {
    const ctx = session.ctx;
    this.registry.cancelEnd(ctx.userId);
    this.handler.ack(ws, ctx.userId);
    ctx.attachGlasses(ws, !created);
    if (created)
      void session.apps
        .startPreviouslyRunning()
        .catch((err) => this.logger.error(`restarting apps of ${ctx.userId}: ${errorMessage(err)}`));
  }

  private onClose(userId: string, ws: WebSocket, code: number, session: UserSession | null): void {
    const s = session ?? this.registry.get(userId);
    if (!s || !s.ctx.detachGlasses(ws, code)) return;
    if (this.registry.isShuttingDown) return;
    this.registry.scheduleEnd(userId);
  }

  onModuleDestroy(): void {
    this.heartbeat?.stop();
  }
}
