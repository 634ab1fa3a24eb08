import type { WebSocket } from 'ws';

const OPEN = 1;
const CLOSED = 3;

/**
 * The part of a `ws` WebSocket the managers use (readyState, send, close), recording what it is sent.
 * JSON frames are parsed into `json`; binary frames are copied into `binary`.
 */
export class FakeSocket {
  readyState = OPEN;
  json: Record<string, any>[] = [];
  binary: Buffer[] = [];
  closed: { code?: number; reason?: string } | null = null;
  /** Frames sent while the socket was not open: a manager writing to a dead socket shows here. */
  readonly sentWhileClosed: unknown[] = [];

  send(data: string | Buffer | ArrayBuffer | Uint8Array, opts?: unknown, cb?: (err?: Error) => void): void {
    const callback = typeof opts === 'function' ? (opts as (err?: Error) => void) : cb;
    if (this.readyState !== OPEN) {
      this.sentWhileClosed.push(typeof data === 'string' ? JSON.parse(data) : data);
    } else if (typeof data === 'string') this.json.push(JSON.parse(data));
    else this.binary.push(Buffer.from(data as Uint8Array));
    callback?.();
  }

  close(code?: number, reason?: string): void {
    this.closed = { code, reason };
    this.readyState = CLOSED;
  }

  /** The socket drops without a close handshake (what the server sees when the peer vanishes). */
  drop(): void {
    this.readyState = CLOSED;
  }

  /** The JSON messages received so far, then forgets them. */
  take(): Record<string, any>[] {
    return this.json.splice(0);
  }

  /** The JSON messages of one type received so far. */
  ofType(type: string): Record<string, any>[] {
    return this.json.filter((m) => m.type === type);
  }

  /** Typed as the `ws` socket the code under test expects. */
  get ws(): WebSocket {
    return this as unknown as WebSocket;
  }
}

/** A fresh open fake socket, already typed as a `ws` WebSocket, with its recorder. */
export function fakeSocket(): FakeSocket {
  return new FakeSocket();
}
