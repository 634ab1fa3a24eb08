/**
 * The last N seconds of PCM in one preallocated ring (upstream declared one and never filled it).
 * Allocated by the owner on the first frame, so sessions without audio pay nothing.
 */
export class RecentAudio {
  private readonly buf: Buffer;
  private write = 0;
  private filled = 0;

  readonly capacity: number;

  constructor(capacity: number) {
    // A zero, negative or fractional capacity must not turn the write offset into NaN.
    this.capacity = Number.isFinite(capacity) && capacity > 0 ? Math.floor(capacity) : 0;
    // Not zero-filled (that was most of the ring's cost at stream start): read() only returns written bytes.
    this.buf = Buffer.allocUnsafeSlow(this.capacity);
  }

  push(pcm: Buffer): void {
    if (this.capacity === 0 || pcm.length === 0) return;
    let src = pcm;
    if (src.length >= this.capacity) src = src.subarray(src.length - this.capacity);
    const first = Math.min(src.length, this.capacity - this.write);
    src.copy(this.buf, this.write, 0, first);
    if (first < src.length) src.copy(this.buf, 0, first);
    this.write = (this.write + src.length) % this.capacity;
    this.filled = Math.min(this.capacity, this.filled + src.length);
  }

  /** The buffered audio, oldest first (a copy). */
  read(): Buffer {
    if (this.filled < this.capacity) return Buffer.from(this.buf.subarray(0, this.filled));
    return Buffer.concat([this.buf.subarray(this.write), this.buf.subarray(0, this.write)]);
  }

  get length(): number {
    return this.filled;
  }
}

/** A 44-byte RIFF header for PCM s16le mono at `sampleRate`. */
export function wavHeader(dataBytes: number, sampleRate = 16_000): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVE', 8);
  h.write('fmt ', 12);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(dataBytes, 40);
  return h;
}
