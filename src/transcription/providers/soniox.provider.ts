import WebSocket from 'ws';
import {
  ProviderError,
  type ProviderResult,
  type ProviderStream,
  type StreamHandlers,
  type StreamSpec,
  type TranscriptionProvider,
} from './provider.types.js';

export interface SonioxOptions {
  apiKey: string;
  url: string;
  model: string;
}

interface SonioxToken {
  text: string;
  start_ms?: number;
  end_ms?: number;
  confidence?: number;
  is_final: boolean;
  speaker?: string;
  language?: string;
  translation_status?: 'original' | 'translation' | 'none';
}

interface SonioxResponse {
  tokens?: SonioxToken[];
  finished?: boolean;
  error_code?: number;
  error_message?: string;
}

const MARKERS = new Set(['<fin>', '<end>']);

/** Soniox errors: client mistakes are fatal, limits and server trouble are worth a retry. */
export function sonioxErrorRetryable(code: number | undefined): boolean {
  if (code === undefined) return true;
  if (code === 408 || code === 429) return true;
  return code >= 500;
}

const lang2 = (locale: string) => locale.split('-')[0]!.toLowerCase();

/**
 * Soniox real-time WebSocket API: key on the upgrade, a JSON config first, binary PCM,
 * `finalize` on silence (answered with a `<fin>` marker), `keepalive` while idle. Final tokens arrive
 * once; they are collected until an endpoint (`<end>`) or `<fin>` closes the utterance, which is then
 * reported as one final result.
 */
export class SonioxProvider implements TranscriptionProvider {
  readonly name = 'soniox';

  constructor(private readonly options: SonioxOptions) {}

  supports(): boolean {
    return true;
  }

  open(spec: StreamSpec, handlers: StreamHandlers): ProviderStream {
    return new SonioxStream(this.options, spec, handlers);
  }
}

class SonioxStream implements ProviderStream {
  private readonly ws: WebSocket;
  private configured = false;
  private closed = false;
  private pending: Buffer[] = [];
  /** Final tokens of the current utterance (original language). */
  private finals: SonioxToken[] = [];
  private finalTranslation: SonioxToken[] = [];

