import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';

/**
 * Audio helpers for the simulator CLI: everything the glasses send is PCM s16le, 16 kHz, mono
 * (what the audio manager expects), so WAV files of any common format and espeak-ng's output are converted here,
 * in code (no sox needed).
 */

export const TARGET_RATE = 16_000;

export class AudioFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AudioFileError';
  }
}

export interface WavInfo {
  /** 1 = integer PCM, 3 = IEEE float (WAVE_FORMAT_EXTENSIBLE is resolved to one of them). */
  format: 1 | 3;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  /** The sample data (interleaved), clamped to what the file really holds. */
  data: Buffer;
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/**
 * Reads a RIFF/WAVE header. Streaming writers (espeak-ng --stdout) leave the size fields at
 * 0x7fffffff-ish values, so a data chunk is clamped to the bytes that are there.
 */
export function parseWav(buf: Buffer): WavInfo {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new AudioFileError('not a WAV file (no RIFF/WAVE header)');
  }
  let offset = 12;
  let fmt: Omit<WavInfo, 'data'> | null = null;
  while (offset + 8 <= buf.length) {
    const id = buf.toString('ascii', offset, offset + 4);
    const size = buf.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > buf.length) throw new AudioFileError('WAV fmt chunk is truncated');
      let format = buf.readUInt16LE(body);
      const channels = buf.readUInt16LE(body + 2);
      const sampleRate = buf.readUInt32LE(body + 4);
      const bitsPerSample = buf.readUInt16LE(body + 14);
      if (format === WAVE_FORMAT_EXTENSIBLE) {
        if (size < 40 || body + 26 > buf.length)
          throw new AudioFileError('WAV WAVE_FORMAT_EXTENSIBLE fmt chunk is truncated');
        format = buf.readUInt16LE(body + 24); // first two bytes of the SubFormat GUID
      }
      if (format !== WAVE_FORMAT_PCM && format !== WAVE_FORMAT_FLOAT) {
        throw new AudioFileError(`unsupported WAV encoding (format tag ${format}); use PCM or 32-bit float`);
      }
      if (channels < 1) throw new AudioFileError('WAV has 0 channels');
      if (sampleRate < 1000 || sampleRate > 384_000)
        throw new AudioFileError(`unsupported WAV sample rate ${sampleRate} Hz`);
      const okBits = format === WAVE_FORMAT_FLOAT ? [32, 64] : [8, 16, 24, 32];
      if (!okBits.includes(bitsPerSample)) {
        throw new AudioFileError(
          `unsupported WAV sample size: ${bitsPerSample}-bit ${format === WAVE_FORMAT_FLOAT ? 'float' : 'PCM'}`,
        );
      }
      fmt = { format: format as 1 | 3, channels, sampleRate, bitsPerSample };
    } else if (id === 'data') {
      if (!fmt) throw new AudioFileError('WAV data chunk comes before its fmt chunk');
      const end = Math.min(buf.length, body + size);
      const frame = (fmt.bitsPerSample / 8) * fmt.channels;
      const usable = end - body - ((end - body) % frame);
      return { ...fmt, data: buf.subarray(body, body + usable) };
    }
    offset = body + size + (size & 1);
  }
  throw new AudioFileError(fmt ? 'WAV file has no data chunk' : 'WAV file has no fmt chunk');
}

/** Samples as floats in [-1, 1], mixed down to mono. */
export function wavToMonoFloat(wav: WavInfo): Float32Array {
  const bytes = wav.bitsPerSample / 8;
  const frames = Math.floor(wav.data.length / (bytes * wav.channels));
  const out = new Float32Array(frames);
  const d = wav.data;
  const read = (pos: number): number => {
    if (wav.format === WAVE_FORMAT_FLOAT) return bytes === 4 ? d.readFloatLE(pos) : d.readDoubleLE(pos);
    switch (bytes) {
      case 1:
        return (d[pos]! - 128) / 128;
      case 2:
        return d.readInt16LE(pos) / 32768;
      case 3:
        return d.readIntLE(pos, 3) / 8388608;
      default:
        return d.readInt32LE(pos) / 2147483648;
    }
  };
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < wav.channels; c++) sum += read((i * wav.channels + c) * bytes);
    out[i] = sum / wav.channels;
  }
  return out;
}

/**
 * Sample-rate conversion by linear interpolation. When going down, a moving average over the
 * ratio first takes off most of what would alias; good enough for speech into an app.
 */
export function resample(input: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate || input.length === 0) return Float32Array.from(input);
  let src = input;
  const ratio = fromRate / toRate;
  if (ratio > 1.25) {
    const width = Math.max(1, Math.round(ratio));
    src = new Float32Array(input.length);
    let acc = 0;
    for (let i = 0; i < input.length; i++) {
      acc += input[i]!;
      if (i >= width) acc -= input[i - width]!;
      src[i] = acc / Math.min(i + 1, width);
    }
  }
  const outLength = Math.max(1, Math.floor((input.length * toRate) / fromRate));
  const out = new Float32Array(outLength);
  for (let i = 0; i < outLength; i++) {
    const pos = i * ratio;
    const i0 = Math.floor(pos);
    const i1 = Math.min(i0 + 1, src.length - 1);
    const frac = pos - i0;
    out[i] = src[i0]! * (1 - frac) + src[i1]! * frac;
  }
  return out;
}

