import { Inject, Logger, type OnModuleDestroy } from '@nestjs/common';
import { WebSocketGateway, WebSocketServer, type OnGatewayConnection, type OnGatewayInit } from '@nestjs/websockets';
import type { WebSocket, WebSocketServer as WsServer } from 'ws';
import { userIdFromAppSessionId } from '../common/app-session-id.js';
import { type ErrorCode } from '../common/cloud-error.js';
import { safeEqual, sha256Hex } from '../common/crypto.util.js';
import { isNonEmptyString, type TypedMessage } from '../common/json.util.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { SocketTracker } from '../observability/socket-tracker.js';
import { APP_REPOSITORY, type AppRepository } from '../persistence/persistence.types.js';
import { SessionRegistry } from '../session/session-registry.js';
import { AppMessageHandler, type BoundApp } from './app-message.handler.js';
import { StaggeredHeartbeat } from '../gateway/heartbeat.js';

const OPEN = 1;

/**
 * `/app-ws`: SDK app sockets, authenticated by their first message (`tpa_connection_init`) as the SDK
 * does. After init a socket is bound to one (user, app) and can act on nothing else.
 */
@WebSocketGateway({ path: '/app-ws' })
export class AppGateway implements OnGatewayInit, OnGatewayConnection, OnModuleDestroy {
  private readonly logger = new Logger('AppGateway');
  @WebSocketServer() server!: WsServer;
  private heartbeat: StaggeredHeartbeat | null = null;

  constructor(
    private readonly registry: SessionRegistry,
    private readonly handler: AppMessageHandler,
    @Inject(APP_REPOSITORY) private readonly apps: AppRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly tracker: SocketTracker,
  ) {}

  afterInit(server: WsServer): void {
    server.options.maxPayload = this.config.maxFrameBytes;
    server.options.perMessageDeflate = false;
    this.heartbeat = new StaggeredHeartbeat(() => server.clients, this.config.heartbeatIntervalMs);
  }

  handleConnection(ws: WebSocket): void {
    let bound: BoundApp | null = null;
    let initializing = false;
    const authTimer = setTimeout(() => {
      if (bound === null && ws.readyState === OPEN) {
        this.fatal(ws, 'NOT_INITIALIZED', `No tpa_connection_init within ${this.authTimeoutMs} ms`);
      }
    }, this.authTimeoutMs);
    const conn = this.tracker.app((message) => this.handler.error(ws, 'RATE_LIMITED', message));
    conn.opened('app socket opened', 'debug');
    ws.on(
      'message',
      conn.wrap((data: Buffer, isBinary: boolean) => {
        if (isBinary && bound !== null) return this.handler.binary(bound, ws, data);
        const msg = this.handler.parse(ws, data, isBinary);
        if (msg === null) return;
        if (bound !== null) {
          try {
            this.handler.handle(bound, ws, msg);
          } catch (err) {
            this.handler.logError(err, `${msg.type} from ${bound.packageName}`);
            this.handler.error(ws, 'INTERNAL_ERROR', `Failed to handle ${msg.type}`);
          }
          return;
        }
        if (msg.type !== 'tpa_connection_init')
          return this.handler.error(ws, 'NOT_INITIALIZED', 'Send tpa_connection_init first');
        if (initializing)
          return this.handler.error(ws, 'ALREADY_INITIALIZED', 'tpa_connection_init is already being processed');
        initializing = true;
        this.init(ws, msg, (b) => {
          bound = b;
          clearTimeout(authTimer);
          conn.identify(
            { userId: b.session.userId, packageName: b.packageName, startId: b.rt.start?.id },
            `app connected: ${b.packageName} for ${b.session.userId}`,
          );
        })
          .catch((err) => {
            this.handler.logError(err, 'tpa_connection_init');
            this.fatal(ws, 'INTERNAL_ERROR', 'Internal server error', 1011);
          })
          .finally(() => {
            initializing = false;
          });
      }),
    );
    ws.on('error', (err) => this.logger.warn(`app socket: ${err.message}`));
    ws.once('close', (code: number, reason: Buffer) => {
      conn.close(code, reason);
      clearTimeout(authTimer);
      if (bound) bound.session.apps.handleAppSocketClose(bound.packageName, ws, code);
      bound = null; // see GlassesGateway: a closed socket must not pin its session
      ws.removeAllListeners('message');
    });
  }

  private get authTimeoutMs(): number {
    return this.config.appInitTimeoutMs + 5_000;
  }

  private async init(ws: WebSocket, msg: TypedMessage, bind: (b: BoundApp) => void): Promise<BoundApp | null> {
    const { sessionId, packageName, apiKey } = msg;
    if (!isNonEmptyString(sessionId, 600) || !isNonEmptyString(packageName, 256) || !isNonEmptyString(apiKey, 512)) {
      this.fatal(ws, 'MALFORMED_MESSAGE', 'tpa_connection_init needs string sessionId, packageName and apiKey');
      return null;
    }
    const app = await this.apps.findByPackageName(packageName);
    if (!app || !app.hashedApiKey || !safeEqual(sha256Hex(apiKey), app.hashedApiKey)) {
      this.fatal(ws, 'INVALID_API_KEY', 'Invalid API key');
      return null;
    }
    const userId = userIdFromAppSessionId(sessionId, packageName);
    if (userId === null) {
      this.fatal(ws, 'SESSION_NOT_FOUND', 'Invalid session ID format');
      return null;
    }
    const session = this.registry.get(userId);
    if (!session) {
      this.fatal(ws, 'SESSION_NOT_FOUND', 'Session not found');
      return null;
    }
    if (ws.readyState !== OPEN) return null;
    const outcome = await session.apps.handleInit(ws, app, (rt) => bind({ session, rt, packageName }));
    if (!outcome.ok) {
      this.fatal(ws, outcome.code, outcome.message);
      return null;
    }
    return { session, rt: outcome.rt, packageName };
  }

  /** Init failures end the socket: 1008 tells the SDK not to reconnect (apps.md §2.3). */
  private fatal(ws: WebSocket, code: ErrorCode, message: string, closeCode = 1008): void {
    this.handler.error(ws, code, message);
    if (ws.readyState === OPEN) ws.close(closeCode, message.slice(0, 120));
  }

  onModuleDestroy(): void {
    this.heartbeat?.stop();
  }
}
