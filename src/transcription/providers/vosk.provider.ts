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
 * Vosk server (media.md §4): one model per server, so a language → URL map. `{"config":…}`, binary PCM,
 * one answer per frame (`partial` while speaking, `result`+`text` at the end of an utterance), `{"eof":1}`
 * for the last result. Vosk has no finalize: on silence the stream is simply kept and ends utterances
 * itself; nothing is billed, so idle streams cost only a socket.
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

class VoskStream implements ProviderStream {
  private readonly ws: WebSocket;
  private ready = false;
  private closed = false;
  private finished = false;
  private pending: Buffer[] = [];
  private lastPartial = '';
  /** Audio already sent, so word times can be reported as stream offsets. */

  constructor(
    url: string,
    private readonly handlers: StreamHandlers,
  ) {
    this.ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 10_000 });
    this.ws.on('open', () => {
      this.ws.send(JSON.stringify({ config: { sample_rate: 16_000, words: 1 } }));
      this.ready = true;
      for (const b of this.pending) this.ws.send(b);
      this.pending = [];
      handlers.onOpen();
    });
    this.ws.on('message', (data: Buffer) => {
      let msg: VoskMessage;
      try {
        msg = JSON.parse(data.toString('utf8')) as VoskMessage;
      } catch {
        return;
      }
      if (typeof msg.partial === 'string') {
        if (msg.partial === '' || msg.partial === this.lastPartial) return;
        this.lastPartial = msg.partial;
        handlers.onResult({ text: msg.partial, isFinal: false });
        return;
      }
      if (typeof msg.text === 'string') {
        this.lastPartial = '';
        if (msg.text === '') return;
        const words = msg.result ?? [];
        handlers.onResult({
          text: msg.text,
          isFinal: true,
          startMs: words[0] ? Math.round(words[0].start * 1000) : undefined,
          endMs: words.at(-1) ? Math.round(words.at(-1)!.end * 1000) : undefined,
          confidence: words.length ? words.reduce((a, w) => a + w.conf, 0) / words.length : undefined,
          tokens: words.map((w) => ({
            text: w.word,
            startMs: Math.round(w.start * 1000),
            endMs: Math.round(w.end * 1000),
            confidence: w.conf,
            isFinal: true,
          })),
        });
      }
    });
    this.ws.on('unexpected-response', (_req, res) => {
      this.fail(new ProviderError('vosk', `upgrade refused with HTTP ${res.statusCode}`, true, res.statusCode));
      res.resume();
    });
    this.ws.on('error', (err) => this.fail(new ProviderError('vosk', err.message, true)));
    this.ws.on('close', (code) => {
      if (!this.closed && code !== 1000)
        this.fail(new ProviderError('vosk', `connection closed (${code})`, true, code));
      this.finish();
    });
  }

  write(pcm: Buffer): void {
    if (this.closed || pcm.length === 0) return;
    if (!this.ready) {
      if (this.pending.length < 50) this.pending.push(pcm);
      return;
    }
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(pcm);
  }

  finalize(): void {
    // Vosk ends utterances on its own; there is no control message for it.
  }

  keepalive(): void {
    // Vosk does not close idle connections.
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.ws.readyState === WebSocket.OPEN) {
      this.ws.send('{"eof" : 1}');
      setTimeout(() => this.ws.terminate(), 2_000).unref();
    } else this.ws.terminate();
    // Results the server still sends (the last final) are delivered until its close arrives.
  }

  private fail(err: ProviderError): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers.onError(err);
    this.ws.terminate();
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.closed = true;
    this.handlers.onClosed();
  }
}
