/**
 * Vosk server double (alphacep/vosk-server `websocket/asr_server.py`, the server in the `alphacep/kaldi-*` images): a real WebSocket server on loopback, one language per instance, scripted results.
 *
 * Protocol as the real server implements it (read from asr_server.py and vosk's Python binding):
 * - Any path. A text message that contains `config` is parsed as `{"config": {...}}`: `sample_rate` (float()),
 *   `words` (bool()), `max_alternatives` (int()), `phrase_list`; it gets NO answer. The recogniser is created on
 *   the first audio frame, so a config sent after audio has no effect. A config that does not parse (bad JSON, no
 *   `config` key, non-numeric `sample_rate`) crashes the handler: the connection closes with 1011.
 * - Without a config the server's default rate applies (`VOSK_SAMPLE_RATE`, 8000 unless set).
 * - Each binary frame gets exactly one JSON text answer: `{"partial": "…"}` while the utterance goes on, or
 *   `{"result": [{conf, end, start, word}], "text": "…"}` when it ends (`{"text": …}` alone with `words: false`;
 *   `{"alternatives": [...]}` with `max_alternatives` > 0). Times are seconds, conf 0..1.
 * - End of stream: the server compares the text message with the exact string `{"eof" : 1}` (with those spaces).
 *   Only that string gets the final result, after which the handler returns and the connection closes (1000).
 *   Any other text (e.g. JSON.stringify({eof: 1}) → `{"eof":1}`) is passed to AcceptWaveform as a str, which
 *   raises: the connection closes with 1011 and no answer. `eofMatch: 'json'` relaxes this.
 * - No auth, no idle timeout; the websockets library pings every 20 s and drops a peer that does not answer.
 *
 * Recognition is scripted exactly like the Soniox double: every `bytesPerWord` bytes the next script word is heard
 * if the slot held any non-zero byte; an utterance ends after `wordsPerUtterance` words or after `silenceBytes`
 * of consecutive all-zero PCM.
 */
import { EventEmitter } from 'node:events';
import { createServer, STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';

export interface VoskWord {
  conf: number;
  end: number;
  start: number;
  word: string;
}

export interface VoskDoubleOptions {
  host?: string;
  port?: number;
  /** Restrict the WebSocket path (the real server accepts any). */
  path?: string;
  /** The model's language (one per server). Default 'en'. */
  language?: string;
  /** Script words (cycled). Default "hello world this is a test". */
  words?: string[] | string;
  /** Audio bytes per recognised word; default 16000 (0.5 s at 16 kHz s16le). */
  bytesPerWord?: number;
  /** Words per utterance; default 6. */
  wordsPerUtterance?: number;
  /** Consecutive all-zero bytes that end an utterance; default 32000. */
  silenceBytes?: number;
  /** Sample rate used when the client sends no config (the server's VOSK_SAMPLE_RATE). Default 8000. */
  defaultSampleRate?: number;
  /** Words in results unless the config says otherwise (VOSK_SHOW_WORDS). Default true. */
  showWords?: boolean;
  /** `exact` (default): only the text `{"eof" : 1}` ends the stream, as in asr_server.py; `json`: any {eof:1}. */
  eofMatch?: 'exact' | 'json';
  /** Word confidence; default 1. */
  confidence?: number;
  /** WebSocket keepalive pings like python-websockets (20 s / 20 s); 0 disables. */
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
  /** Delay before every answer. Default 0. */
  responseDelayMs?: number;
}

export interface VoskFaultOptions {
  /** Audio bytes received before the fault strikes; default: fail 0, drop `bytesPerWord`, stall 0. */
  afterBytes?: number;
}

export type VoskOutageMode = 'http' | 'error' | 'refuse';

export interface VoskStreamInfo {
  id: number;
  path: string;
  config: Record<string, unknown> | null;
  configsReceived: number;
  /** The rate the recogniser was created with (null before the first audio frame). */
  sampleRate: number | null;
  state: 'open' | 'finished' | 'errored' | 'dropped' | 'closed';
  fault: 'none' | 'fail' | 'drop' | 'stall';
  bytesReceived: number;
  framesReceived: number;
  partialsSent: number;
  resultsSent: number;
  /** Texts of all results sent (utterances and the final one), non-empty ones only. */
  results: string[];
  closeCode: number | null;
  closeReason: string | null;
  openedAt: number;
  closedAt: number | null;
}

export interface VoskDoubleStats {
  connections: number;
  upgradesRejected: number;
  openStreams: number;
  configsReceived: number;
  protocolErrors: number;
  bytesReceived: number;
  framesReceived: number;
  partialsSent: number;
  resultsSent: number;
  eofs: number;
  drops: number;
  stalls: number;
  failures: number;
}

interface FaultSpec {
  kind: 'fail' | 'drop' | 'stall';
  afterBytes: number;
  code: number;
  reason: string;
}

interface Heard {
  word: string;
  startByte: number;
  endByte: number;
}

interface Stream {
  info: VoskStreamInfo;
  ws: WebSocket;
  sampleRate: number;
  showWords: boolean;
  maxAlternatives: number;
  recognizer: boolean;
  ended: boolean;
  stalled: boolean;
  fault: FaultSpec | null;
  slotFill: number;
  slotVoiced: boolean;
  silentRun: number;
  wordIndex: number;
  current: Heard[];
  done: Heard[][];
  pingTimer: NodeJS.Timeout | null;
  awaitingPong: boolean;
}

const DEFAULT_WORDS = 'hello world this is a test';
const EOF_EXACT = '{"eof" : 1}';
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Python float(): numbers and numeric strings. */
function pyFloat(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v.trim()))) return Number(v.trim());
  return null;
}

