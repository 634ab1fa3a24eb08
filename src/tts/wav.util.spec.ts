import { describe, expect, it } from 'vitest';
import { fixWavSizes, wavInfo } from './wav.util.js';

/** A WAV as espeak-ng --stdout writes it: placeholder sizes, optionally an extra chunk before data. */
function streamedWav(pcmBytes: number, extraChunk = false): Buffer {
  const fmt = Buffer.alloc(24);
  fmt.write('fmt ', 0, 'ascii');
  fmt.writeUInt32LE(16, 4);
  fmt.writeUInt16LE(1, 8);
  fmt.writeUInt16LE(1, 10);
  fmt.writeUInt32LE(22050, 12);
  fmt.writeUInt32LE(44100, 16);
  fmt.writeUInt16LE(2, 20);
  fmt.writeUInt16LE(16, 22);
  const list = Buffer.from('LIST\x03\x00\x00\x00abc\x00', 'binary'); // odd size + pad byte
  const data = Buffer.alloc(8);
  data.write('data', 0, 'ascii');
  data.writeUInt32LE(0x7ffff000, 4);
  const head = Buffer.alloc(12);
  head.write('RIFF', 0, 'ascii');
  head.writeUInt32LE(0x7ffff024, 4);
  head.write('WAVE', 8, 'ascii');
  return Buffer.concat([head, fmt, ...(extraChunk ? [list] : []), data, Buffer.alloc(pcmBytes, 1)]);
}

describe('fixWavSizes', () => {
  it('writes the real RIFF and data sizes', () => {
    const wav = fixWavSizes(streamedWav(1000));
    expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
    expect(wav.readUInt32LE(40)).toBe(1000);
    expect(wavInfo(wav)).toEqual({ channels: 1, sampleRate: 22050, bitsPerSample: 16, dataBytes: 1000 });
  });

  it('finds the data chunk after other (odd-sized) chunks', () => {
    const wav = fixWavSizes(streamedWav(10, true));
    expect(wavInfo(wav)?.dataBytes).toBe(10);
  });

  it('refuses what is not a WAV', () => {
    expect(() => fixWavSizes(Buffer.from('ID3 not a wav file'))).toThrow(/RIFF/);
    expect(() => fixWavSizes(streamedWav(0).subarray(0, 36))).toThrow(/data chunk/);
    expect(wavInfo(Buffer.from('nope'))).toBeNull();
  });
});
