import { describe, expect, it } from 'vitest';
import { rewriteTtsUrl } from './tts-url.js';

describe('rewriteTtsUrl', () => {
  it('points the https URL the SDK built back at an http PUBLIC_URL, query kept byte for byte', () => {
    expect(rewriteTtsUrl('https://127.0.0.1:8002/api/tts?text=hello+world&voice_id=x', 'http://127.0.0.1:8002')).toBe(
      'http://127.0.0.1:8002/api/tts?text=hello+world&voice_id=x',
    );
    expect(rewriteTtsUrl('https://cloud.local/api/tts?text=a%26b', 'http://cloud.local')).toBe(
      'http://cloud.local/api/tts?text=a%26b',
    );
    expect(rewriteTtsUrl('https://cloud.local:80/api/tts?text=a', 'http://cloud.local:80')).toBe(
      'http://cloud.local/api/tts?text=a',
    );
    expect(rewriteTtsUrl('https://Cloud.Local:8002/api/tts?text=a', 'http://cloud.local:8002/')).toBe(
      'http://cloud.local:8002/api/tts?text=a',
    );
  });

  it('keeps a path prefix of PUBLIC_URL', () => {
    expect(rewriteTtsUrl('https://h.example/mentra/api/tts?text=a', 'http://h.example/mentra')).toBe(
      'http://h.example/mentra/api/tts?text=a',
    );
    expect(rewriteTtsUrl('https://h.example/api/tts?text=a', 'http://h.example/mentra')).toBe(
      'https://h.example/api/tts?text=a',
    );
  });

  it.each([
    ['an https PUBLIC_URL', 'https://cloud.example/api/tts?text=a', 'https://cloud.example'],
    ['another host', 'https://evil.example/api/tts?text=a', 'http://cloud.example'],
    ['another port', 'https://cloud.example:9999/api/tts?text=a', 'http://cloud.example:8002'],
    ['another path', 'https://cloud.example/api/other?text=a', 'http://cloud.example'],
    ['a longer path', 'https://cloud.example/api/tts/x?text=a', 'http://cloud.example'],
    ['an http audio URL', 'http://cloud.example/api/tts?text=a', 'http://cloud.example'],
    ['credentials in the URL', 'https://u:p@cloud.example/api/tts?text=a', 'http://cloud.example'],
    ['a non-URL', 'not a url', 'http://cloud.example'],
    ['a bad PUBLIC_URL', 'https://cloud.example/api/tts?text=a', '::'],
  ])('leaves %s alone', (_what, audioUrl, publicUrl) => {
    expect(rewriteTtsUrl(audioUrl, publicUrl)).toBe(audioUrl);
  });
});
