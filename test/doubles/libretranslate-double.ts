/**
 * LibreTranslate double (libretranslate/libretranslate): a real HTTP server on loopback
 * with scripted translations. Behaviour follows LibreTranslate's `app.py`:
 * - `POST /translate` with a JSON body (or form fields) `{q, source, target, format?, api_key?}` →
 *   `{translatedText}`; `q` may be an array (→ array of translations). With `source: "auto"` the answer also has
 *   `detectedLanguage: {confidence, language}` (an array of them for an array `q`); confidence is 0..100.
 * - Errors are `{error: "…"}`: 400 for a missing q/source/target ("Invalid request: missing q parameter"), an
 *   unknown language ("en-US is not supported": codes are the model's two-letter codes), an unsupported format,
 *   a JSON body that is not an object, and over-limit requests; 403 "Invalid API key" for a key that is not in the
 *   key database; with a required key, a request without one gets 400 "Please contact the server operator to get
 *   an API key" (LibreTranslate uses 400 there, not 403); 429 "Slowdown: …"; 500 "Cannot translate text: …".
 * - `GET /languages` → `[{code, name, targets}]`; `POST /detect` → `[{confidence, language}]`.
 *
 * Translation is scripted: a dictionary per `source:target` pair, else `translate()`, else `[<target>] <q>`;
 * translating a language into itself returns the text unchanged.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface LibreLanguage {
  code: string;
  name: string;
  targets: string[];
}

export interface LibreTranslateDoubleOptions {
  host?: string;
  port?: number;
  /** Languages the server has models for; default en, es, fr, de, it, pt, ja, zh, ko, ru, ar, hi. */
  languages?: Array<{ code: string; name: string; targets?: string[] }>;
  /** Keys in the key database. When set, a request with any other key gets 403. */
  apiKeys?: string[];
  /** Require a key (LibreTranslate's --require-api-key-origin/secret): a request without one gets 400. Default: true when apiKeys is set. */
  requireApiKey?: boolean;
  /** Scripted translations: `{"en:es": {"hello": "hola"}}`. */
  dictionary?: Record<string, Record<string, string>>;
  /** Fallback translation; default `[<target>] <q>`. */
  translate?: (q: string, source: string, target: string) => string;
  /** Language detection for `source: "auto"`; default: the first dictionary pair whose table has the text, else 'en'. */
  detect?: (q: string) => { language: string; confidence: number };
  /** Character limit (--char-limit); -1 = none (default). */
  charLimit?: number;
  /** Batch limit (--batch-limit); -1 = none (default). */
  batchLimit?: number;
  /** Delay before every answer. Default 0. */
  latencyMs?: number;
}

export interface LibreRequestRecord {
  method: string;
  path: string;
  body: unknown;
  status: number;
  response: unknown;
  at: number;
}

export interface LibreTranslateDoubleStats {
  requests: number;
  translateRequests: number;
  /** Texts translated (array items count one each). */
  textsTranslated: number;
  charactersTranslated: number;
  languagesRequests: number;
  detectRequests: number;
  errors: Record<number, number>;
  injectedFailures: number;
  drops: number;
}

