/**
 * A small LRU bounded by entry count and total bytes (a Map keeps insertion order; a hit is re-inserted
 * at the end, eviction takes from the front). Enough for a cache of synthesized audio; no TTL needed, as
 * the same text and voice always give the same audio.
 */
export class LruCache<V> {
  private readonly map = new Map<string, { value: V; bytes: number }>();
  private totalBytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
    private readonly sizeOf: (value: V) => number,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get(key: string): V | undefined {
    const hit = this.map.get(key);
    if (!hit) return undefined;
    this.map.delete(key);
    this.map.set(key, hit);
    return hit.value;
  }

  /** An item larger than the whole budget is not cached at all (it would only evict everything else). */
  set(key: string, value: V): void {
    const bytes = this.sizeOf(value);
    this.delete(key);
    if (bytes > this.maxBytes || this.maxEntries <= 0) return;
    this.map.set(key, { value, bytes });
    this.totalBytes += bytes;
    for (const [oldest, entry] of this.map) {
      if (this.map.size <= this.maxEntries && this.totalBytes <= this.maxBytes) break;
      this.map.delete(oldest);
      this.totalBytes -= entry.bytes;
    }
  }

  delete(key: string): void {
    const old = this.map.get(key);
    if (!old) return;
    this.map.delete(key);
    this.totalBytes -= old.bytes;
  }
}
