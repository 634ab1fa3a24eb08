import { describe, expect, it } from 'vitest';
import { LruCache } from './lru-cache.js';

describe('LruCache', () => {
  it('evicts the least recently used entry past the entry limit', () => {
    const cache = new LruCache<string>(2, 1_000, (v) => v.length);
    cache.set('a', 'A');
    cache.set('b', 'B');
    expect(cache.get('a')).toBe('A'); // a is now the most recent
    cache.set('c', 'C');
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe('A');
    expect(cache.get('c')).toBe('C');
  });

  it('evicts by total bytes, skips items larger than the budget, and tracks replacements', () => {
    const cache = new LruCache<string>(10, 10, (v) => v.length);
    cache.set('a', 'aaaa');
    cache.set('b', 'bbbb');
    cache.set('c', 'cccc');
    expect(cache.get('a')).toBeUndefined();
    expect(cache.bytes).toBe(8);
    cache.set('huge', 'x'.repeat(11));
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.size).toBe(2);
    cache.set('b', 'b');
    expect(cache.bytes).toBe(5);
    cache.delete('b');
    cache.delete('missing');
    expect(cache.bytes).toBe(4);
  });
});
