import WebSocket from 'ws';

/** A bare protocol-level WebSocket client for driving the doubles in their specs: records every message. */
export class ProbeClient {
  readonly messages: any[] = [];
  readonly raw: string[] = [];
  closed: { code: number; reason: string } | null = null;
  errored: Error | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const text = isBinary ? `<binary ${data.length}>` : data.toString('utf8');
      this.raw.push(text);
      try {
        this.messages.push(JSON.parse(text));
      } catch {
        this.messages.push(text);
      }
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.closed = { code, reason: reason.toString() };
    });
    ws.on('error', (err: Error) => {
      this.errored = err;
    });
  }

  static async open(
    url: string,
    opts: { headers?: Record<string, string>; protocols?: string[] } = {},
  ): Promise<ProbeClient> {
    const ws = new WebSocket(url, opts.protocols ?? [], { headers: opts.headers ?? {}, perMessageDeflate: false });
    const client = new ProbeClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) =>
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })),
      );
      ws.once('error', reject);
    });
    return client;
  }

  /** Resolves with the HTTP status and body of a refused upgrade (rejects if the upgrade is accepted). */
  static refused(url: string, opts: { headers?: Record<string, string> } = {}): Promise<{ status: number; body: any }> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers: opts.headers ?? {} });
      ws.once('open', () => {
        ws.terminate();
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
      ws.once('error', (err) => resolve({ status: 0, body: err.message }));
    });
  }

  send(value: unknown): void {
    this.ws.send(typeof value === 'string' || Buffer.isBuffer(value) ? value : JSON.stringify(value));
  }

  async waitFor(predicate: (c: ProbeClient) => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this)) {
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${what}; got ${JSON.stringify(this.messages).slice(0, 800)} closed=${JSON.stringify(this.closed)}`,
        );
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Waits until `n` messages have arrived in total. */
  async count(n: number, timeoutMs = 3000): Promise<any[]> {
    await this.waitFor((c) => c.messages.length >= n, timeoutMs, `${n} messages`);
    return this.messages.slice(0, n);
  }

  async next(predicate: (m: any) => boolean, timeoutMs = 3000): Promise<any> {
    let found: any;
    await this.waitFor(
      (c) => {
        found = c.messages.find(predicate);
        return found !== undefined;
      },
      timeoutMs,
      'a matching message',
    );
    return found;
  }

  async waitClosed(timeoutMs = 3000): Promise<{ code: number; reason: string }> {
    await this.waitFor((c) => c.closed !== null, timeoutMs, 'close');
    return this.closed!;
  }

  terminate(): void {
    this.ws.terminate();
  }
}

/** `ms` of 16 kHz s16le mono PCM: a non-zero tone, or silence (all zero). */
export function pcm(ms: number, silent = false): Buffer {
  const b = Buffer.alloc(ms * 32);
  if (!silent) for (let i = 0; i < b.length; i += 2) b.writeInt16LE(Math.round(8000 * Math.sin(i / 20)) || 1, i);
  return b;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
