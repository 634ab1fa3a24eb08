import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AudioFileError,
  estimateToneHz,
  floatToPcm16,
  loadAudioFile,
  parseWav,
  pcmToWav,
  resample,
  sinePcm,
  synthesizeSpeech,
  wavToPcm16k,
} from './audio.js';

const dir = mkdtempSync(join(tmpdir(), 'sim-audio-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A WAV of any format, written by hand (so the test does not depend on the code under test). */
function wav(opts: {
  rate: number;
  channels: number;
  bits: number;
  float?: boolean;
  extensible?: boolean;
  samples: number[][];
  dataSize?: number;
  extraChunk?: boolean;
}): Buffer {
  const bytes = opts.bits / 8;
  const frames = opts.samples[0]!.length;
  const data = Buffer.alloc(frames * opts.channels * bytes);
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < opts.channels; c++) {
      const v = opts.samples[c]![i]!;
      const pos = (i * opts.channels + c) * bytes;
      if (opts.float) data.writeFloatLE(v, pos);
      else if (bytes === 1) data[pos] = Math.round(v * 127 + 128);
      else if (bytes === 2) data.writeInt16LE(Math.round(v * 32767), pos);
      else if (bytes === 3) data.writeIntLE(Math.round(v * 8388607), pos, 3);
      else data.writeInt32LE(Math.round(v * 2147483647), pos);
    }
  }
  const fmtSize = opts.extensible ? 40 : 16;
  const fmt = Buffer.alloc(8 + fmtSize);
  fmt.write('fmt ', 0, 'ascii');
  fmt.writeUInt32LE(fmtSize, 4);
  fmt.writeUInt16LE(opts.extensible ? 0xfffe : opts.float ? 3 : 1, 8);
  fmt.writeUInt16LE(opts.channels, 10);
  fmt.writeUInt32LE(opts.rate, 12);
  fmt.writeUInt32LE(opts.rate * opts.channels * bytes, 16);
  fmt.writeUInt16LE(opts.channels * bytes, 20);
  fmt.writeUInt16LE(opts.bits, 22);
  if (opts.extensible) {
    fmt.writeUInt16LE(22, 24);
    fmt.writeUInt16LE(opts.float ? 3 : 1, 32); // SubFormat GUID starts with the format tag
  }
  const extra = opts.extraChunk
    ? Buffer.concat([Buffer.from('LIST'), Buffer.from([3, 0, 0, 0]), Buffer.from('abc\0')])
    : Buffer.alloc(0);
  const dataHeader = Buffer.alloc(8);
  dataHeader.write('data', 0, 'ascii');
  dataHeader.writeUInt32LE(opts.dataSize ?? data.length, 4);
  const body = Buffer.concat([Buffer.from('WAVE'), fmt, extra, dataHeader, data]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'ascii');
  riff.writeUInt32LE(body.length, 4);
  return Buffer.concat([riff, body]);
}

const sine = (hz: number, rate: number, ms: number, amp = 0.5): number[] =>
  Array.from({ length: Math.round((rate * ms) / 1000) }, (_, i) => amp * Math.sin((2 * Math.PI * hz * i) / rate));

describe('WAV parsing', () => {
  it('reads the header of PCM 8/16/24/32-bit, float and WAVE_FORMAT_EXTENSIBLE files', () => {
    for (const [bits, float, extensible] of [
      [8, false, false],
      [16, false, false],
      [24, false, false],
      [32, false, false],
      [32, true, false],
      [16, false, true],
      [32, true, true],
    ] as const) {
      const info = parseWav(
        wav({
          rate: 22050,
          channels: 2,
          bits,
          float,
          extensible,
          samples: [
            [0, 0.5],
            [0, -0.5],
          ],
        }),
      );
      expect(info).toMatchObject({ format: float ? 3 : 1, channels: 2, sampleRate: 22050, bitsPerSample: bits });
      expect(info.data.length).toBe(2 * 2 * (bits / 8));
    }
  });

  it('skips unknown chunks and clamps a streaming writer\u2019s oversized data length (espeak-ng --stdout)', () => {
    const info = parseWav(
      wav({ rate: 16000, channels: 1, bits: 16, samples: [[0.1, 0.2, 0.3]], dataSize: 0x7ffff000, extraChunk: true }),
    );
    expect(info.data.length).toBe(6);
    expect(info.data.readInt16LE(4)).toBe(Math.round(0.3 * 32767));
  });

  it('refuses what is not a usable WAV with a clear reason', () => {
    expect(() => parseWav(Buffer.from('hello world, not audio'))).toThrow(/not a WAV file/);
    const adpcm = wav({ rate: 8000, channels: 1, bits: 16, samples: [[0]] });
    adpcm.writeUInt16LE(2, 20);
    expect(() => parseWav(adpcm)).toThrow(/unsupported WAV encoding \(format tag 2\)/);
    const noData = wav({ rate: 8000, channels: 1, bits: 16, samples: [[0]] }).subarray(0, 36);
    expect(() => parseWav(noData)).toThrow(/no data chunk/);
    const bits12 = wav({ rate: 8000, channels: 1, bits: 16, samples: [[0]] });
    bits12.writeUInt16LE(12, 34);
    expect(() => parseWav(bits12)).toThrow(/12-bit PCM/);
  });
});

