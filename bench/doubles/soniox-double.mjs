// GENERATED from test/doubles/soniox-double.ts by test/doubles/bench-copy.ts: do not edit.
// Regenerate with: UPDATE_BENCH_COPY=1 npx vitest run test/doubles/soniox-double-copy.spec.ts
// Run: node bench/doubles/soniox-double.mjs [--port N] [--host H] [--options '<json>']
//   prints one JSON line {"ready":true,"url":…,"controlUrl":…,"port":…,"pid":…}; SIGTERM stops it.
/**
 * Soniox real-time speech-to-text double: a real WebSocket server on loopback that speaks and enforces the
 * protocol of `wss://stt-rt.soniox.com/transcribe-websocket`, with scripted
 * recognition results and fault injection.
 *
 * Protocol as implemented (and where it comes from):
 * - Auth: the key travels with the connection: `Authorization: Bearer <key>` on the upgrade, or (browsers) the
 *   protocols list `soniox-api-key, <key>`. The `api_key` field of the start message is deprecated and, from
 *   2027-01-15, a connection that sends its key only there is refused: `acceptKeyInStartMessage` (default false)
 *   models the time before that date. Soniox's error-handling page says every real-time error is a JSON error
 *   response followed by the close, so a missing/bad key gets `{error_code: 401, …}` then a close (default
 *   `authFailure: 'error-response'`); `authFailure: 'http-401'` refuses the upgrade with HTTP 401 instead.
 * - First text message: the start request (config JSON), validated; an invalid one gets `{error_code: 400, …}`.
 * - Then binary audio; text control messages `{"type":"finalize"}` (pending tokens become final, then a final
 *   `<fin>` marker) and `{"type":"keepalive"}`; an empty frame ends the stream (last results with
 *   `finished: true`, then the close). No audio and no keepalive for `idleTimeoutMs` → error 408 and close.
 * - Each response: `{tokens, final_audio_proc_ms, total_audio_proc_ms, finished?}`; final tokens come first, are
 *   sent once and never again; non-final tokens are repeated (and grow) in later responses until they turn final.
 *   Token texts concatenate directly: every word after the first starts with a space (" world"), as Soniox's
 *   sub-word tokens do. With endpoint detection, an utterance end is marked by a final `<end>` token.
 *
 * Recognition is scripted: every `bytesPerWord` bytes of audio (one "slot") the next script word is recognised
 * as a non-final token if the slot held any non-zero sample; an all-zero slot recognises nothing. An utterance
 * ends after `wordsPerUtterance` words or after `silenceBytes` of consecutive all-zero PCM (the endpoint): its
 * words are re-sent as final.
 *
 * This file is self-contained on purpose (only `ws` and node built-ins): `bench/doubles/soniox-double.mjs` is
 * generated from it by type stripping (see soniox-double-copy.spec.ts), so the benchmark can run the same double
 * in another process: `node bench/doubles/soniox-double.mjs [--port N] [--host H] [--options '<json>']`.
 */
