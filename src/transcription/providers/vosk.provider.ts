import WebSocket from 'ws';
import {
  ProviderError,
  type ProviderStream,
  type StreamHandlers,
  type StreamSpec,
  type TranscriptionProvider,
} from './provider.types.js';

interface VoskWord {
  word: string;
  start: number;
  end: number;
  conf: number;
}

interface VoskMessage {
  partial?: string;
  text?: string;
  result?: VoskWord[];
}

/**
 * Vosk server: one model per server, so a language → URL map. `{"config":…}`, binary PCM,
 * one answer per frame (`partial` while speaking, `result`+`text` at the end of an utterance), `{"eof" : 1}`
 * for the last result, after which the server ends the connection. Nothing is billed, so idle streams cost
 * only a socket.
 */
export class VoskProvider implements TranscriptionProvider {
  readonly name = 'vosk';

  constructor(private readonly urls: ReadonlyMap<string, string>) {}

  supports(spec: StreamSpec): boolean {
    return !spec.translateTo && this.urlFor(spec.language) !== undefined;
  }

  private urlFor(language: string): string | undefined {
    return this.urls.get(language) ?? this.urls.get(language.split('-')[0]!);
  }

  open(spec: StreamSpec, handlers: StreamHandlers): ProviderStream {
    return new VoskStream(this.urlFor(spec.language)!, handlers);
  }
}

/** The server compares the text with exactly this string (spaces included); anything else is taken for audio. */
const EOF = '{"eof" : 1}';
/** How long a flushed connection may take to send its last result and close. */
const DRAIN_MS = 2_000;

/**
 * One logical stream over successive connections. Vosk has no "finalize" message: the only way to turn
 * the words heard so far into final text is `{"eof" : 1}`, which also ends the connection. So a VAD
 * silence flushes with eof and drains that connection (its last result is still delivered, its close
 * is expected), and the next audio opens a fresh connection; to the caller it stays one stream.
 */
class VoskStream implements ProviderStream {
  private ws: WebSocket | null = null;
  private ready = false;
  private closed = false;
  private finished = false;
  /** Audio went to the current connection since it opened: there is something to flush. */
  private heard = false;
  private flushOnOpen = false;
  private pending: Buffer[] = [];
  private lastPartial = '';
  private opened = false;

  constructor(
    private readonly url: string,
    private readonly handlers: StreamHandlers,
  ) {
    this.connect();
  }

  private connect(): void {
    const ws = new WebSocket(this.url, { perMessageDeflate: false, handshakeTimeout: 10_000 });
    this.ws = ws;
    this.ready = false;
    this.heard = false;
    this.lastPartial = '';
    ws.on('open', () => {
      if (ws !== this.ws) return;
      ws.send(JSON.stringify({ config: { sample_rate: 16_000, words: 1 } }));
      this.ready = true;
      for (const b of this.pending) ws.send(b);
      this.heard = this.pending.length > 0;
      this.pending = [];
      if (!this.opened) {
        this.opened = true;
        this.handlers.onOpen();
      }
      if (this.flushOnOpen) {
        this.flushOnOpen = false;
        this.finalize();
      }
    });
    // A drained connection's last result is real speech: delivered even after it was replaced.
    ws.on('message', (data: Buffer) => this.onMessage(data));
    ws.on('unexpected-response', (_req, res) => {
      if (ws === this.ws)
        this.fail(new ProviderError('vosk', `upgrade refused with HTTP ${res.statusCode}`, true, res.statusCode));
      res.resume();
    });
    ws.on('error', (err) => {
      if (ws === this.ws) this.fail(new ProviderError('vosk', err.message, true));
    });
    ws.on('close', (code) => {
      if (ws !== this.ws) return; // drained after a flush: its close is the expected end
      if (!this.closed && code !== 1000)
        this.fail(new ProviderError('vosk', `connection closed (${code})`, true, code));
      this.finish();
    });
  }

  private onMessage(data: Buffer): void {
    let msg: VoskMessage;
    try {
      msg = JSON.parse(data.toString('utf8')) as VoskMessage;
    } catch {
      return;
    }
    if (typeof msg.partial === 'string') {
      if (msg.partial === '' || msg.partial === this.lastPartial) return;
      this.lastPartial = msg.partial;
      this.handlers.onResult({ text: msg.partial, isFinal: false });
      return;
    }
    if (typeof msg.text === 'string') {
      this.lastPartial = '';
      if (msg.text === '') return;
      const words = msg.result ?? [];
      this.handlers.onResult({
        text: msg.text,
        isFinal: true,
        startMs: words[0] ? Math.round(words[0].start * 1000) : undefined,
        endMs: words.at(-1) ? Math.round(words.at(-1)!.end * 1000) : undefined,
        confidence: words.length ? words.reduce((a, w) => a + w.conf, 0) / words.length : undefined,
      });
    }
  }

  write(pcm: Buffer): void {
    if (this.closed || pcm.length === 0) return;
    if (this.ws === null) this.connect();
    if (!this.ready) {
      if (this.pending.length < 50) this.pending.push(pcm);
      return;
    }
    if (this.ws!.readyState === WebSocket.OPEN) {
      this.ws!.send(pcm);
      this.heard = true;
    }
  }

  /** VAD silence: eof turns the words heard so far into a final result; the next audio reconnects. */
  finalize(): void {
    if (this.closed || this.ws === null) return;
    if (!this.ready) {
      if (this.pending.length > 0) this.flushOnOpen = true;
      return;
    }
    if (!this.heard) return;
    const ws = this.ws;
    this.ws = null;
    this.ready = false;
    if (ws.readyState === WebSocket.OPEN) ws.send(EOF);
    setTimeout(() => ws.terminate(), DRAIN_MS).unref();
  }

  keepalive(): void {
    // Vosk does not close idle connections.
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    const ws = this.ws;
    if (ws === null) return this.finish();
    if (ws.readyState === WebSocket.OPEN) {
      ws.send(EOF);
      setTimeout(() => ws.terminate(), DRAIN_MS).unref();
    } else ws.terminate();
    // Results the server still sends (the last final) are delivered until its close arrives.
  }

  private fail(err: ProviderError): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers.onError(err);
    this.ws?.terminate();
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.closed = true;
    this.handlers.onClosed();
  }
}
