import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EspeakTtsProvider } from './espeak.provider.js';
import { TtsUnavailableError } from './tts-provider.js';
import { wavInfo } from './wav.util.js';

// These run the real engine: the Debian package espeak-ng must be installed (CI installs it).
describe('EspeakTtsProvider (real espeak-ng)', () => {
  const provider = new EspeakTtsProvider();

  it('synthesizes a complete WAV with correct sizes', async () => {
    const audio = await provider.synthesize('hello world', 'en-us', AbortSignal.timeout(10_000));
    expect(audio.contentType).toBe('audio/wav');
    expect(audio.data.toString('ascii', 0, 4)).toBe('RIFF');
    expect(audio.data.readUInt32LE(4)).toBe(audio.data.length - 8);
    const info = wavInfo(audio.data);
    expect(info).toMatchObject({ channels: 1, bitsPerSample: 16, sampleRate: 22050 });
    // "hello world" is about a second of speech.
    expect(info!.dataBytes / (info!.sampleRate * 2)).toBeGreaterThan(0.5);
  });

  it('reads text from stdin, so text that looks like options is spoken, not obeyed', async () => {
    const audio = await provider.synthesize('--version -w /tmp/owned.wav', 'en-us', AbortSignal.timeout(10_000));
    expect(wavInfo(audio.data)!.dataBytes).toBeGreaterThan(20_000);
  });

  it('resolves known espeak voices and falls back to the default for anything else', async () => {
    expect(await provider.resolveVoice('de')).toBe('de');
    expect(await provider.resolveVoice('EN-GB')).toBe('en-gb');
    expect(await provider.resolveVoice(undefined)).toBe('en-us');
    expect(await provider.resolveVoice('21m00Tcm4TlvDq8ikWAM')).toBe('en-us'); // an upstream hosted voice id
    expect(await provider.resolveVoice('-w /tmp/x')).toBe('en-us');
    expect(await provider.resolveVoice('xx-nonexistent')).toBe('en-us');
  });
});

describe('EspeakTtsProvider without the engine', () => {
  it('says how to install it', async () => {
    const missing = new EspeakTtsProvider({ binary: 'espeak-ng-not-installed-here' });
    await expect(missing.synthesize('hello', 'en-us', AbortSignal.timeout(5_000))).rejects.toBeInstanceOf(
      TtsUnavailableError,
    );
    await expect(missing.synthesize('hello', 'en-us', AbortSignal.timeout(5_000))).rejects.toThrow(
      /apt-get install espeak-ng/,
    );
    await expect(missing.resolveVoice('de')).rejects.toBeInstanceOf(TtsUnavailableError);
  });

  it('kills an engine that takes too long, with a 503-style error', async () => {
    // A stand-in engine that never answers (a script run directly, still without a shell in between).
    const dir = await mkdtemp(join(tmpdir(), 'mentra-tts-'));
    const binary = join(dir, 'slow-engine');
    await writeFile(binary, '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
    try {
      const slow = new EspeakTtsProvider({ binary, timeoutMs: 300 });
      const started = Date.now();
      await expect(slow.synthesize('x', 'en-us', AbortSignal.timeout(5_000))).rejects.toThrow(
        /took longer than 300 ms/,
      );
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