import { EventEmitter } from 'node:events';
import { realpathSync } from 'node:fs';
import { createServer, STATUS_CODES } from 'node:http';
import { fileURLToPath, pathToFileURL } from 'node:url';
import WebSocket, { WebSocketServer } from 'ws';
const DEFAULT_WORDS = 'hello world this is a test';
const RAW_FORMATS = new Set([
    'pcm_s16le',
    'pcm_s16be',
    'pcm_f32le',
    'pcm_f32be',
    'pcm_s32le',
    'pcm_s32be',
    'pcm_u8',
    'mulaw',
    'alaw',
]);
const KNOWN_FIELDS = new Set([
    'api_key',
    'model',
    'audio_format',
    'sample_rate',
    'num_channels',
    'language_hints',
    'language_hints_strict',
    'context',
    'enable_speaker_diarization',
    'enable_language_identification',
    'enable_endpoint_detection',
    'max_endpoint_delay_ms',
    'client_reference_id',
    'translation',
]);
const BOOLEAN_FIELDS = [
    'language_hints_strict',
    'enable_speaker_diarization',
    'enable_language_identification',
    'enable_endpoint_detection',
];
const ERROR_TYPES = {
    400: 'invalid_request',
    401: 'unauthenticated',
    402: 'payment_required',
    403: 'forbidden',
    408: 'request_timeout',
    429: 'rate_limited',
    500: 'internal_error',
    503: 'service_unavailable',
};
const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPositiveInt = (v) => typeof v === 'number' && Number.isInteger(v) && v > 0;
/** Returns an error message for an invalid start request, or null. */
export function validateSonioxConfig(cfg, options = {}) {
    if (!isObject(cfg))
        return 'Start request must be a JSON object.';
    if (cfg.api_key !== undefined && typeof cfg.api_key !== 'string')
        return 'Invalid api_key: must be a string.';
    const models = options.models ?? 'any';
    if (typeof cfg.model !== 'string' || cfg.model === '')
        return 'Missing required field: model';
    if (models !== 'any' && !models.includes(cfg.model))
        return 'Invalid model specified.';
    if (cfg.audio_format === undefined)
        return 'Missing required field: audio_format';
    const formats = options.audioFormats ?? ['pcm_s16le', 'auto'];
    if (typeof cfg.audio_format !== 'string' || !formats.includes(cfg.audio_format))
        return `Invalid audio_format: ${JSON.stringify(cfg.audio_format)}.`;
    if (RAW_FORMATS.has(cfg.audio_format)) {
        if (cfg.sample_rate === undefined)
            return 'Missing required field: sample_rate (required for raw audio formats)';
        if (!isPositiveInt(cfg.sample_rate))
            return 'Invalid sample_rate: must be a positive integer.';
        const rate = options.sampleRate === undefined ? 16000 : options.sampleRate;
        if (rate !== null && cfg.sample_rate !== rate)
            return `Invalid sample_rate: ${cfg.sample_rate} (this server expects ${rate}).`;
        if (cfg.num_channels === undefined)
            return 'Missing required field: num_channels (required for raw audio formats)';
        if (!isPositiveInt(cfg.num_channels))
            return 'Invalid num_channels: must be a positive integer.';
        const channels = options.numChannels === undefined ? 1 : options.numChannels;
        if (channels !== null && cfg.num_channels !== channels)
            return `Invalid num_channels: ${cfg.num_channels} (this server expects ${channels}).`;
    }
    else {
        if (cfg.sample_rate !== undefined && !isPositiveInt(cfg.sample_rate))
            return 'Invalid sample_rate: must be a positive integer.';
        if (cfg.num_channels !== undefined && !isPositiveInt(cfg.num_channels))
            return 'Invalid num_channels: must be a positive integer.';
    }
    if (cfg.language_hints !== undefined) {
        if (!Array.isArray(cfg.language_hints) || !cfg.language_hints.every((h) => typeof h === 'string' && h !== '')) {
            return 'Invalid language_hints: must be an array of language codes.';
        }
    }
    for (const f of BOOLEAN_FIELDS)
        if (cfg[f] !== undefined && typeof cfg[f] !== 'boolean')
            return `Invalid ${f}: must be a boolean.`;
    if (cfg.context !== undefined && typeof cfg.context !== 'string' && !isObject(cfg.context))
        return 'Invalid context: must be an object (or a string).';
    if (cfg.client_reference_id !== undefined &&
        (typeof cfg.client_reference_id !== 'string' || cfg.client_reference_id.length > 256)) {
        return 'Invalid client_reference_id: must be a string of at most 256 characters.';
    }
    if (cfg.max_endpoint_delay_ms !== undefined) {
        const d = cfg.max_endpoint_delay_ms;
        if (typeof d !== 'number' || d < 500 || d > 3000)
            return 'Invalid max_endpoint_delay_ms: must be between 500 and 3000.';
    }
    if (cfg.translation !== undefined) {
        const t = cfg.translation;
        if (!isObject(t))
            return 'Invalid translation: must be an object.';
        if (t.type === 'one_way') {
            if (typeof t.target_language !== 'string' || t.target_language === '')
                return 'Invalid translation: one_way requires target_language.';
        }
        else if (t.type === 'two_way') {
            if (typeof t.language_a !== 'string' ||
                t.language_a === '' ||
                typeof t.language_b !== 'string' ||
                t.language_b === '') {
                return 'Invalid translation: two_way requires language_a and language_b.';
            }
        }
        else {
            return 'Invalid translation type: must be one_way or two_way.';
        }
    }
    if (options.rejectUnknownFields) {
        const unknown = Object.keys(cfg).filter((k) => !KNOWN_FIELDS.has(k));
        if (unknown.length > 0)
            return `Unknown field: ${unknown[0]}`;
    }
    return null;
}
function isAllZero(b) {
    for (let i = 0; i < b.length; i++)
        if (b[i] !== 0)
            return false;
    return true;
}
function trailingZeros(b) {
    let n = 0;
    for (let i = b.length - 1; i >= 0 && b[i] === 0; i--)
        n++;
    return n;
}
export class SonioxDouble extends EventEmitter {
    options;
    streams = [];
    lastConfig = null;
    url = '';
    controlUrl = '';
    server = null;
    wss = null;
    live = new Set();
    faults = [];
    outage = null;
    nextId = 1;
    counters = SonioxDouble.zeroCounters();
    script;
    constructor(options = {}) {
        super();
        this.options = { ...options };
        const words = options.words ?? DEFAULT_WORDS;
        this.script = (Array.isArray(words) ? words : words.split(/\s+/)).filter((w) => w !== '');
        if (this.script.length === 0)
            throw new Error('SonioxDouble: the script needs at least one word');
    }
    static zeroCounters() {
        return {
            connections: 0,
            upgradesRejected: 0,
            authFailures: 0,
            configsReceived: 0,
            configsRejected: 0,
            bytesReceived: 0,
            finalizeCount: 0,
            keepaliveCount: 0,
            errorsSent: 0,
            idleTimeouts: 0,
            drops: 0,
            stalls: 0,
        };
    }
    get bytesPerWord() {
        return this.options.bytesPerWord ?? 16000;
    }
    async start() {
        if (this.server)
            throw new Error('SonioxDouble already started');
        const server = createServer((req, res) => this.onHttp(req, res));
        this.wss = new WebSocketServer({
            noServer: true,
            perMessageDeflate: false,
            handleProtocols: (protocols) => (protocols.has('soniox-api-key') ? 'soniox-api-key' : false),
        });
        server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
        this.server = server;
        await new Promise((resolve, reject) => {
            server.once('error', reject);
            server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => {
                server.off('error', reject);
                resolve();
            });
        });
        const addr = server.address();
        if (addr === null || typeof addr === 'string')
            throw new Error('SonioxDouble: no TCP address');
        const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
        this.url = `ws://${host}:${addr.port}${this.options.path ?? '/transcribe-websocket'}`;
        this.controlUrl = `http://${host}:${addr.port}/__double`;
        return { url: this.url, controlUrl: this.controlUrl, port: addr.port };
    }
    async close() {
        for (const s of this.live) {
            this.clearIdle(s);
            s.ws.terminate();
        }
        this.live.clear();
        const server = this.server;
        this.server = null;
        this.wss?.close();
        this.wss = null;
        if (!server)
            return;
        server.closeAllConnections();
        await new Promise((resolve) => server.close(() => resolve()));
    }
    // ---- fault injection -------------------------------------------------------------------------------------
    /** The next n streams get an error response (default 503 "Cannot continue request") and are closed. */
    failNext(n = 1, error = {}, opts = {}) {
        const code = error.code ?? 503;
        const message = error.message ?? 'Cannot continue request (code 1). Please restart the request.';
        for (let i = 0; i < n; i++)
            this.faults.push({ kind: 'fail', afterBytes: opts.afterBytes ?? 0, code, message });
        return this;
    }
    /** The next n streams are terminated abruptly (no close frame) after some audio (default one word's worth). */
    dropNext(n = 1, opts = {}) {
        for (let i = 0; i < n; i++)
            this.faults.push({ kind: 'drop', afterBytes: opts.afterBytes ?? this.bytesPerWord, code: 0, message: '' });
        return this;
    }
    /** The next n streams accept everything but never answer again (a silent stall), after `afterBytes` of audio. */
    stallNext(n = 1, opts = {}) {
        for (let i = 0; i < n; i++)
            this.faults.push({ kind: 'stall', afterBytes: opts.afterBytes ?? 0, code: 0, message: '' });
        return this;
    }
    /**
     * A provider outage: every new connection is refused. 'http' (default) answers the upgrade with HTTP 503,
     * 'error' accepts it and sends a 503 error response then closes, 'refuse' resets the TCP connection.
     */
    rejectAll(on = true, mode = 'http') {
        this.outage = on ? mode : null;
        return this;
    }
    clearFaults() {
        this.faults = [];
        this.outage = null;
        return this;
    }
    resetStats() {
        this.counters = SonioxDouble.zeroCounters();
        this.streams.length = 0;
        this.lastConfig = null;
        return this;
    }
    // ---- inspection ------------------------------------------------------------------------------------------
    stats() {
        return { ...this.counters, openStreams: this.live.size };
    }
    get openStreams() {
        return this.live.size;
    }
    get pendingFaults() {
        return this.faults.length;
    }
    /** Resolves once `predicate` holds (polled every 5 ms), or rejects after `timeoutMs`. */
    async waitFor(predicate, timeoutMs = 5000, what = 'condition') {
        const deadline = Date.now() + timeoutMs;
        while (!predicate(this)) {
            if (Date.now() > deadline)
                throw new Error(`SonioxDouble: timed out waiting for ${what}; stats ${JSON.stringify(this.stats())}`);
            await new Promise((r) => setTimeout(r, 5));
        }
    }
    // ---- HTTP and upgrade ------------------------------------------------------------------------------------
    onHttp(req, res) {
        const path = (req.url ?? '/').split('?')[0];
        if (this.options.controlEndpoint !== false && path === '/__double/stats' && req.method === 'GET') {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({
                stats: this.stats(),
                streams: this.streams,
                lastConfig: this.lastConfig,
                pendingFaults: this.faults.length,
                outage: this.outage,
            }));
            return;
        }
        if (this.options.controlEndpoint !== false && path === '/__double/control' && req.method === 'POST') {
            let body = '';
            req.setEncoding('utf8');
            req.on('data', (c) => (body += c));
            req.on('end', () => {
                try {
                    this.control(JSON.parse(body || '{}'));
                    res.writeHead(200, { 'content-type': 'application/json' });
                    res.end(JSON.stringify({ ok: true, stats: this.stats() }));
                }
                catch (err) {
                    res.writeHead(400, { 'content-type': 'application/json' });
                    res.end(JSON.stringify({ ok: false, error: err.message }));
                }
            });
            return;
        }
        // The real endpoint only speaks WebSocket.
        const status = path === (this.options.path ?? '/transcribe-websocket') ? 426 : 404;
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(STATUS_CODES[status]);
    }
    /** Applies a control command (the JSON body of `POST /__double/control`). */
    control(cmd) {
        const n = typeof cmd.n === 'number' ? cmd.n : 1;
        const afterBytes = typeof cmd.afterBytes === 'number' ? cmd.afterBytes : undefined;
        switch (cmd.op) {
            case 'failNext':
                this.failNext(n, {
                    code: typeof cmd.code === 'number' ? cmd.code : undefined,
                    message: typeof cmd.message === 'string' ? cmd.message : undefined,
                }, { afterBytes });
                return;
            case 'dropNext':
                this.dropNext(n, { afterBytes });
                return;
            case 'stallNext':
                this.stallNext(n, { afterBytes });
                return;
            case 'rejectAll':
                this.rejectAll(cmd.on !== false, cmd.mode ?? 'http');
                return;
            case 'clearFaults':
                this.clearFaults();
                return;
            case 'resetStats':
                this.resetStats();
                return;
            default:
                throw new Error(`unknown op ${JSON.stringify(cmd.op)}`);
        }
    }
    rejectUpgrade(socket, status, body) {
        this.counters.upgradesRejected++;
        const text = typeof body === 'string' ? body : JSON.stringify(body);
        const type = typeof body === 'string' ? 'text/plain' : 'application/json';
        socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
        socket.on('error', () => undefined);
    }
    keyFrom(req) {
        const auth = req.headers.authorization;
        if (typeof auth === 'string') {
            const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
            return { key: m ? m[1].trim() : '', via: 'header' };
        }
        const protocols = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
        const i = protocols.indexOf('soniox-api-key');
        if (i >= 0 && protocols[i + 1])
            return { key: protocols[i + 1], via: 'protocol' };
        return { key: null, via: null };
    }
    keyValid(key) {
        if (key === null || key === '')
            return false;
        const keys = this.options.apiKeys ?? 'any';
        return keys === 'any' || keys.includes(key);
    }
    onUpgrade(req, socket, head) {
        this.counters.connections++;
        const path = (req.url ?? '/').split('?')[0];
        if (path !== (this.options.path ?? '/transcribe-websocket'))
            return this.rejectUpgrade(socket, 404, 'Not Found');
        if (this.outage === 'refuse') {
            this.counters.upgradesRejected++;
            socket.destroy();
            return;
        }
        if (this.outage === 'http')
            return this.rejectUpgrade(socket, 503, { error_code: 503, error_message: 'Service unavailable.' });
        const { key, via } = this.keyFrom(req);
        const keyOk = this.keyValid(key);
        const deferred = key === null && this.options.acceptKeyInStartMessage === true;
        if (!keyOk && !deferred && this.options.authFailure === 'http-401') {
            this.counters.authFailures++;
            return this.rejectUpgrade(socket, 401, {
                error_code: 401,
                error_type: 'unauthenticated',
                error_message: 'Invalid API key.',
            });
        }
        const wss = this.wss;
        if (!wss)
            return void socket.destroy();
        wss.handleUpgrade(req, socket, head, (ws) => {
            const s = this.openStream(ws, req, keyOk ? key : null, keyOk ? via : null);
            if (this.outage === 'error')
                return this.sendError(s, 503, 'Service unavailable.');
            if (!keyOk && !deferred) {
                this.counters.authFailures++;
                const msg = key === null
                    ? 'Missing API key: send it with the connection (Authorization: Bearer <key>).'
                    : 'Invalid API key.';
                this.sendError(s, 401, msg);
            }
        });
    }
    openStream(ws, req, key, via) {
        const info = {
            id: this.nextId++,
            remotePort: req.socket.remotePort,
            apiKey: key,
            authVia: via,
            config: null,
            unknownFields: [],
            state: 'awaiting-config',
            fault: 'none',
            bytesReceived: 0,
            audioFrames: 0,
            finalizeCount: 0,
            minFinalizeGapMs: null,
            lastFinalizeAt: null,
            keepaliveCount: 0,
            maxAudioAheadMs: 0,
            firstAudioAt: null,
            responsesSent: 0,
            finalText: '',
            errorCode: null,
            errorMessage: null,
            closeCode: null,
            openedAt: Date.now(),
            closedAt: null,
        };
        this.streams.push(info);
        const s = {
            info,
            ws,
            configured: false,
            ended: false,
            fault: null,
            stalled: false,
            bytesPerMs: 32,
            slotFill: 0,
            slotVoiced: false,
            silentRun: 0,
            wordIndex: 0,
            utteranceIndex: 0,
            wordsEmitted: 0,
            translationsEmitted: 0,
            pending: [],
            finalMs: 0,
            processed: 0,
            idleTimer: null,
            language: this.options.language ?? 'en',
            translationTarget: null,
            translationStatus: null,
        };
        this.live.add(s);
        ws.on('message', (data, isBinary) => this.onMessage(s, data, isBinary));
        ws.on('close', (code) => {
            this.clearIdle(s);
            this.live.delete(s);
            if (info.closeCode === null)
                info.closeCode = code;
            if (info.closedAt === null)
                info.closedAt = Date.now();
            if (info.state === 'awaiting-config' || info.state === 'streaming')
                info.state = 'closed';
            this.emit('closed', info);
        });
        ws.on('error', () => undefined);
        this.armIdle(s);
        this.emit('connection', info);
        return s;
    }
    // ---- protocol ----------------------------------------------------------------------------------------------
    toBuffer(data) {
        if (Buffer.isBuffer(data))
            return data;
        if (Array.isArray(data))
            return Buffer.concat(data);
        return Buffer.from(data);
    }
    onMessage(s, data, isBinary) {
        if (s.ended)
            return;
        const buf = this.toBuffer(data);
        if (!s.configured) {
            if (isBinary)
                return this.sendError(s, 400, 'The first message must be the start request (JSON text), not audio.');
            return this.onConfig(s, buf.toString('utf8'));
        }
        if (isBinary) {
            if (buf.length === 0)
                return this.onEnd(s);
            return this.onAudio(s, buf);
        }
        const text = buf.toString('utf8');
        if (text === '')
            return this.onEnd(s);
        let msg;
        try {
            msg = JSON.parse(text);
        }
        catch {
            return this.sendError(s, 400, 'Invalid control message: not JSON.');
        }
        if (!isObject(msg))
            return this.sendError(s, 400, 'Invalid control message.');
        if (msg.type === 'keepalive') {
            s.info.keepaliveCount++;
            this.counters.keepaliveCount++;
            this.armIdle(s);
            return;
        }
        if (msg.type === 'finalize') {
            if (msg.trailing_silence_ms !== undefined &&
                (typeof msg.trailing_silence_ms !== 'number' || msg.trailing_silence_ms < 0)) {
                return this.sendError(s, 400, 'Invalid trailing_silence_ms.');
            }
            const now = Date.now();
            if (s.info.lastFinalizeAt !== null) {
                const gap = now - s.info.lastFinalizeAt;
                s.info.minFinalizeGapMs = s.info.minFinalizeGapMs === null ? gap : Math.min(s.info.minFinalizeGapMs, gap);
            }
            s.info.lastFinalizeAt = now;
            s.info.finalizeCount++;
            this.counters.finalizeCount++;
            if (s.stalled)
                return;
            this.finalizePending(s, '<fin>', s.info.bytesReceived);
            return;
        }
        this.sendError(s, 400, `Invalid control message type: ${JSON.stringify(msg.type)}.`);
    }
    onConfig(s, text) {
        let cfg;
        try {
            cfg = JSON.parse(text);
        }
        catch {
            this.counters.configsRejected++;
            return this.sendError(s, 400, 'Start request is not valid JSON.');
        }
        this.counters.configsReceived++;
        if (isObject(cfg)) {
            s.info.config = cfg;
            this.lastConfig = cfg;
            s.info.unknownFields = Object.keys(cfg).filter((k) => !KNOWN_FIELDS.has(k));
        }
        this.emit('config', cfg, s.info);
        if (s.info.apiKey === null) {
            // No key came with the connection; only the deprecated start-message key is left (if allowed at all).
            const key = isObject(cfg) && typeof cfg.api_key === 'string' ? cfg.api_key : null;
            if (!this.options.acceptKeyInStartMessage || !this.keyValid(key)) {
                this.counters.authFailures++;
                this.counters.configsRejected++;
                return this.sendError(s, 401, key === null ? 'Missing API key.' : 'Invalid API key.');
            }
            s.info.apiKey = key;
            s.info.authVia = 'start-message';
        }
        const problem = validateSonioxConfig(cfg, this.options);
        if (problem !== null || !isObject(cfg)) {
            this.counters.configsRejected++;
            return this.sendError(s, 400, problem ?? 'Invalid start request.');
        }
        s.configured = true;
        s.info.state = 'streaming';
        const rate = isPositiveInt(cfg.sample_rate) ? cfg.sample_rate : 16000;
        const channels = isPositiveInt(cfg.num_channels) ? cfg.num_channels : 1;
        s.bytesPerMs = (rate * channels * 2) / 1000;
        const tr = cfg.translation;
        if (isObject(tr)) {
            if (tr.type === 'one_way') {
                s.translationTarget = tr.target_language;
                s.translationStatus = 'original';
            }
            else if (tr.language_a === s.language || tr.language_b === s.language) {
                s.translationTarget = (tr.language_a === s.language ? tr.language_b : tr.language_a);
                s.translationStatus = 'original';
            }
            else {
                s.translationStatus = 'none';
            }
        }
        const fault = this.faults.shift() ?? null;
        s.fault = fault;
        if (fault)
            s.info.fault = fault.kind;
        this.checkFault(s);
    }
    /** Applies the stream's fault once its audio threshold is reached; returns true if the stream is gone. */
    checkFault(s) {
        const f = s.fault;
        if (!f || s.info.bytesReceived < f.afterBytes)
            return false;
        if (f.kind === 'stall' && f.afterBytes > 0 && s.info.bytesReceived === f.afterBytes)
            return false;
        if (f.kind === 'stall') {
            if (!s.stalled) {
                s.stalled = true;
                this.counters.stalls++;
                this.clearIdle(s);
            }
            return false;
        }
        s.fault = null;
        if (f.kind === 'fail') {
            this.sendError(s, f.code, f.message);
            return true;
        }
        this.counters.drops++;
        s.ended = true;
        s.info.state = 'dropped';
        s.info.closedAt = Date.now();
        this.clearIdle(s);
        s.ws.terminate();
        return true;
    }
    onAudio(s, buf) {
        s.info.bytesReceived += buf.length;
        s.info.audioFrames++;
        this.counters.bytesReceived += buf.length;
        const now = Date.now();
        if (s.info.firstAudioAt === null)
            s.info.firstAudioAt = now;
        s.info.maxAudioAheadMs = Math.max(s.info.maxAudioAheadMs, Math.round(s.info.bytesReceived / s.bytesPerMs) - (now - s.info.firstAudioAt));
        this.emit('audio', buf.length, s.info);
        if (!s.stalled)
            this.armIdle(s);
        const bpw = this.bytesPerWord;
        const silence = this.options.silenceBytes ?? 32000;
        let off = 0;
        let pos = s.info.bytesReceived - buf.length;
        while (off < buf.length) {
            const n = Math.min(bpw - s.slotFill, buf.length - off);
            const seg = buf.subarray(off, off + n);
            if (isAllZero(seg))
                s.silentRun += n;
            else {
                s.slotVoiced = true;
                s.silentRun = trailingZeros(seg);
            }
            s.slotFill += n;
            off += n;
            pos += n;
            if (!s.stalled)
                s.processed = pos;
            // A stall strikes once the stream has had `afterBytes` of audio answered.
            if (s.fault?.kind === 'stall' && pos > s.fault.afterBytes)
                this.checkFault(s);
            if (s.slotFill >= bpw) {
                if (s.stalled) {
                    s.slotFill = 0;
                    s.slotVoiced = false;
                }
                else
                    this.closeSlot(s, pos);
            }
            if (!s.stalled && s.silentRun >= silence && s.pending.length > 0)
                this.finalizePending(s, this.endpointMarker(s), pos);
        }
        if (this.checkFault(s))
            return;
    }
    endpointMarker(s) {
        return s.info.config?.enable_endpoint_detection === true ? '<end>' : null;
    }
    closeSlot(s, pos) {
        const voiced = s.slotVoiced;
        s.slotFill = 0;
        s.slotVoiced = false;
        if (voiced) {
            const word = this.script[s.wordIndex++ % this.script.length];
            const speakers = Math.max(1, this.options.speakerCount ?? 1);
            s.pending.push({
                text: (s.wordsEmitted++ === 0 ? '' : ' ') + word,
                startMs: Math.round((pos - this.bytesPerWord) / s.bytesPerMs),
                endMs: Math.round(pos / s.bytesPerMs),
                speaker: String((s.utteranceIndex % speakers) + 1),
            });
            if (s.pending.length >= (this.options.wordsPerUtterance ?? 6)) {
                this.finalizePending(s, this.endpointMarker(s), null);
                return;
            }
        }
        // A progress response: the current non-final hypothesis (possibly empty), as audio is processed.
        this.respond(s, {
            tokens: s.pending.map((w) => this.token(s, w, false)),
            final_audio_proc_ms: s.finalMs,
            total_audio_proc_ms: this.totalMs(s),
        });
    }
    totalMs(s) {
        return Math.round(s.processed / s.bytesPerMs);
    }
    token(s, w, isFinal) {
        const cfg = s.info.config ?? {};
        const t = {
            text: w.text,
            start_ms: w.startMs,
            end_ms: w.endMs,
            confidence: this.options.confidence ?? 0.95,
            is_final: isFinal,
        };
        if (cfg.enable_speaker_diarization === true)
            t.speaker = w.speaker;
        if (cfg.enable_language_identification === true)
            t.language = s.language;
        if (s.translationStatus !== null)
            t.translation_status = s.translationStatus;
        return t;
    }
    /**
     * Turns every pending word final (sent once), followed by translations and an optional marker token.
     * `finalizedUpTo`: audio bytes now covered by final results (null: up to the last word's end).
     */
    finalizePending(s, marker, finalizedUpTo, finished = false) {
        const words = s.pending;
        s.pending = [];
        const tokens = words.map((w) => this.token(s, w, true));
        if (words.length > 0) {
            s.info.finalText += words.map((w) => w.text).join('');
            if (s.translationTarget !== null) {
                const segment = words
                    .map((w) => w.text)
                    .join('')
                    .trim();
                const translate = this.options.translate ?? ((text, target) => `[${target}] ${text}`);
                tokens.push({
                    text: (s.translationsEmitted++ === 0 ? '' : ' ') + translate(segment, s.translationTarget, s.language),
                    is_final: true,
                    translation_status: 'translation',
                    language: s.translationTarget,
                    source_language: s.language,
                });
            }
            s.utteranceIndex++;
        }
        if (marker)
            tokens.push({ text: marker, is_final: true });
        const upTo = finalizedUpTo ?? (words.length > 0 ? words[words.length - 1].endMs * s.bytesPerMs : s.finalMs * s.bytesPerMs);
        s.finalMs = Math.max(s.finalMs, Math.round(upTo / s.bytesPerMs));
        const res = { tokens, final_audio_proc_ms: s.finalMs, total_audio_proc_ms: this.totalMs(s) };
        if (finished)
            res.finished = true;
        this.respond(s, res);
    }
    onEnd(s) {
        if (s.stalled)
            return;
        s.ended = true;
        this.clearIdle(s);
        this.finalizePending(s, null, s.info.bytesReceived, true);
        s.info.state = 'finished';
        this.closeLater(s, 1000, '');
    }
    respond(s, res) {
        s.info.responsesSent++;
        this.emit('response', res, s.info);
        this.sendLater(s, JSON.stringify(res));
    }
    sendLater(s, text) {
        const delay = this.options.responseDelayMs ?? 0;
        const go = () => {
            if (s.ws.readyState === WebSocket.OPEN)
                s.ws.send(text);
        };
        if (delay > 0)
            setTimeout(go, delay);
        else
            go();
    }
    closeLater(s, code, reason) {
        const delay = this.options.responseDelayMs ?? 0;
        const go = () => {
            if (s.info.closeCode === null)
                s.info.closeCode = code;
            if (s.ws.readyState === WebSocket.OPEN)
                s.ws.close(code, reason);
        };
        if (delay > 0)
            setTimeout(go, delay);
        else
            go();
    }
    /** An error response followed by the close (Soniox: "send an error response, then close"). */
    sendError(s, code, message) {
        if (s.info.state === 'errored' || s.info.state === 'dropped' || s.info.state === 'finished')
            return;
        s.ended = true;
        this.clearIdle(s);
        this.counters.errorsSent++;
        s.info.state = 'errored';
        s.info.errorCode = code;
        s.info.errorMessage = message;
        const err = {
            error_code: code,
            error_type: ERROR_TYPES[code] ?? (code >= 500 ? 'internal_error' : 'invalid_request'),
            error_message: message,
            request_id: `double-${s.info.id}`,
        };
        this.emit('error-response', err, s.info);
        this.sendLater(s, JSON.stringify(err));
        this.closeLater(s, 1000, '');
    }
    armIdle(s) {
        this.clearIdle(s);
        const ms = this.options.idleTimeoutMs ?? 20000;
        if (ms <= 0 || s.ended)
            return;
        s.idleTimer = setTimeout(() => {
            s.idleTimer = null;
            if (s.ended || s.stalled)
                return;
            this.counters.idleTimeouts++;
            this.sendError(s, 408, 'Request timeout: no audio or keepalive message received in time.');
        }, ms);
        s.idleTimer.unref?.();
    }
    clearIdle(s) {
        if (s.idleTimer)
            clearTimeout(s.idleTimer);
        s.idleTimer = null;
    }
}
export function createSonioxDouble(options = {}) {
    return new SonioxDouble(options);
}
// ---- standalone: node bench/doubles/soniox-double.mjs [--port N] [--host H] [--options '<json>'] ----------------
async function main(argv) {
    const opts = {};
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const v = argv[i + 1];
        if (v === undefined)
            throw new Error(`soniox-double: ${a} needs a value`);
        if (a === '--port')
            opts.port = Number(v);
        else if (a === '--host')
            opts.host = v;
        else if (a === '--options')
            Object.assign(opts, JSON.parse(v));
        else
            throw new Error(`soniox-double: unknown argument ${a}`);
        i++;
    }
    if (process.env.SONIOX_DOUBLE_OPTIONS)
        Object.assign(opts, JSON.parse(process.env.SONIOX_DOUBLE_OPTIONS));
    const double = new SonioxDouble(opts);
    const { url, controlUrl, port } = await double.start();
    process.stdout.write(`${JSON.stringify({ ready: true, url, controlUrl, port, pid: process.pid })}\n`);
    const stop = () => {
        void double.close().then(() => process.exit(0));
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
}
function isEntryPoint() {
    if (!process.argv[1])
        return false;
    try {
        return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
    }
    catch {
        return import.meta.url === pathToFileURL(process.argv[1]).href;
    }
}
if (isEntryPoint()) {
    main(process.argv.slice(2)).catch((err) => {
        process.stderr.write(`${err.stack ?? String(err)}\n`);
        process.exit(1);
    });
}
