import WebSocket, { type ClientOptions } from 'ws';

/** A bare WebSocket client that records everything it receives, for feeding the gateways bad input. */
export class RawClient {
  readonly messages: any[] = [];
  readonly binary: Buffer[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.binary.push(data);
      else {
        try {
          this.messages.push(JSON.parse(data.toString()));
        } catch {
          this.messages.push(data.toString());
        }
      }
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    ws.on('error', () => undefined);
  }

  /** `options`: e.g. `localAddress` (a loopback source address, another client for per-address limits). */
  static async open(
    url: string,
    headers: Record<string, string> = {},
    options: ClientOptions = {},
  ): Promise<RawClient> {
    const ws = new WebSocket(url, { ...options, headers });
    const client = new RawClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) =>
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })),
      );
      ws.once('error', reject);
    });
    return client;
  }

  /** Resolves with the upgrade refusal's status and JSON body. */
  static refused(
    url: string,
    headers: Record<string, string> = {},
    options: ClientOptions = {},
  ): Promise<{ status: number; body: any }> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { ...options, headers });
      ws.once('open', () => {
        ws.close();
        reject(new Error('upgrade was accepted'));
      });
      ws.once('unexpected-response', (_req, res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      });
      ws.once('error', () => undefined);
    });
  }

  send(value: unknown): void {
    this.ws.send(typeof value === 'string' || Buffer.isBuffer(value) ? value : JSON.stringify(value));
  }

  async next(predicate: (m: any) => boolean, timeoutMs = 3000, from = 0): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.slice(from).find(predicate);
      if (found !== undefined) return found;
      if (Date.now() > deadline)
        throw new Error(`no matching message; got ${JSON.stringify(this.messages).slice(0, 500)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async waitClosed(timeoutMs = 3000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('socket did not close');
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.closed;
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
