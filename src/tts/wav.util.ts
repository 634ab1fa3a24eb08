/**
 * `espeak-ng --stdout` streams, so it writes a WAV header before it knows the length: RIFF and data sizes
 * are placeholders (0x7fffffff-ish). Some players refuse or misreport such files; once the whole output is
 * in memory the real sizes are known and written in. Returns the same buffer (patched) or throws for
 * something that is not a RIFF/WAVE file.
 */
export function fixWavSizes(wav: Buffer): Buffer {
  if (wav.length < 12 || wav.toString('ascii', 0, 4) !== 'RIFF' || wav.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file');
  }
  wav.writeUInt32LE(wav.length - 8, 4);
  // Walk the chunks to the data chunk (espeak writes `fmt ` then `data`, but don't rely on it).
  let offset = 12;
  while (offset + 8 <= wav.length) {
    const id = wav.toString('ascii', offset, offset + 4);
    if (id === 'data') {
      wav.writeUInt32LE(wav.length - offset - 8, offset + 4);
      return wav;
    }
    const size = wav.readUInt32LE(offset + 4);
    offset += 8 + size + (size % 2);
  }
  throw new Error('WAVE file without a data chunk');
}

/** The PCM format fields of a WAV's `fmt ` chunk (for tests and logs). */
export function wavInfo(
  wav: Buffer,
): { channels: number; sampleRate: number; bitsPerSample: number; dataBytes: number } | null {
  if (wav.length < 12 || wav.toString('ascii', 0, 4) !== 'RIFF' || wav.toString('ascii', 8, 12) !== 'WAVE') return null;
  let offset = 12;
  let fmt: { channels: number; sampleRate: number; bitsPerSample: number } | null = null;
  while (offset + 8 <= wav.length) {
    const id = wav.toString('ascii', offset, offset + 4);
    const size = wav.readUInt32LE(offset + 4);
    if (id === 'fmt ' && offset + 24 <= wav.length) {
      fmt = {
        channels: wav.readUInt16LE(offset + 10),
        sampleRate: wav.readUInt32LE(offset + 12),
        bitsPerSample: wav.readUInt16LE(offset + 22),
      };
    }
    if (id === 'data') return fmt ? { ...fmt, dataBytes: Math.min(size, wav.length - offset - 8) } : null;
    offset += 8 + size + (size % 2);
  }
  return null;
}
