import { toLibreCode } from './locale-codes.js';

export interface LibreTranslateOptions {
  url: string;
  apiKey?: string;
  timeoutMs?: number;
}

export interface LibreResult {
  translatedText: string;
  detectedLanguage?: { language: string; confidence: number };
}

/** LibreTranslate's `POST /translate`. Throws with the server's error text on non-2xx. */
export class LibreTranslateClient {
  constructor(private readonly options: LibreTranslateOptions) {}

  async translate(text: string, sourceLocale: string, targetLocale: string): Promise<LibreResult> {
    const body: Record<string, unknown> = {
      q: text,
      source: toLibreCode(sourceLocale),
      target: toLibreCode(targetLocale),
      format: 'text',
    };
    if (this.options.apiKey) body.api_key = this.options.apiKey;
    const res = await fetch(`${this.options.url}/translate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 5_000),
    });
    const json = (await res.json().catch(() => ({}))) as Partial<LibreResult> & { error?: string };
    if (!res.ok) throw new Error(`LibreTranslate answered HTTP ${res.status}: ${json.error ?? 'no details'}`);
    if (typeof json.translatedText !== 'string') throw new Error('LibreTranslate answered without translatedText');
    return { translatedText: json.translatedText, detectedLanguage: json.detectedLanguage };
  }
}