/** Float samples → PCM s16le, clipped. */
export function floatToPcm16(samples: Float32Array): Buffer {
  const out = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.max(-1, Math.min(1, samples[i]!));
    out.writeInt16LE(Math.round(v < 0 ? v * 32768 : v * 32767), i * 2);
  }
  return out;
}

/** Any supported WAV → PCM s16le, 16 kHz, mono (what `/glasses-ws` carries). */
export function wavToPcm16k(buf: Buffer): Buffer {
  const wav = parseWav(buf);
  if (
    wav.format === WAVE_FORMAT_PCM &&
    wav.bitsPerSample === 16 &&
    wav.channels === 1 &&
    wav.sampleRate === TARGET_RATE
  ) {
    return Buffer.from(wav.data);
  }
  return floatToPcm16(resample(wavToMonoFloat(wav), wav.sampleRate, TARGET_RATE));
}

/** A 44-byte-header WAV around PCM s16le (used by tests and for fake microphones). */
export function pcmToWav(pcm: Buffer, sampleRate = TARGET_RATE, channels = 1): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + pcm.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * channels * 2, 28);
  header.writeUInt16LE(channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(pcm.length, 40);
  return Buffer.concat([header, pcm]);
}

/** A sine tone as PCM s16le mono (for tests and fake microphones). */
export function sinePcm(opts: { hz: number; ms: number; sampleRate?: number; amplitude?: number }): Buffer {
  const rate = opts.sampleRate ?? TARGET_RATE;
  const n = Math.round((rate * opts.ms) / 1000);
  const samples = new Float32Array(n);
  const amp = opts.amplitude ?? 0.5;
  for (let i = 0; i < n; i++) samples[i] = amp * Math.sin((2 * Math.PI * opts.hz * i) / rate);
  return floatToPcm16(samples);
}

/** Frequency of a tone in PCM s16le by counting upward zero crossings (tests use it to check resampling). */
export function estimateToneHz(pcm: Buffer, sampleRate = TARGET_RATE): number {
  const n = Math.floor(pcm.length / 2);
  if (n < 2) return 0;
  let crossings = 0;
  let prev = pcm.readInt16LE(0);
  for (let i = 1; i < n; i++) {
    const cur = pcm.readInt16LE(i * 2);
    if (prev < 0 && cur >= 0) crossings++;
    prev = cur;
  }
  return (crossings * sampleRate) / n;
}

/**
 * Loads a file for the `play` step: `.wav` by its header (any rate, channels, PCM or float),
 * `.raw` / `.pcm` / `.s16` as PCM s16le 16 kHz mono already.
 */
export async function loadAudioFile(path: string): Promise<Buffer> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a directory'
            : (err as Error).message;
    throw new AudioFileError(`cannot read audio file ${path}: ${why}`, { cause: err });
  }
  const ext = extname(path).toLowerCase();
  if (['.raw', '.pcm', '.s16', '.s16le'].includes(ext)) {
    if (buf.length % 2 !== 0)
      throw new AudioFileError(`audio file ${path}: raw PCM s16le must have an even number of bytes`);
    return buf;
  }
  try {
    const pcm = wavToPcm16k(buf);
    if (pcm.length === 0) throw new AudioFileError('it holds no samples');
    return pcm;
  } catch (err) {
    if (err instanceof AudioFileError) throw new AudioFileError(`audio file ${path}: ${err.message}`, { cause: err });
    throw err;
  }
}

/**
 * Text → speech with Debian's espeak-ng (`espeak-ng --stdout`, a 22,050 Hz WAV) → PCM s16le 16 kHz mono.
 */
export async function synthesizeSpeech(
  text: string,
  opts: { voice?: string; wordsPerMinute?: number; binary?: string } = {},
): Promise<Buffer> {
  const bin = opts.binary ?? process.env.ESPEAK_NG ?? 'espeak-ng';
  const args = ['--stdout', '-s', String(opts.wordsPerMinute ?? 160)];
  if (opts.voice) args.push('-v', opts.voice);
  args.push('--', text);
  const wav = await new Promise<Buffer>((resolve, reject) => {
    let child;
    try {
      child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      reject(err);
      return;
    }
    const out: Buffer[] = [];
    const errOut: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => errOut.push(c));
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(
        new AudioFileError(
          err.code === 'ENOENT'
            ? `speech synthesis needs espeak-ng, which is not installed (Debian: apt-get install espeak-ng)`
            : `espeak-ng failed to start: ${err.message}`,
          { cause: err },
        ),
      );
    });
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else
        reject(new AudioFileError(`espeak-ng exited with ${code}: ${Buffer.concat(errOut).toString('utf8').trim()}`));
    });
  });
  const pcm = wavToPcm16k(wav);
  if (pcm.length === 0) throw new AudioFileError(`espeak-ng produced no audio for ${JSON.stringify(text)}`);
  return pcm;
}
