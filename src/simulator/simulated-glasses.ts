import { WebSocket, type RawData } from 'ws';
import { DEFAULT_MODEL, resolveModel, type DeviceModel } from './device-models.js';
import type {
  BaseFields,
  CloudToGlassesMessage,
  ConnectionAck,
  GlassesToCloud,
  GlassesToCloudMessage,
  GlassesToCloudType,
} from './glasses-protocol.types.js';
import { applyCloudMessage, initialGlassesState, type GlassesState } from './glasses-state.js';
import { MessageLog } from './message-log.js';
import { TINY_JPEG } from './photo-upload.js';
import { AutoResponder } from './auto-responder.js';
import { GlassesWaits } from './glasses-waits.js';
import {
  UpgradeRefusedError,
  type AutoAnswerOptions,
  type CloseInfo,
  type PayloadArgs,
  type SimulatedGlassesOptions,
  type StreamPcmResult,
} from './simulated-glasses.types.js';

/** Closes after which the phone does not come back by itself. */
const FINAL_CLOSE_CODES = new Set([1000, 1008, 4000, 4001]);

export {
  UpgradeRefusedError,
  type AutoAnswerOptions,
  type AutoReconnectOptions,
  type CloseInfo,
  type SimulatedGlassesEvents,
  type SimulatedGlassesOptions,
  type StreamPcmResult,
} from './simulated-glasses.types.js';

const BYTES_PER_MS = 32; // 16 kHz × 16-bit mono PCM

/**
 * The glasses + phone side of `/glasses-ws`, scriptable from tests, the CLI and the web page.
 * The cloud's side of each message is in src/glasses-ws; each method names the message it sends.
 */
export class SimulatedGlasses extends GlassesWaits {
  readonly state: GlassesState = initialGlassesState();
  lastClose: CloseInfo | null = null;

  private modelInfo: DeviceModel;
  private readonly opts: SimulatedGlassesOptions;
  private readonly responder: AutoResponder;
  protected readonly timeoutMs: number;
  protected readonly log: MessageLog<CloudToGlassesMessage>;
  private ws: WebSocket | null = null;
  /** Sockets left open by `reconnect({ previous: 'keep' })`. */
  private readonly staleSockets = new Set<WebSocket>();
  private pendingConnect: { resolve(ack: ConnectionAck): void; reject(err: Error): void } | null = null;
  private readonly closeWaiters = new Set<(info: CloseInfo) => void>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly pcmStops = new Set<() => void>();
  /** While true, a closing socket does not fail pending waits (they target the next socket). */
  private reconnecting = false;
  /** autoReconnect: false once disconnect()/drop() ran (until the next connect()). */
  private wantConnected = false;
  private retryTimer: NodeJS.Timeout | null = null;
  /** Failed or pending attempts since the last acknowledged socket. */
  private retryAttempts = 0;

  constructor(options: SimulatedGlassesOptions) {
    super();
    this.opts = options;
    this.modelInfo = resolveModel(options.model ?? DEFAULT_MODEL);
    this.timeoutMs = options.timeoutMs ?? 5000;
    const a = options.autoAnswer ?? {};
    const auto: Required<AutoAnswerOptions> = {
      pings: a.pings ?? true,
      keepAlive: a.keepAlive ?? true,
      photos: a.photos ?? { jpeg: TINY_JPEG },
      rtmp: a.rtmp ?? true,
      location: a.location ?? true,
      audio: a.audio ?? true,
      led: a.led ?? true,
    };
    this.responder = new AutoResponder(this, auto);
    this.log = new MessageLog(options.maxReceived ?? 10_000, () => this.describeLastSeen());
  }

  get model(): DeviceModel {
    return this.modelInfo;
  }

  /** Received messages, oldest first, at most `maxReceived`. */
  get received(): readonly CloudToGlassesMessage[] {
    return this.log.all;
  }

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Position to pass as `since` to a wait started after the action that triggers the message. */
  mark(): number {
    return this.log.mark();
  }