/** Python int(): integers, truncated floats, integer strings. */
function pyInt(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && /^\s*[-+]?\d+\s*$/.test(v)) return Number(v.trim());
  return null;
}

/** Python truthiness, for bool(). */
const pyBool = (v: unknown): boolean =>
  !(
    v === false ||
    v === 0 ||
    v === '' ||
    v === null ||
    (Array.isArray(v) && v.length === 0) ||
    (isObject(v) && Object.keys(v).length === 0)
  );

function isAllZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

function trailingZeros(b: Buffer): number {
  let n = 0;
  for (let i = b.length - 1; i >= 0 && b[i] === 0; i--) n++;
  return n;
}

export class VoskDouble extends EventEmitter {
  readonly options: VoskDoubleOptions;
  readonly language: string;
  readonly streams: VoskStreamInfo[] = [];
  lastConfig: Record<string, unknown> | null = null;
  url = '';

  private server: Server | null = null;
  private wss: WebSocketServer | null = null;
  private live = new Set<Stream>();
  private faults: FaultSpec[] = [];
  private outage: VoskOutageMode | null = null;
  private nextId = 1;
  private counters: Omit<VoskDoubleStats, 'openStreams'> = VoskDouble.zeroCounters();
  private readonly script: string[];

  constructor(options: VoskDoubleOptions = {}) {
    super();
    this.options = { ...options };
    this.language = options.language ?? 'en';
    const words = options.words ?? DEFAULT_WORDS;
    this.script = (Array.isArray(words) ? words : words.split(/\s+/)).filter((w) => w !== '');
    if (this.script.length === 0) throw new Error('VoskDouble: the script needs at least one word');
  }

  private static zeroCounters(): Omit<VoskDoubleStats, 'openStreams'> {
    return {
      connections: 0,
      upgradesRejected: 0,
      configsReceived: 0,
      protocolErrors: 0,
      bytesReceived: 0,
      framesReceived: 0,
      partialsSent: 0,
      resultsSent: 0,
      eofs: 0,
      drops: 0,
      stalls: 0,
      failures: 0,
    };
  }

  private get bytesPerWord(): number {
    return this.options.bytesPerWord ?? 16000;
  }

  async start(): Promise<{ url: string; port: number }> {
    if (this.server) throw new Error('VoskDouble already started');
    const server = createServer((_req, res) => {
      // python-websockets answers plain HTTP with 426 Upgrade Required.
      res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
      res.end('Failed to open a WebSocket connection: missing Connection header.\n');
    });
    this.wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('VoskDouble: no TCP address');
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.url = `ws://${host}:${addr.port}${this.options.path ?? ''}`;
    return { url: this.url, port: addr.port };
  }

