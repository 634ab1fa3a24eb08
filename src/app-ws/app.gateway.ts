import { Inject, Logger, Optional, type OnModuleDestroy } from '@nestjs/common';
import { WebSocketGateway, WebSocketServer, type OnGatewayConnection, type OnGatewayInit } from '@nestjs/websockets';
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { WebSocket, WebSocketServer as WsServer } from 'ws';
import { userIdFromAppSessionId } from '../common/app-session-id.js';
import { type ErrorCode } from '../common/cloud-error.js';
import { safeEqual, sha256Hex } from '../common/crypto.util.js';
import { parseTypedMessage, type TypedMessage } from '../common/json.util.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { closeReason } from '../common/close-reason.js';
import { dropAfterRefusedFrame, setFrameLimit } from '../gateway/frame-limit.js';
import { ClientAddress } from '../limits/client-address.js';
import { PENDING_APP_SOCKETS, type ConcurrencyLimiter } from '../limits/limiter.types.js';
import { MetricsService } from '../observability/metrics.service.js';
import { SocketTracker } from '../observability/socket-tracker.js';
import { PendingInits } from '../apps/pending-inits.js';
import { APP_REPOSITORY, type AppRepository } from '../persistence/persistence.types.js';
import { SessionRegistry } from '../session/session-registry.js';
import { AppMessageHandler, type BoundApp } from './app-message.handler.js';
import { APP_CHECKS, AppRefusal } from '../protocol/app-checks.js';
import { StaggeredHeartbeat } from '../gateway/heartbeat.js';

const OPEN = 1;

/** A socket's place among its address's not-yet-initialised sockets; released once, on init or on close. */
interface PendingSlot {
  release(): void;
}

/** The upgrade request's slot; set by verifyClient, taken once in handleConnection. */
const pendingSlots = new WeakMap<IncomingMessage, PendingSlot>();