const DEFAULT_LANGUAGES: Array<[string, string]> = [
  ['en', 'English'],
  ['es', 'Spanish'],
  ['fr', 'French'],
  ['de', 'German'],
  ['it', 'Italian'],
  ['pt', 'Portuguese'],
  ['ja', 'Japanese'],
  ['zh', 'Chinese'],
  ['ko', 'Korean'],
  ['ru', 'Russian'],
  ['ar', 'Arabic'],
  ['hi', 'Hindi'],
];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class LibreTranslateDouble extends EventEmitter {
  readonly options: LibreTranslateDoubleOptions;
  readonly languages: LibreLanguage[];
  readonly requests: LibreRequestRecord[] = [];
  url = '';
  /** Delay before every answer (also settable at run time). */
  latencyMs: number;

  private server: Server | null = null;
  private sockets = new Set<Socket>();
  private failures: Array<{ status: number; message: string }> = [];
  private dropsPending = 0;
  private counters: LibreTranslateDoubleStats = LibreTranslateDouble.zeroCounters();

  constructor(options: LibreTranslateDoubleOptions = {}) {
    super();
    this.options = { ...options };
    this.latencyMs = options.latencyMs ?? 0;
    const langs: Array<{ code: string; name: string; targets?: string[] }> =
      options.languages ?? DEFAULT_LANGUAGES.map(([code, name]) => ({ code, name }));
    const codes = langs.map((l) => l.code);
    this.languages = langs.map((l) => ({ code: l.code, name: l.name, targets: l.targets ?? [...codes] }));
  }

  private static zeroCounters(): LibreTranslateDoubleStats {
    return {
      requests: 0,
      translateRequests: 0,
      textsTranslated: 0,
      charactersTranslated: 0,
      languagesRequests: 0,
      detectRequests: 0,
      errors: {},
      injectedFailures: 0,
      drops: 0,
    };
  }

  async start(): Promise<{ url: string; port: number }> {
    if (this.server) throw new Error('LibreTranslateDouble already started');
    const server = createServer((req, res) => this.onRequest(req, res));
    server.on('connection', (sock: Socket) => {
      this.sockets.add(sock);
      sock.on('close', () => this.sockets.delete(sock));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('LibreTranslateDouble: no TCP address');
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.url = `http://${host}:${addr.port}`;
    return { url: this.url, port: addr.port };
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ---- fault injection and inspection ----------------------------------------------------------------------

  /** The next n requests (any endpoint) fail with `status` (default 500) and `{error}`. */
  failNext(n = 1, status = 500, message?: string): this {
    const text =
      message ??
      (status === 429
        ? 'Slowdown: 1 per 1 minute'
        : status === 403
          ? 'Too many request limits violations'
          : 'Cannot translate text: injected failure');
    for (let i = 0; i < n; i++) this.failures.push({ status, message: text });
    return this;
  }

  /** The next n requests get their connection reset without an answer. */
  dropNext(n = 1): this {
    this.dropsPending += n;
    return this;
  }

  setLatency(ms: number): this {
    this.latencyMs = ms;
    return this;
  }

  clearFaults(): this {
    this.failures = [];
    this.dropsPending = 0;
    this.latencyMs = this.options.latencyMs ?? 0;
    return this;
  }

  resetStats(): this {
    this.counters = LibreTranslateDouble.zeroCounters();
    this.requests.length = 0;
    return this;
  }

  stats(): LibreTranslateDoubleStats {
    return { ...this.counters, errors: { ...this.counters.errors } };
  }

  get lastRequest(): LibreRequestRecord | undefined {
    return this.requests[this.requests.length - 1];
  }

  /** Bodies of the /translate requests received so far. */
  get translateBodies(): unknown[] {
    return this.requests.filter((r) => r.path === '/translate').map((r) => r.body);
  }

  // ---- HTTP ------------------------------------------------------------------------------------------------

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.counters.requests++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      if (this.dropsPending > 0) {
        this.dropsPending--;
        this.counters.drops++;
        req.socket.destroy();
        return;
      }
      const path = (req.url ?? '/').split('?')[0]!;
      let status = 200;
      let payload: unknown;
      let body: unknown = raw;
      try {
        const injected = this.failures.shift();
        if (path === '/translate' || path === '/detect') body = this.parseBody(req, raw);
        if (injected) {
          this.counters.injectedFailures++;
          throw new HttpError(injected.status, injected.message);
        }
        payload = this.route(req.method ?? 'GET', path, body, req);
      } catch (err) {
        status = err instanceof HttpError ? err.status : 500;
        payload = {
          error: err instanceof HttpError ? err.message : `Cannot translate text: ${(err as Error).message}`,
        };
        this.counters.errors[status] = (this.counters.errors[status] ?? 0) + 1;
      }
      const record: LibreRequestRecord = {
        method: req.method ?? 'GET',
        path,
        body,
        status,
        response: payload,
        at: Date.now(),
      };
      this.requests.push(record);
      this.emit('request', record);
      const send = () => {
        if (res.destroyed) return;
        const text = JSON.stringify(payload);
        res.writeHead(status, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
          'access-control-allow-origin': '*',
        });
        res.end(text);
      };
      if (this.latencyMs > 0) setTimeout(send, this.latencyMs);
      else send();
    });
  }

  /** JSON body (object required) or form fields, like Flask's request.get_json()/request.values. */
  private parseBody(req: IncomingMessage, raw: string): Record<string, unknown> {
    const type = (req.headers['content-type'] ?? '').toLowerCase();
    if (type.includes('application/json')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch (err) {
        throw new HttpError(400, `Failed to decode JSON object: ${(err as Error).message}`);
      }
      if (!isObject(parsed)) throw new HttpError(400, 'Invalid JSON format');
      return parsed;
    }
    const form = new URLSearchParams(type.includes('application/x-www-form-urlencoded') ? raw : '');
    const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    const out: Record<string, unknown> = {};
    for (const p of [query, form]) for (const [k, v] of p) out[k] = v;
    return out;
  }

  private route(method: string, path: string, body: unknown, req: IncomingMessage): unknown {
    if (path === '/languages') {
      if (method !== 'GET') throw new HttpError(405, 'Method Not Allowed');
      this.counters.languagesRequests++;
      return this.languages;
    }
    if (path === '/translate' || path === '/detect') {
      if (method !== 'POST') throw new HttpError(405, 'Method Not Allowed');
      const b = body as Record<string, unknown>;
      this.accessCheck(b, req);
      return path === '/translate' ? this.translateRoute(b) : this.detectRoute(b);
    }
    throw new HttpError(404, 'Not Found');
  }

  private accessCheck(b: Record<string, unknown>, _req: IncomingMessage): void {
    const keys = this.options.apiKeys;
    if (!keys) return;
    const key = typeof b.api_key === 'string' && b.api_key !== '' ? b.api_key : null;
    if (key !== null && !keys.includes(key)) throw new HttpError(403, 'Invalid API key');
    if (key === null && (this.options.requireApiKey ?? true))
      throw new HttpError(400, 'Please contact the server operator to get an API key');
  }

  private language(code: unknown): LibreLanguage | undefined {
    return this.languages.find((l) => l.code === code);
  }

  private detectOne(q: string): { confidence: number; language: string } {
    if (this.options.detect) {
      const d = this.options.detect(q);
      return { confidence: d.confidence, language: d.language };
    }
    for (const [pair, table] of Object.entries(this.options.dictionary ?? {})) {
      if (Object.prototype.hasOwnProperty.call(table, q)) return { confidence: 90, language: pair.split(':')[0]! };
    }
    return { confidence: 90, language: 'en' };
  }

  private translateOne(q: string, source: string, target: string): string {
    if (source === target) return q;
    const table = this.options.dictionary?.[`${source}:${target}`];
    if (table && Object.prototype.hasOwnProperty.call(table, q)) return table[q]!;
    if (this.options.translate) return this.options.translate(q, source, target);
    return `[${target}] ${q}`;
  }

  private translateRoute(b: Record<string, unknown>): unknown {
    this.counters.translateRequests++;
    const { q, source, target } = b;
    const missing = (name: string) => new HttpError(400, `Invalid request: missing ${name} parameter`);
    if (!q || (Array.isArray(q) && q.length === 0)) throw missing('q');
    if (!source) throw missing('source');
    if (!target) throw missing('target');
    const batch = Array.isArray(q);
    const texts = batch ? (q as unknown[]) : [q];
    if (!texts.every((t): t is string => typeof t === 'string'))
      throw new HttpError(500, 'Cannot translate text: q must be a string or an array of strings');
    const batchLimit = this.options.batchLimit ?? -1;
    if (batch && batchLimit !== -1 && texts.length > batchLimit) {
      throw new HttpError(400, `Invalid request: request (${texts.length}) exceeds text limit (${batchLimit})`);
    }
    const chars = texts.reduce((a, t) => a + t.length, 0);
    const charLimit = this.options.charLimit ?? -1;
    if (charLimit !== -1 && chars > charLimit)
      throw new HttpError(400, `Invalid request: request (${chars}) exceeds text limit (${charLimit})`);
    const detected =
      source === 'auto'
        ? texts.map((t) => this.detectOne(t))
        : texts.map(() => ({ confidence: 100, language: String(source) }));
    for (const d of detected)
      if (!this.language(d.language))
        throw new HttpError(400, `${source === 'auto' ? JSON.stringify(d) : d.language} is not supported`);
    const tgt = this.language(target);
    if (!tgt) throw new HttpError(400, `${String(target)} is not supported`);
    const format = b.format === undefined || b.format === '' ? 'text' : b.format;
    if (format !== 'text' && format !== 'html') throw new HttpError(400, `${String(format)} format is not supported`);
    const results = texts.map((t, i) => {
      const src = this.language(detected[i]!.language)!;
      if (!src.targets.includes(tgt.code)) {
        throw new HttpError(
          400,
          `${tgt.name} (${tgt.code}) is not available as a target language from ${src.name} (${src.code})`,
        );
      }
      return this.translateOne(t, src.code, tgt.code);
    });
    this.counters.textsTranslated += texts.length;
    this.counters.charactersTranslated += chars;
    const out: Record<string, unknown> = { translatedText: batch ? results : results[0] };
    if (source === 'auto') out.detectedLanguage = batch ? detected : detected[0];
    return out;
  }

  private detectRoute(b: Record<string, unknown>): unknown {
    this.counters.detectRequests++;
    if (!b.q || typeof b.q !== 'string') throw new HttpError(400, 'Invalid request: missing q parameter');
    return [this.detectOne(b.q)];
  }
}

export function createLibreTranslateDouble(options: LibreTranslateDoubleOptions = {}): LibreTranslateDouble {
  return new LibreTranslateDouble(options);
}
