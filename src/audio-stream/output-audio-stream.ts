import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';

export interface OutputStreamLimits {
  /** Bytes kept for players that join late; also how far behind a player may fall before it is cut off. */
  bufferBytes: number;
  /** Players (HTTP responses) at once. */
  maxReaders: number;
}

export type AttachResult = 'attached' | 'ended' | 'busy';

/**
 * One app's output audio stream (SDK 3 `createOutputStream()`): MP3 bytes from the app's binary frames, played
 * by the phone over HTTP as chunked `audio/mpeg` while they are written. The newest `bufferBytes` are kept so a
 * player that connects after the app began writing (it learns the URL only from the play request) still gets
 * the start; chunks are kept as received, so the hot path copies nothing.
 */
export class OutputAudioStream {
  /** The URL's secret: 192 random bits, unrelated to the app-chosen streamId. */
  readonly token = randomBytes(24).toString('base64url');
  readonly createdAt = Date.now();
  lastWriteAt = Date.now();
  bytesIn = 0;
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private readonly readers = new Set<ServerResponse>();
  private ended = false;
  private closed = false;

  constructor(
    readonly streamId: string,
    readonly packageName: string,
    private readonly limits: OutputStreamLimits,
  ) {}

  get isEnded(): boolean {
    return this.ended;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get readerCount(): number {
    return this.readers.size;
  }

  write(chunk: Buffer): void {
    if (this.ended || chunk.length === 0) return;
    this.lastWriteAt = Date.now();
    this.bytesIn += chunk.length;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered > this.limits.bufferBytes && this.chunks.length > 1) {
      this.buffered -= this.chunks.shift()!.length;
    }
    for (const res of this.readers) {
      // A player that stopped reading would otherwise make Node buffer the whole stream for it.
      if (res.writableLength > this.limits.bufferBytes) {
        this.readers.delete(res);
        res.destroy();
        continue;
      }
      res.write(chunk);
    }
  }

  /** Serves the stream on `res`: what is buffered at once, then every new chunk until the stream ends. */
  attach(res: ServerResponse): AttachResult {
    if (this.closed) return 'ended';
    if (!this.ended && this.readers.size >= this.limits.maxReaders) return 'busy';
    res.writeHead(200, {
      'content-type': 'audio/mpeg',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.flushHeaders();
    for (const c of this.chunks) res.write(c);
    if (this.ended) {
      res.end();
      return 'attached';
    }
    this.readers.add(res);
    res.once('close', () => this.readers.delete(res));
    return 'attached';
  }

  /** The app ended the stream: players finish what they have; late players still get the kept bytes. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const res of this.readers) res.end();
    this.readers.clear();
  }

  /** Gone for good (app stopped, session ended, idle, or the late-player window passed). */
  close(): void {
    if (this.closed) return;
    this.end();
    this.closed = true;
    this.chunks.length = 0;
    this.buffered = 0;
  }
}