describe('conversion to PCM s16le 16 kHz mono', () => {
  it('passes 16 kHz mono s16le through unchanged', () => {
    const pcm = sinePcm({ hz: 440, ms: 100 });
    expect(wavToPcm16k(pcmToWav(pcm)).equals(pcm)).toBe(true);
  });

  it('resamples 44.1 kHz stereo to 16 kHz mono keeping duration and pitch', () => {
    const left = sine(440, 44100, 1000);
    const out = wavToPcm16k(wav({ rate: 44100, channels: 2, bits: 16, samples: [left, left] }));
    expect(out.length).toBe(32000); // 1 s × 16,000 samples × 2 bytes
    expect(estimateToneHz(out)).toBeGreaterThan(430);
    expect(estimateToneHz(out)).toBeLessThan(450);
  });

  it('upsamples 8 kHz and reads 8-bit, 24-bit and float input', () => {
    for (const [rate, bits, float] of [
      [8000, 8, false],
      [48000, 24, false],
      [22050, 32, true],
    ] as const) {
      const out = wavToPcm16k(wav({ rate, channels: 1, bits, float, samples: [sine(300, rate, 500)] }));
      expect(out.length).toBe(16000); // 0.5 s
      expect(Math.abs(estimateToneHz(out) - 300)).toBeLessThan(15);
    }
  });

  it('mixes channels down (opposite channels cancel) and clips floats', () => {
    const a = sine(440, 16000, 100);
    const out = wavToPcm16k(wav({ rate: 16000, channels: 2, bits: 16, samples: [a, a.map((v) => -v)] }));
    expect(
      Math.max(...Array.from({ length: out.length / 2 }, (_, i) => Math.abs(out.readInt16LE(i * 2)))),
    ).toBeLessThanOrEqual(1);
    expect(floatToPcm16(Float32Array.from([2, -2, 0])).readInt16LE(0)).toBe(32767);
    expect(floatToPcm16(Float32Array.from([2, -2, 0])).readInt16LE(2)).toBe(-32768);
  });

  it('resample() keeps the length ratio', () => {
    expect(resample(new Float32Array(48000), 48000, 16000).length).toBe(16000);
    expect(resample(new Float32Array(1000), 16000, 16000).length).toBe(1000);
  });
});

describe('loadAudioFile', () => {
  it('loads WAV and raw files', async () => {
    const w = join(dir, 'tone.wav');
    writeFileSync(w, wav({ rate: 48000, channels: 1, bits: 16, samples: [sine(440, 48000, 250)] }));
    expect((await loadAudioFile(w)).length).toBe(8000);
    const r = join(dir, 'tone.raw');
    writeFileSync(r, sinePcm({ hz: 200, ms: 100 }));
    expect((await loadAudioFile(r)).length).toBe(3200);
  });

  it('explains unreadable, odd and broken files', async () => {
    await expect(loadAudioFile(join(dir, 'missing.wav'))).rejects.toThrow(
      /cannot read audio file .*missing\.wav: no such file/,
    );
    await expect(loadAudioFile(dir)).rejects.toThrow(/cannot read audio file .*: it is a directory/);
    const odd = join(dir, 'odd.raw');
    writeFileSync(odd, Buffer.alloc(3));
    await expect(loadAudioFile(odd)).rejects.toThrow(AudioFileError);
    const text = join(dir, 'notes.wav');
    writeFileSync(text, 'just text');
    await expect(loadAudioFile(text)).rejects.toThrow(/audio file .*notes\.wav: not a WAV file/);
  });
});

function hasEspeak(): boolean {
  try {
    execFileSync('espeak-ng', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('synthesizeSpeech', () => {
  it('turns text into 16 kHz PCM with espeak-ng (Debian package espeak-ng)', async () => {
    if (!hasEspeak() && !process.env.CI) return; // CI installs espeak-ng (.ci/run) and must not skip
    const pcm = await synthesizeSpeech('testing one two three');
    expect(pcm.length % 2).toBe(0);
    expect(pcm.length).toBeGreaterThan(32000 * 0.8); // well over a second of speech
    expect(pcm.length).toBeLessThan(32000 * 5);
    let peak = 0;
    for (let i = 0; i < pcm.length; i += 2) peak = Math.max(peak, Math.abs(pcm.readInt16LE(i)));
    expect(peak).toBeGreaterThan(3000);
  });

  it('says clearly when the synthesizer is missing', async () => {
    await expect(synthesizeSpeech('hi', { binary: '/nonexistent/espeak-ng' })).rejects.toThrow(
      /needs espeak-ng, which is not installed \(Debian: apt-get install espeak-ng\)/,
    );
  });
});