  async close(): Promise<void> {
    for (const s of this.live) {
      this.stopPing(s);
      s.ws.terminate();
    }
    this.live.clear();
    const server = this.server;
    this.server = null;
    this.wss?.close();
    this.wss = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ---- fault injection -------------------------------------------------------------------------------------

  /** The next n connections fail like a crashed handler: closed with `code` (default 1011) after `afterBytes`. */
  failNext(n = 1, error: { code?: number; reason?: string } = {}, opts: VoskFaultOptions = {}): this {
    for (let i = 0; i < n; i++)
      this.faults.push({
        kind: 'fail',
        afterBytes: opts.afterBytes ?? 0,
        code: error.code ?? 1011,
        reason: error.reason ?? '',
      });
    return this;
  }

  /** The next n connections are terminated abruptly (no close frame) after some audio. */
  dropNext(n = 1, opts: VoskFaultOptions = {}): this {
    for (let i = 0; i < n; i++)
      this.faults.push({ kind: 'drop', afterBytes: opts.afterBytes ?? this.bytesPerWord, code: 0, reason: '' });
    return this;
  }

  /** The next n connections take audio but never answer again, after `afterBytes`. */
  stallNext(n = 1, opts: VoskFaultOptions = {}): this {
    for (let i = 0; i < n; i++)
      this.faults.push({ kind: 'stall', afterBytes: opts.afterBytes ?? 0, code: 0, reason: '' });
    return this;
  }

  /** Server down: 'http' (default) answers upgrades with 503, 'error' accepts then closes 1011, 'refuse' resets. */
  rejectAll(on = true, mode: VoskOutageMode = 'http'): this {
    this.outage = on ? mode : null;
    return this;
  }

  clearFaults(): this {
    this.faults = [];
    this.outage = null;
    return this;
  }

  resetStats(): this {
    this.counters = VoskDouble.zeroCounters();
    this.streams.length = 0;
    this.lastConfig = null;
    return this;
  }

  stats(): VoskDoubleStats {
    return { ...this.counters, openStreams: this.live.size };
  }

  get openStreams(): number {
    return this.live.size;
  }

  get pendingFaults(): number {
    return this.faults.length;
  }

  async waitFor(predicate: (d: this) => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this)) {
      if (Date.now() > deadline)
        throw new Error(`VoskDouble: timed out waiting for ${what}; stats ${JSON.stringify(this.stats())}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  // ---- connection handling ---------------------------------------------------------------------------------

  private rejectUpgrade(socket: Duplex, status: number): void {
    this.counters.upgradesRejected++;
    const text = `${STATUS_CODES[status] ?? ''}\n`;
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
    );
    socket.on('error', () => undefined);
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.counters.connections++;
    const path = req.url ?? '/';
    if (this.options.path !== undefined && path.split('?')[0] !== this.options.path)
      return this.rejectUpgrade(socket, 404);
    if (this.outage === 'refuse') {
      this.counters.upgradesRejected++;
      socket.destroy();
      return;
    }
    if (this.outage === 'http') return this.rejectUpgrade(socket, 503);
    const wss = this.wss;
    if (!wss) return void socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      const s = this.openStream(ws, path);
      if (this.outage === 'error') this.crash(s, 1011, '');
    });
  }

  private openStream(ws: WebSocket, path: string): Stream {
    const info: VoskStreamInfo = {
      id: this.nextId++,
      path,
      config: null,
      configsReceived: 0,
      sampleRate: null,
      state: 'open',
      fault: 'none',
      bytesReceived: 0,
      framesReceived: 0,
      partialsSent: 0,
      resultsSent: 0,
      results: [],
      closeCode: null,
      closeReason: null,
      openedAt: Date.now(),
      closedAt: null,
    };
    this.streams.push(info);
    const s: Stream = {
      info,
      ws,
      sampleRate: this.options.defaultSampleRate ?? 8000,
      showWords: this.options.showWords ?? true,
      maxAlternatives: 0,
      recognizer: false,
      ended: false,
      stalled: false,
      fault: this.faults.shift() ?? null,
      slotFill: 0,
      slotVoiced: false,
      silentRun: 0,
      wordIndex: 0,
      current: [],
      done: [],
      pingTimer: null,
      awaitingPong: false,
    };
    if (s.fault) info.fault = s.fault.kind;
    this.live.add(s);
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => this.onMessage(s, data, isBinary));
    ws.on('pong', () => (s.awaitingPong = false));
    ws.on('close', (code: number, reason: Buffer) => {
      this.stopPing(s);
      this.live.delete(s);
      if (info.closeCode === null) info.closeCode = code;
      if (info.closeReason === null) info.closeReason = reason.toString();
      if (info.closedAt === null) info.closedAt = Date.now();
      if (info.state === 'open') info.state = 'closed';
      this.emit('closed', info);
    });
    ws.on('error', () => undefined);
    this.startPing(s);
    this.emit('connection', info);
    this.checkFault(s);
    return s;
  }

  private startPing(s: Stream): void {
    const interval = this.options.pingIntervalMs ?? 20000;
    if (interval <= 0) return;
    const timeout = this.options.pingTimeoutMs ?? 20000;
    const tick = () => {
      if (s.ended) return;
      s.awaitingPong = true;
      s.ws.ping();
      s.pingTimer = setTimeout(() => {
        if (s.awaitingPong) this.crash(s, 1011, 'keepalive ping timeout');
        else s.pingTimer = setTimeout(tick, Math.max(0, interval - timeout));
      }, timeout);
      s.pingTimer.unref?.();
    };
    s.pingTimer = setTimeout(tick, interval);
    s.pingTimer.unref?.();
  }

  private stopPing(s: Stream): void {
    if (s.pingTimer) clearTimeout(s.pingTimer);
    s.pingTimer = null;
  }

  private toBuffer(data: WebSocket.RawData): Buffer {
    if (Buffer.isBuffer(data)) return data;
    if (Array.isArray(data)) return Buffer.concat(data);
    return Buffer.from(data);
  }

  private onMessage(s: Stream, data: WebSocket.RawData, isBinary: boolean): void {
    if (s.ended) return;
    const buf = this.toBuffer(data);
    if (!isBinary) {
      const text = buf.toString('utf8');
      if (text.includes('config')) return this.onConfig(s, text);
      if (this.isEof(text)) return this.onEof(s);
      // asr_server.py hands the str to AcceptWaveform, whose cffi call raises TypeError: handler crash.
      this.counters.protocolErrors++;
      return this.crash(s, 1011, '');
    }
    this.onAudio(s, buf);
  }

  private isEof(text: string): boolean {
    if (text === EOF_EXACT) return true;
    if (this.options.eofMatch !== 'json') return false;
    try {
      const m: unknown = JSON.parse(text);
      return isObject(m) && pyBool(m.eof);
    } catch {
      return false;
    }
  }

  private onConfig(s: Stream, text: string): void {
    let cfg: unknown;
    try {
      const parsed: unknown = JSON.parse(text);
      if (!isObject(parsed) || !('config' in parsed)) throw new Error('no config key');
      cfg = parsed.config;
      if (!isObject(cfg)) throw new Error('config is not an object');
    } catch {
      this.counters.protocolErrors++;
      return this.crash(s, 1011, '');
    }
    const sampleRate = cfg.sample_rate === undefined ? undefined : pyFloat(cfg.sample_rate);
    const maxAlt = cfg.max_alternatives === undefined ? undefined : pyInt(cfg.max_alternatives);
    if (sampleRate === null || maxAlt === null || (sampleRate !== undefined && sampleRate <= 0)) {
      this.counters.protocolErrors++;
      return this.crash(s, 1011, '');
    }
    this.counters.configsReceived++;
    s.info.configsReceived++;
    s.info.config = cfg;
    this.lastConfig = cfg;
    this.emit('config', cfg, s.info);
    if (s.recognizer) return; // the recogniser exists already: the real server ignores late settings
    if (sampleRate !== undefined) s.sampleRate = sampleRate;
    if (cfg.words !== undefined) s.showWords = pyBool(cfg.words);
    if (maxAlt !== undefined) s.maxAlternatives = maxAlt;
  }

  /** Applies the connection's fault once its audio threshold is reached; true if the connection is gone. */
  private checkFault(s: Stream): boolean {
    const f = s.fault;
    if (!f || s.info.bytesReceived < f.afterBytes) return false;
    if (f.kind === 'stall') {
      if (f.afterBytes > 0 && s.info.bytesReceived === f.afterBytes) return false;
      if (!s.stalled) {
        s.stalled = true;
        this.counters.stalls++;
      }
      return false;
    }
    s.fault = null;
    if (f.kind === 'fail') {
      this.counters.failures++;
      this.crash(s, f.code, f.reason);
      return true;
    }
    this.counters.drops++;
    s.ended = true;
    s.info.state = 'dropped';
    s.info.closedAt = Date.now();
    this.stopPing(s);
    s.ws.terminate();
    return true;
  }

  private crash(s: Stream, code: number, reason: string): void {
    if (s.ended) return;
    s.ended = true;
    this.stopPing(s);
    s.info.state = 'errored';
    s.info.closeCode = code;
    s.info.closeReason = reason;
    this.later(() => {
      if (s.ws.readyState === WebSocket.OPEN) s.ws.close(code, reason);
    });
  }

  private onAudio(s: Stream, buf: Buffer): void {
    if (!s.recognizer) {
      s.recognizer = true;
      s.info.sampleRate = s.sampleRate;
    }
    s.info.bytesReceived += buf.length;
    s.info.framesReceived++;
    this.counters.bytesReceived += buf.length;
    this.counters.framesReceived++;
    this.emit('audio', buf.length, s.info);
    const bpw = this.bytesPerWord;
    const silence = this.options.silenceBytes ?? 32000;
    let pos = s.info.bytesReceived - buf.length;
    let off = 0;
    while (off < buf.length) {
      const n = Math.min(bpw - s.slotFill, buf.length - off);
      const seg = buf.subarray(off, off + n);
      if (isAllZero(seg)) s.silentRun += n;
      else {
        s.slotVoiced = true;
        s.silentRun = trailingZeros(seg);
      }
      s.slotFill += n;
      off += n;
      pos += n;
      if (s.slotFill >= bpw) {
        if (s.slotVoiced) {
          s.current.push({
            word: this.script[s.wordIndex++ % this.script.length]!,
            startByte: pos - bpw,
            endByte: pos,
          });
          if (s.current.length >= (this.options.wordsPerUtterance ?? 6)) this.endUtterance(s);
        }
        s.slotFill = 0;
        s.slotVoiced = false;
      }
      if (s.silentRun >= silence && s.current.length > 0) this.endUtterance(s);
    }
    if (this.checkFault(s) || s.stalled) return;
    // Exactly one answer per frame: a finished utterance if there is one, else the partial hypothesis.
    const utterance = s.done.shift();
    if (utterance) this.sendResult(s, utterance);
    else this.send(s, { partial: s.current.map((h) => h.word).join(' ') }, false);
  }

  private endUtterance(s: Stream): void {
    s.done.push(s.current);
    s.current = [];
  }

  private seconds(s: Stream, bytes: number): number {
    return Math.round((bytes / (s.sampleRate * 2)) * 1e6) / 1e6;
  }

  private sendResult(s: Stream, heard: Heard[]): void {
    const text = heard.map((h) => h.word).join(' ');
    const conf = this.options.confidence ?? 1;
    let msg: Record<string, unknown>;
    if (s.maxAlternatives > 0) {
      msg = {
        alternatives: [
          {
            confidence: Math.round(heard.length * 100 * conf * 1000) / 1000,
            result: heard.map((h) => ({
              end: this.seconds(s, h.endByte),
              start: this.seconds(s, h.startByte),
              word: h.word,
            })),
            text,
          },
        ],
      };
    } else if (s.showWords && heard.length > 0) {
      const words: VoskWord[] = heard.map((h) => ({
        conf,
        end: this.seconds(s, h.endByte),
        start: this.seconds(s, h.startByte),
        word: h.word,
      }));
      msg = { result: words, text };
    } else {
      msg = { text };
    }
    if (text !== '') s.info.results.push(text);
    this.send(s, msg, true);
  }

  private onEof(s: Stream): void {
    this.counters.eofs++;
    if (s.stalled) return;
    s.ended = true;
    this.stopPing(s);
    const heard = [...s.done.flat(), ...s.current];
    s.done = [];
    s.current = [];
    this.sendResult(s, heard);
    s.info.state = 'finished';
    s.info.closeCode = 1000;
    this.later(() => {
      if (s.ws.readyState === WebSocket.OPEN) s.ws.close(1000);
    });
  }

  private send(s: Stream, msg: Record<string, unknown>, isResult: boolean): void {
    if (isResult) {
      s.info.resultsSent++;
      this.counters.resultsSent++;
    } else {
      s.info.partialsSent++;
      this.counters.partialsSent++;
    }
    this.emit(isResult ? 'result' : 'partial', msg, s.info);
    const text = JSON.stringify(msg);
    this.later(() => {
      if (s.ws.readyState === WebSocket.OPEN) s.ws.send(text);
    });
  }

  private later(fn: () => void): void {
    const delay = this.options.responseDelayMs ?? 0;
    if (delay > 0) setTimeout(fn, delay);
    else fn();
  }
}

export function createVoskDouble(options: VoskDoubleOptions = {}): VoskDouble {
  return new VoskDouble(options);
}
