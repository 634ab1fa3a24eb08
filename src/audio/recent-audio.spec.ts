import { describe, expect, it } from 'vitest';
import { RecentAudio, wavHeader } from './recent-audio.js';

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bytes(from: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (from + i) & 0xff;
  return b;
}

describe('RecentAudio', () => {
  it('is empty before any push', () => {
    const r = new RecentAudio(10);
    expect(r.length).toBe(0);
    expect(r.read()).toEqual(Buffer.alloc(0));
  });

  it('returns everything pushed while below capacity, in order', () => {
    const r = new RecentAudio(10);
    r.push(bytes(0, 3));
    r.push(bytes(3, 4));
    expect(r.length).toBe(7);
    expect([...r.read()]).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('wraps around: only the last `capacity` bytes, oldest first', () => {
    const r = new RecentAudio(10);
    r.push(bytes(0, 7));
    r.push(bytes(7, 7)); // 0..13: the ring wrapped once, mid-push
    expect(r.length).toBe(10);
    expect([...r.read()]).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    r.push(bytes(14, 3));
    expect([...r.read()]).toEqual([7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
  });

  it('a push exactly filling the ring, then exactly its size again', () => {
    const r = new RecentAudio(8);
    r.push(bytes(0, 8));
    expect([...r.read()]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    r.push(bytes(8, 8));
    expect([...r.read()]).toEqual([8, 9, 10, 11, 12, 13, 14, 15]);
  });

  it('an oversized push keeps its last `capacity` bytes, from any write position', () => {
    const r = new RecentAudio(10);
    r.push(bytes(100, 3));
    r.push(bytes(0, 25));
    expect(r.length).toBe(10);
    expect([...r.read()]).toEqual([15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
    r.push(bytes(50, 4));
    expect([...r.read()]).toEqual([19, 20, 21, 22, 23, 24, 50, 51, 52, 53]);
  });

  it('read returns a copy: later pushes do not change it', () => {
    const r = new RecentAudio(4);
    r.push(bytes(0, 4));
    const snap = r.read();
    r.push(bytes(10, 4));
    expect([...snap]).toEqual([0, 1, 2, 3]);
  });

  it('always holds exactly the last N bytes in order across many random pushes (seeded)', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rand = rng(seed);
      const capacity = 1 + Math.floor(rand() * 500);
      const r = new RecentAudio(capacity);
      const chunks: Buffer[] = [];
      let counter = 0;
      for (let i = 0; i < 200; i++) {
        const n = rand() < 0.05 ? Math.floor(rand() * capacity * 3) : Math.floor(rand() * capacity * 0.7);
        const chunk = Buffer.alloc(n);
        for (let j = 0; j < n; j++) chunk[j] = (counter++ * 13) & 0xff;
        chunks.push(chunk);
        r.push(chunk);
        const all = Buffer.concat(chunks);
        const expected = all.subarray(Math.max(0, all.length - capacity));
        expect(r.length, `seed ${seed} push ${i}`).toBe(expected.length);
        expect(r.read().equals(expected), `seed ${seed} push ${i}`).toBe(true);
      }
    }
  });

  it('a zero capacity keeps nothing and never breaks', () => {
    const r = new RecentAudio(0);
    r.push(bytes(0, 10));
    r.push(Buffer.alloc(0));
    expect(r.length).toBe(0);
    expect(r.read()).toEqual(Buffer.alloc(0));
    const neg = new RecentAudio(-5);
    neg.push(bytes(0, 3));
    expect(neg.capacity).toBe(0);
    expect(neg.read().length).toBe(0);
  });

  it('a fractional capacity is rounded down', () => {
    const r = new RecentAudio(4.7);
    expect(r.capacity).toBe(4);
    r.push(bytes(0, 6));
    expect([...r.read()]).toEqual([2, 3, 4, 5]);
  });
});

describe('wavHeader', () => {
  it('is a 44-byte RIFF/WAVE PCM s16le mono header', () => {
    const h = wavHeader(6400);
    expect(h.length).toBe(44);
    expect(h.subarray(0, 4).toString()).toBe('RIFF');
    expect(h.readUInt32LE(4)).toBe(36 + 6400);
    expect(h.subarray(8, 16).toString()).toBe('WAVEfmt ');
    expect(h.readUInt16LE(20)).toBe(1); // PCM
    expect(h.readUInt16LE(22)).toBe(1); // mono
    expect(h.readUInt32LE(24)).toBe(16_000);
    expect(h.readUInt32LE(28)).toBe(32_000);
    expect(h.readUInt16LE(32)).toBe(2);
    expect(h.readUInt16LE(34)).toBe(16);
    expect(h.subarray(36, 40).toString()).toBe('data');
    expect(h.readUInt32LE(40)).toBe(6400);
  });
});
