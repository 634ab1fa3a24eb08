import { describe, expect, it } from 'vitest';
import { LazyMap, LazySet } from './lazy-collections.js';

describe('LazyMap', () => {
  it('behaves like a Map: insertion order, overwrite, delete, size and every iterator', () => {
    const m = new LazyMap<string, number>();
    expect(m.size).toBe(0);
    expect(m.get('a')).toBeUndefined();
    expect(m.has('a')).toBe(false);
    expect([...m]).toEqual([]);
    expect(m.delete('a')).toBe(false);
    m.set('b', 1).set('a', 2).set('b', 3);
    expect(m.size).toBe(2);
    expect([...m]).toEqual([
      ['b', 3],
      ['a', 2],
    ]);
    expect([...m.keys()]).toEqual(['b', 'a']);
    expect([...m.values()]).toEqual([3, 2]);
    expect([...m.entries()]).toEqual([...m]);
    const seen: Array<[string, number]> = [];
    m.forEach((v, k) => seen.push([k, v]));
    expect(seen).toEqual([...m]);
    expect(m.delete('b')).toBe(true);
    expect(m.delete('a')).toBe(true);
    expect(m.size).toBe(0);
    m.set('c', 4);
    expect([...m]).toEqual([['c', 4]]);
  });

  it('clear() empties it and ends an iteration in progress, as Map#clear does', () => {
    const m = new LazyMap<number, number>();
    for (let i = 0; i < 5; i++) m.set(i, i);
    const visited: number[] = [];
    for (const [k] of m) {
      visited.push(k);
      m.clear();
    }
    expect(visited).toEqual([0]);
    expect(m.size).toBe(0);
    expect(m.get(1)).toBeUndefined();
  });

  it('deleting entries while iterating visits the rest, as a Map does', () => {
    const m = new LazyMap<number, string>();
    for (let i = 0; i < 4; i++) m.set(i, `v${i}`);
    const visited: number[] = [];
    for (const [k] of m) {
      visited.push(k);
      m.delete(k);
    }
    expect(visited).toEqual([0, 1, 2, 3]);
    expect(m.size).toBe(0);
  });
});

describe('LazySet', () => {
  it('behaves like a Set: insertion order, no duplicates, delete, size, clear', () => {
    const s = new LazySet<string>();
    expect(s.size).toBe(0);
    expect(s.has('x')).toBe(false);
    expect([...s]).toEqual([]);
    expect(s.delete('x')).toBe(false);
    s.add('y').add('x').add('y');
    expect(s.size).toBe(2);
    expect([...s]).toEqual(['y', 'x']);
    expect([...s.values()]).toEqual(['y', 'x']);
    const seen: string[] = [];
    s.forEach((v) => seen.push(v));
    expect(seen).toEqual(['y', 'x']);
    expect(s.delete('y')).toBe(true);
    expect([...s]).toEqual(['x']);
    s.clear();
    expect(s.size).toBe(0);
    s.add('z');
    expect([...s]).toEqual(['z']);
  });
});