  constructor(
    options: SonioxOptions,
    private readonly spec: StreamSpec,
    private readonly handlers: StreamHandlers,
  ) {
    this.ws = new WebSocket(options.url, {
      headers: { Authorization: `Bearer ${options.apiKey}` },
      perMessageDeflate: false,
      handshakeTimeout: 10_000,
    });
    this.ws.on('open', () => {
      const hints = [...new Set([lang2(spec.language), ...spec.hints.map(lang2)])];
      const config: Record<string, unknown> = {
        model: options.model,
        audio_format: 'pcm_s16le',
        sample_rate: 16_000,
        num_channels: 1,
        language_hints: hints,
        enable_language_identification: spec.identifyLanguage,
        enable_endpoint_detection: true,
        client_reference_id: `mentra-${spec.language}`,
      };
      if (spec.translateTo) config.translation = { type: 'one_way', target_language: lang2(spec.translateTo) };
      this.ws.send(JSON.stringify(config));
      this.configured = true;
      for (const b of this.pending) this.ws.send(b);
      this.pending = [];
      handlers.onOpen();
    });
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      let res: SonioxResponse;
      try {
        res = JSON.parse(data.toString('utf8')) as SonioxResponse;
      } catch {
        return;
      }
      if (res.error_code !== undefined || res.error_message) {
        this.fail(
          new ProviderError(
            'soniox',
            res.error_message ?? `error ${res.error_code}`,
            sonioxErrorRetryable(res.error_code),
            res.error_code,
          ),
        );
        return;
      }
      this.onTokens(res.tokens ?? []);
    });
    this.ws.on('unexpected-response', (_req, res) => {
      const code = res.statusCode ?? 0;
      this.fail(new ProviderError('soniox', `upgrade refused with HTTP ${code}`, sonioxErrorRetryable(code), code));
      res.resume();
    });
    this.ws.on('error', (err) => this.fail(new ProviderError('soniox', err.message, true)));
    this.ws.on('close', (code) => {
      if (!this.closed && code !== 1000)
        this.fail(new ProviderError('soniox', `connection closed (${code})`, true, code));
      this.finish();
    });
  }

  private onTokens(tokens: SonioxToken[]): void {
    const nonFinal: SonioxToken[] = [];
    const nonFinalTranslation: SonioxToken[] = [];
    let endOfUtterance = false;
    for (const t of tokens) {
      if (MARKERS.has(t.text)) {
        if (t.is_final) endOfUtterance = true;
        continue;
      }
      const translated = t.translation_status === 'translation';
      if (t.is_final) (translated ? this.finalTranslation : this.finals).push(t);
      else (translated ? nonFinalTranslation : nonFinal).push(t);
    }
    const translating = this.spec.translateTo !== undefined;
    if (endOfUtterance) {
      if (this.finals.length > 0 || this.finalTranslation.length > 0)
        this.emit(this.finals, this.finalTranslation, true, translating);
      this.finals = [];
      this.finalTranslation = [];
      return;
    }
    const all = [...this.finals, ...nonFinal];
    const allTr = [...this.finalTranslation, ...nonFinalTranslation];
    if (all.length > 0 || allTr.length > 0) this.emit(all, allTr, false, translating);
  }

  /**
   * One result from the utterance's tokens in one pass over each list (an interim result covers the whole utterance
   * so far, so this runs over a growing list at every response).
   */
  private emit(original: SonioxToken[], translated: SonioxToken[], isFinal: boolean, translating: boolean): void {
    let originalText = '';
    let startMs: number | undefined;
    let endMs: number | undefined;
    let confidenceSum = 0;
    let confidences = 0;
    let speaker: string | number | undefined;
    let detectedLanguage: string | undefined;
    for (const t of original) {
      originalText += t.text;
      if (typeof t.start_ms === 'number') {
        startMs ??= t.start_ms;
        endMs = t.end_ms;
      }
      if (typeof t.confidence === 'number') {
        confidenceSum += t.confidence;
        confidences++;
      }
      if (speaker === undefined && t.speaker !== undefined) speaker = t.speaker;
      if (detectedLanguage === undefined && t.language) detectedLanguage = t.language;
    }
    let text = originalText.trim();
    if (translating) {
      let translatedText = '';
      for (const t of translated) translatedText += t.text;
      text = translatedText.trim();
      if (text === '' && !isFinal) return;
    }
    const result: ProviderResult = {
      text,
      isFinal,
      startMs,
      endMs,
      confidence: confidences ? confidenceSum / confidences : undefined,
      speakerId: speaker !== undefined && Number.isFinite(Number(speaker)) ? Number(speaker) : undefined,
      detectedLanguage,
      ...(translating ? { originalText: originalText.trim() } : {}),
    };
    this.handlers.onResult(result);
  }

  write(pcm: Buffer): void {
    if (this.closed || pcm.length === 0) return;
    if (!this.configured) {
      if (this.pending.length < 50) this.pending.push(pcm);
      return;
    }
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(pcm);
  }

  finalize(): void {
    if (this.configured && this.ws.readyState === WebSocket.OPEN) this.ws.send('{"type":"finalize"}');
  }

  keepalive(): void {
    if (this.configured && this.ws.readyState === WebSocket.OPEN) this.ws.send('{"type":"keepalive"}');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.ws.readyState === WebSocket.OPEN) {
      // An empty frame ends the stream gracefully; the server answers and closes.
      this.ws.send(Buffer.alloc(0));
      setTimeout(() => this.ws.terminate(), 2_000).unref();
    } else {
      this.ws.terminate();
    }
    // Results the server still sends (the last final) are delivered until its close arrives.
  }

  private fail(err: ProviderError): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers.onError(err);
    this.ws.terminate();
    this.finish();
  }

  private finished = false;
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.closed = true;
    this.handlers.onClosed();
  }
}