/**
 * `/app-ws`: SDK app sockets, authenticated by their first message (`tpa_connection_init`) as the SDK
 * does. After init a socket is bound to one (user, app) and can act on nothing else.
 *
 * Before a successful init a socket may cost little: APP_WS_PENDING_PER_ADDRESS such sockets per client address
 * (429 at the upgrade beyond), frames of at most APP_WS_INIT_MAX_BYTES (checked on each frame's length before it
 * is parsed, close 1009: the socket layer's limit, MAX_FRAME_BYTES, is shared with initialised sockets, which
 * carry larger messages), one frame that is not an init closes it (1008), and so does sending no init within
 * APP_WS_INIT_DEADLINE_MS.
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
    private readonly address: ClientAddress,
    @Inject(PENDING_APP_SOCKETS) private readonly pending: ConcurrencyLimiter,
    private readonly pendingInits: PendingInits,
    @Optional() private readonly metrics?: MetricsService,
  ) {}

  afterInit(server: WsServer): void {
    server.options.maxPayload = this.config.maxFrameBytes;
    server.options.perMessageDeflate = false;
    server.options.verifyClient = (info, cb) => {
      this.admit(info.req).then(
        (admitted) => {
          if (admitted) return cb(true);
          const body = JSON.stringify({
            type: 'connection_error',
            code: 'RATE_LIMITED',
            message: `Too many app sockets from this address are waiting for tpa_connection_init (at most ${this.config.appWsPendingPerAddress}); try again later`,
            timestamp: new Date().toISOString(),
          });
          cb(false, 429, body, { 'Content-Type': 'application/json', 'Retry-After': '1' });
        },
        (err: unknown) => {
          this.handler.logError(err, 'app socket admission');
          cb(false, 503);
        },
      );
    };
    this.heartbeat = new StaggeredHeartbeat(() => server.clients, this.config.heartbeatIntervalMs);
  }

  /**
   * Takes a pending slot of the client's address for this upgrade. The slot is given back when the init succeeds
   * or when the TCP connection closes, whichever comes first, so a refused or broken upgrade cannot keep it.
   */
  private async admit(req: IncomingMessage): Promise<boolean> {
    const address = this.address.of(req);
    if (!(await this.pending.tryAcquire(address, this.config.appWsPendingPerAddress))) return false;
    const slot = this.slot(address, req.socket);
    if (req.socket.destroyed) {
      slot.release();
      return false;
    }
    req.socket.on('close', slot.release); // fires once; `on` spares once()'s wrapper (~200 bytes a socket)
    pendingSlots.set(req, slot);
    return true;
  }

  /**
   * Its own method so that the release closure holds the address and the TCP socket alone, not the upgrade
   * request. A release takes its listener off the socket, so an initialised socket keeps none of it.
   */
  private slot(address: string, socket: IncomingMessage['socket']): PendingSlot {
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      socket.removeListener('close', release);
      void this.pending.release(address);
    };
    return { release };
  }

  handleConnection(ws: WebSocket, req: IncomingMessage): void {
    let slot = pendingSlots.get(req);
    pendingSlots.delete(req);
    let bound: BoundApp | null = null;
    let initializing = false;
    const deadlineMs = this.config.appWsInitDeadlineMs;
    // Only a socket that sent no init is closed here: one whose init is being checked ends bound or refused.
    let authTimer: NodeJS.Timeout | undefined = setTimeout(() => {
      if (bound === null && !initializing && ws.readyState === OPEN) {
        this.fatal(ws, 'NOT_INITIALIZED', `No tpa_connection_init within ${deadlineMs} ms`);
      }
    }, deadlineMs);
    // Until the init, frames of an init's size at most, refused from the frame header (see setFrameLimit).
    setFrameLimit(ws, this.config.appWsInitMaxBytes);
    const conn = this.tracker.app(ws, this.onLimited);
    conn.opened('app socket opened', 'debug');
    ws.on(
      'message',
      conn.wrap((data: Buffer, isBinary: boolean) => {
        if (bound !== null) {
          // After the init, binary frames are an SDK 3 app's output audio.
          if (isBinary) return this.handler.binary(bound, ws, data);
          const msg = this.handler.parse(ws, data, isBinary);
          if (msg === null) return;
          try {
            this.handler.handle(bound, ws, msg);
          } catch (err) {
            this.handler.logError(err, `${msg.type} from ${bound.packageName}`);
            this.handler.error(ws, 'INTERNAL_ERROR', `Failed to handle ${msg.type}`);
          }
          return;
        }
        const msg = this.preInit(ws, data, isBinary);
        if (msg === null) return;
        if (initializing)
          return this.handler.error(ws, 'ALREADY_INITIALIZED', 'tpa_connection_init is already being processed');
        initializing = true;
        const t0 = performance.now();
        this.init(ws, msg, (b) => {
          bound = b;
          setFrameLimit(ws, this.config.maxFrameBytes);
          // Dropped once done with, so that an open socket's scope keeps neither (~300 bytes a socket).
          slot?.release();
          slot = undefined;
          clearTimeout(authTimer);
          authTimer = undefined;
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
            this.metrics?.recordPhase('init', performance.now() - t0);
          });
      }),
    );
    ws.on('error', this.onSocketError);
    // 'close' is emitted once; `on` spares once()'s wrapper and its state (~200 bytes a socket).
    ws.on('close', (code: number, reason: Buffer) => {
      conn.close(code, reason);
      clearTimeout(authTimer);
      slot?.release();
      if (bound) bound.session.apps.handleAppSocketClose(bound.packageName, ws, code);
      bound = null; // see GlassesGateway: a closed socket must not pin its session
      ws.removeAllListeners('message');
    });
  }

  // One function each for every socket (a closure per socket costs its bytes at thousands of sessions); an
  // emitter's listener gets the socket as `this`.
  private readonly onLimited = (message: string, ws: WebSocket): void =>
    this.handler.error(ws, 'RATE_LIMITED', message);

  private readonly onSocketError = (() => {
    const logger = this.logger;
    return function (this: WebSocket, err: Error): void {
      logger.warn(`app socket: ${err.message}`);
      dropAfterRefusedFrame(this);
    };
  })();

  /**
   * A frame of a socket that is not initialised: a tpa_connection_init, or the end of the socket. Its length is
   * checked before anything else is done with it (1009); anything but an init closes the socket (1008).
   */
  private preInit(ws: WebSocket, data: Buffer, isBinary: boolean): TypedMessage | null {
    const max = this.config.appWsInitMaxBytes;
    if (data.length > max) {
      this.fatal(ws, 'MESSAGE_TOO_LARGE', `Frames before tpa_connection_init are limited to ${max} bytes`, 1009);
      return null;
    }
    if (isBinary) {
      this.fatal(ws, 'NOT_INITIALIZED', 'Send tpa_connection_init first (a binary frame came before it)');
      return null;
    }
    const parsed = parseTypedMessage(data.toString('utf8'));
    if (!parsed.ok) {
      this.fatal(ws, 'MALFORMED_MESSAGE', `Send tpa_connection_init first (${parsed.reason})`);
      return null;
    }
    if (parsed.msg.type !== 'tpa_connection_init') {
      this.fatal(ws, 'NOT_INITIALIZED', 'Send tpa_connection_init first');
      return null;
    }
    return parsed.msg;
  }

  private async init(ws: WebSocket, raw: TypedMessage, bind: (b: BoundApp) => void): Promise<BoundApp | null> {
    // A refusal also fails the start waiting for this session id (if any), rather than letting it time out.
    const refuse = (code: ErrorCode, message: string): null => {
      this.fatal(ws, code, message);
      this.pendingInits.refuse(raw.sessionId, code, message);
      return null;
    };
    const msg = APP_CHECKS.tpa_connection_init(raw);
    if (msg instanceof AppRefusal) return refuse(msg.code, msg.message);
    const { sessionId, packageName, apiKey } = msg;
    const app = await this.apps.findByPackageName(packageName);
    if (!app || !app.hashedApiKey || !safeEqual(sha256Hex(apiKey), app.hashedApiKey))
      return refuse('INVALID_API_KEY', 'Invalid API key');
    const userId = userIdFromAppSessionId(sessionId, packageName);
    if (userId === null) return refuse('SESSION_NOT_FOUND', 'Invalid session ID format');
    const session = this.registry.get(userId);
    if (!session) return refuse('SESSION_NOT_FOUND', 'Session not found');
    if (ws.readyState !== OPEN) return null;
    const outcome = await session.apps.handleInit(ws, app, (rt) => bind({ session, rt, packageName }));
    if (!outcome.ok) {
      this.fatal(ws, outcome.code, outcome.message);
      return null;
    }
    return { session, rt: outcome.rt, packageName };
  }

  /** Init failures end the socket: the SDK does not reconnect after a 1008 (policy) close, so a refused app stays refused. */
  private fatal(ws: WebSocket, code: ErrorCode, message: string, closeCode = 1008): void {
    this.handler.error(ws, code, message);
    if (ws.readyState === OPEN) ws.close(closeCode, closeReason(message));
  }

  onModuleDestroy(): void {
    this.heartbeat?.stop();
  }
}