  /** Everything that can keep the process alive; all zero after `disconnect()`/`drop()`. */
  openHandles(): { sockets: number; timers: number; waits: number; uploads: number; pcmStreams: number } {
    const live = [this.ws, ...this.staleSockets].filter((ws) => ws && ws.readyState !== WebSocket.CLOSED);
    return {
      sockets: live.length,
      timers: this.timers.size,
      waits: this.log.pendingWaits + this.closeWaiters.size,
      uploads: this.responder.pendingUploads,
      pcmStreams: this.pcmStops.size,
    };
  }

  // -------------------------------------------------------------------------
  // Connection
  // -------------------------------------------------------------------------

  /** Opens the socket; resolves on the first `connection_ack`. */
  connect(): Promise<ConnectionAck> {
    // A CLOSING socket (e.g. after a refused upgrade) may be replaced; its late close is ignored.
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) {
      return Promise.reject(new Error('SimulatedGlasses.connect(): already connected; use reconnect()'));
    }
    this.wantConnected = true;
    this.retryAttempts = 0;
    return this.openSocket();
  }

  /**
   * Opens a new socket with the same token and model. The previous socket is closed cleanly
   * (default), dropped, or kept open to mimic a phone whose old connection lingers.
   */
  async reconnect(opts: { previous?: 'close' | 'drop' | 'keep' } = {}): Promise<ConnectionAck> {
    const old = this.ws;
    if (old && old.readyState !== WebSocket.CLOSED) {
      this.reconnecting = true;
      try {
        if (opts.previous === 'keep') {
          this.staleSockets.add(old);
        } else {
          const closed = this.onceClosed(old);
          if (opts.previous === 'drop') old.terminate();
          else old.close(1000);
          await closed;
        }
      } finally {
        this.reconnecting = false;
      }
    }
    this.ws = null;
    return this.openSocket();
  }

  /** Clean close handshake; resolves once the socket is closed. */
  async disconnect(code = 1000, reason = ''): Promise<CloseInfo> {
    return this.shutdown((ws) => {
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(code, reason);
    });
  }

  close(code = 1000, reason = ''): Promise<CloseInfo> {
    return this.disconnect(code, reason);
  }

  /** Destroys the TCP socket without a close frame, so the server sees 1006. */
  async drop(): Promise<CloseInfo> {
    return this.shutdown((ws) => ws.terminate());
  }

  /** Closes the sockets left behind by `reconnect({ previous: 'keep' })`. */
  async closeStale(opts: { abrupt?: boolean; code?: number } = {}): Promise<void> {
    const sockets = [...this.staleSockets];
    await Promise.all(
      sockets.map((ws) => {
        const closed = this.onceClosed(ws);
        if (opts.abrupt) ws.terminate();
        else ws.close(opts.code ?? 1000);
        return closed;
      }),
    );
  }

  /** Resolves when the current socket closes (at once if it already has). */
  waitForClose(opts: { timeoutMs?: number } = {}): Promise<CloseInfo> {
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) {
      return this.lastClose
        ? Promise.resolve(this.lastClose)
        : Promise.reject(new Error('waitForClose(): the glasses never connected'));
    }
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    return new Promise((resolve, reject) => {
      const onClose = (info: CloseInfo): void => {
        this.clearTimer(timer);
        resolve(info);
      };
      const timer = this.setTimer(() => {
        this.closeWaiters.delete(onClose);
        const seen = this.describeLastSeen();
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for the socket to close. Last seen: ${seen}`));
      }, timeoutMs);
      this.closeWaiters.add(onClose);
    });
  }

  private openSocket(): Promise<ConnectionAck> {
    const url = this.socketUrl();
    const headers: Record<string, string> = { ...this.opts.headers };
    if ((this.opts.tokenIn ?? 'header') === 'header') headers.Authorization = `Bearer ${this.opts.token}`;
    const ws = new WebSocket(url, { headers });
    this.ws = ws;

    return new Promise<ConnectionAck>((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | null, ack?: ConnectionAck): void => {
        if (settled) return;
        settled = true;
        this.clearTimer(timer);
        if (this.pendingConnect === pending) this.pendingConnect = null;
        if (err) reject(err);
        else resolve(ack as ConnectionAck);
      };
      const pending = { resolve: (ack: ConnectionAck) => finish(null, ack), reject: (e: Error) => finish(e) };
      this.pendingConnect = pending;
      const timer = this.setTimer(() => {
        const seen = this.describeLastSeen();
        finish(new Error(`connect(): no connection_ack from ${url} within ${this.timeoutMs} ms. Last seen: ${seen}`));
        ws.terminate();
      }, this.timeoutMs);

      ws.on('unexpected-response', (_req, res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        const refuse = (): void => {
          const text = Buffer.concat(chunks).toString('utf8');
          finish(new UpgradeRefusedError(res.statusCode ?? 0, parseJson(text) ?? text, res.headers));
          // ws leaves the handshake to us once we listen for this event.
          ws.terminate();
        };
        res.on('end', refuse);
        res.on('error', refuse);
      });
      ws.on('open', () => this.onOpen(ws));
      ws.on('message', (data, isBinary) => this.onMessage(ws, data, isBinary));
      ws.on('error', (err) => {
        if (settled && ws === this.ws) this.emit('socket-error', err);
        finish(err);
      });
      ws.on('close', (code, reason) => {
        const why = reason.toString('utf8');
        finish(new Error(`connect(): socket closed (${code}${why ? ` ${why}` : ''}) before connection_ack`));
        this.onClose(ws, code, why);
      });
    });
  }

  private socketUrl(): string {
    const url = new URL(this.opts.cloudUrl);
    if (url.protocol === 'http:') url.protocol = 'ws:';
    else if (url.protocol === 'https:') url.protocol = 'wss:';
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/glasses-ws`;
    for (const [k, v] of Object.entries(this.opts.query ?? {})) url.searchParams.set(k, v);
    if (this.opts.tokenIn === 'query') url.searchParams.set('token', this.opts.token);
    return url.toString();
  }

  private async shutdown(closeFn: (ws: WebSocket) => void): Promise<CloseInfo> {
    this.wantConnected = false;
    if (this.retryTimer) this.clearTimer(this.retryTimer);
    this.retryTimer = null;
    for (const stop of [...this.pcmStops]) stop();
    const uploadsDone = this.responder.abortAll();
    const ws = this.ws;
    const staleClosed = [...this.staleSockets].map((s) => {
      const closed = this.onceClosed(s);
      s.terminate();
      return closed;
    });
    let info = this.lastClose ?? { code: 1005, reason: 'never connected' };
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      const closed = this.onceClosed(ws);
      closeFn(ws);
      // ws itself waits 30 s for a peer that never answers the close frame; do not hang that long.
      const fallback = this.setTimer(() => ws.terminate(), this.timeoutMs);
      info = await closed;
      this.clearTimer(fallback);
    }
    await Promise.all([...staleClosed, uploadsDone]);
    return info;
  }

  private onceClosed(ws: WebSocket): Promise<CloseInfo> {
    if (ws.readyState === WebSocket.CLOSED) return Promise.resolve(this.lastClose ?? { code: 1006, reason: '' });
    return new Promise((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })),
    );
  }

  private onOpen(ws: WebSocket): void {
    if (ws !== this.ws) return;
    this.state.connected = true;
    this.emit('open');
    if (this.opts.sendConnectionInit) this.send('connection_init', { coreToken: this.opts.token });
    if (this.opts.sendConnectionState ?? true) this.sendConnectionState('CONNECTED');
  }

  private onClose(ws: WebSocket, code: number, reason: string): void {
    if (this.staleSockets.delete(ws) || ws !== this.ws) return;
    const info = { code, reason };
    this.state.connected = false;
    this.lastClose = info;
    for (const stop of [...this.pcmStops]) stop();
    for (const resolve of [...this.closeWaiters]) resolve(info);
    this.closeWaiters.clear();
    if (!this.reconnecting) this.log.rejectAll(`the socket closed (${code}${reason ? ` ${reason}` : ''})`);
    this.emit('close', info);
    if (this.opts.autoReconnect && this.wantConnected && !this.reconnecting && !FINAL_CLOSE_CODES.has(code))
      this.scheduleRetry();
  }

  /** autoReconnect: the next attempt after its backoff; a failure schedules the one after. */
  private scheduleRetry(): void {
    if (this.retryTimer) return;
    const attempt = ++this.retryAttempts;
    const initial = this.opts.autoReconnect?.initialDelayMs ?? 500;
    const max = this.opts.autoReconnect?.maxDelayMs ?? 8000;
    const base = Math.min(max, initial * 2 ** (attempt - 1));
    // Full jitter over the upper half, so users of one failed process do not come back in lockstep.
    const delay = base / 2 + Math.random() * (base / 2);
    this.retryTimer = this.setTimer(() => {
      this.retryTimer = null;
      if (!this.wantConnected || this.isOpen) return;
      this.openSocket().then(
        (ack) => {
          this.retryAttempts = 0;
          this.emit('reconnected', ack, attempt);
        },
        () => {
          // A socket that opened and then closed has scheduled the next try in onClose already.
          if (this.wantConnected && !this.isOpen) this.scheduleRetry();
        },
      );
    }, delay);
  }

  // -------------------------------------------------------------------------
  // Receiving
  // -------------------------------------------------------------------------

  private onMessage(ws: WebSocket, data: RawData, isBinary: boolean): void {
    if (ws !== this.ws) return;
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (isBinary) {
      this.emit('binary', buf);
      return;
    }
    const text = buf.toString('utf8');
    const parsed = parseJson(text);
    if (!parsed || typeof parsed !== 'object' || typeof (parsed as { type?: unknown }).type !== 'string') {
      this.emit('unparsed', text);
      return;
    }
    const msg = parsed as CloudToGlassesMessage;
    const stoppedStreams = applyCloudMessage(this.state, msg);
    this.log.push(msg);
    this.emit('message', msg);
    (this.emit as (event: string, m: unknown) => boolean)(`msg:${msg.type}`, msg);
    if (this.isOpen) this.responder.respond(msg, stoppedStreams);
    if (msg.type === 'connection_ack') {
      this.emit('ack', msg);
      this.pendingConnect?.resolve(msg);
    } else if (msg.type === 'connection_error') {
      this.pendingConnect?.reject(
        Object.assign(new Error(`connection_error: ${msg.message}${msg.code ? ` (${msg.code})` : ''}`), { body: msg }),
      );
    }
  }

  // -------------------------------------------------------------------------
  // Sending
  // -------------------------------------------------------------------------

  /** Sends a typed message; `timestamp` is added unless given (not for ping/pong, which stay bare). */
  send<K extends GlassesToCloudType>(type: K, ...args: PayloadArgs<K>): void {
    const payload = (args[0] ?? {}) as GlassesToCloud[K] & BaseFields;
    const msg = { type, ...payload } as GlassesToCloudMessage;
    if (type !== 'ping' && type !== 'pong' && msg.timestamp === undefined) {
      msg.timestamp = new Date().toISOString();
    }
    this.openSocketOrThrow(`send(${type})`).send(JSON.stringify(msg));
    this.emit('sent', msg);
  }

  /** Sends anything as-is (a string as a text frame, a Buffer as a binary frame), e.g. to fuzz the cloud. */
  sendRaw(data: string | Buffer): void {
    this.openSocketOrThrow('sendRaw()').send(data, { binary: Buffer.isBuffer(data) });
  }

  /** One binary audio frame (PCM s16le, 16 kHz, mono). */
  sendAudio(pcm: Buffer): void {
    this.openSocketOrThrow('sendAudio()').send(pcm, { binary: true });
  }

  /**
   * Sends `pcm` in frames, paced like a live microphone (32 bytes per ms) unless `realtime`
   * is false. Never rejects: stops early (`aborted: true`) when the socket goes away.
   */
  streamPcm(
    pcm: Buffer,
    opts: { frameBytes?: number; realtime?: boolean; signal?: AbortSignal } = {},
  ): Promise<StreamPcmResult> {
    const frameBytes = Math.max(2, opts.frameBytes ?? 3200);
    const realtime = opts.realtime ?? true;
    const ws = this.openSocketOrThrow('streamPcm()');
    return new Promise((resolve) => {
      const t0 = Date.now();
      let offset = 0;
      let frames = 0;
      let timer: NodeJS.Timeout | null = null;
      const done = (aborted: boolean): void => {
        if (timer) this.clearTimer(timer);
        timer = null;
        this.pcmStops.delete(stop);
        opts.signal?.removeEventListener('abort', stop);
        resolve({ bytesSent: offset, frames, aborted });
      };
      const stop = (): void => done(true);
      const step = (): void => {
        timer = null;
        if (ws !== this.ws || ws.readyState !== WebSocket.OPEN) return done(true);
        // Catch up on every frame that is due, so timer jitter does not slow the stream down.
        while (offset < pcm.length && (!realtime || t0 + offset / BYTES_PER_MS <= Date.now())) {
          const chunk = pcm.subarray(offset, offset + frameBytes);
          ws.send(chunk, { binary: true });
          offset += chunk.length;
          frames++;
        }
        if (offset >= pcm.length) return done(false);
        timer = this.setTimer(step, Math.max(0, t0 + offset / BYTES_PER_MS - Date.now()));
      };
      if (opts.signal?.aborted) return resolve({ bytesSent: 0, frames: 0, aborted: true });
      opts.signal?.addEventListener('abort', stop, { once: true });
      this.pcmStops.add(stop);
      step();
    });
  }

  /** App-level ping (`ping` → `pong`); resolves with the round-trip time in ms. */
  async ping(opts: { timeoutMs?: number } = {}): Promise<number> {
    const since = this.mark();
    const started = performance.now();
    this.send('ping');
    await this.waitFor('pong', undefined, { since, timeoutMs: opts.timeoutMs });
    return performance.now() - started;
  }

  sendConnectionState(status: 'CONNECTED' | 'RECONNECTED' | 'DISCONNECTED' | (string & {}) = 'CONNECTED'): void {
    const hasWifi = this.modelInfo.hasWifi;
    const wifi = this.opts.wifi ?? { connected: hasWifi, ssid: hasWifi ? 'SimulatorWiFi' : null };
    this.send('glasses_connection_state', { modelName: this.modelInfo.name, status, wifi });
  }

  /** Switches the simulated model; tells the cloud at once when connected. */
  setModel(nameOrAlias: string): DeviceModel {
    this.modelInfo = resolveModel(nameOrAlias);
    if (this.isOpen) this.sendConnectionState('CONNECTED');
    return this.modelInfo;
  }

  private describeLastSeen(): string {
    const recent = this.log.since(this.log.mark() - 3);
    const msgs = recent.length
      ? recent.map((m) => truncate(JSON.stringify(m), 200)).join(' | ')
      : 'no messages received';
    const socket = this.ws ? ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'][this.ws.readyState] : 'none';
    const main = JSON.stringify(this.displayText('main'));
    return `${msgs}; main display: ${main}; mic ${this.state.micEnabled ? 'on' : 'off'}; socket ${socket}`;
  }

  private openSocketOrThrow(what: string): WebSocket {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      throw new Error(`SimulatedGlasses.${what}: socket is not open (call connect() first)`);
    }
    return ws;
  }

  private setTimer(fn: () => void, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  private clearTimer(timer: NodeJS.Timeout): void {
    clearTimeout(timer);
    this.timers.delete(timer);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function truncate(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
