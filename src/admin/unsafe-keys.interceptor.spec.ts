import { describe, expect, it } from 'vitest';
import { findUnsafeKeys, MAX_BODY_DEPTH } from './unsafe-keys.interceptor.js';

describe('findUnsafeKeys', () => {
  it('finds own __proto__, constructor and prototype keys at any depth, with their paths', () => {
    const body = JSON.parse('{"a":1,"__proto__":{"x":1},"list":[{"constructor":{"prototype":{}}}],"ok":{"proto":1}}');
    expect(findUnsafeKeys(body).sort()).toEqual([
      'property __proto__ should not exist',
      'property list[0].constructor should not exist',
      'property list[0].constructor.prototype should not exist',
    ]);
  });

  it('accepts ordinary bodies and non-objects', () => {
    for (const body of [
      undefined,
      null,
      1,
      'x',
      [],
      {},
      { name: 'n', settings: [{ type: 't', defaultValue: { a: [1, 2] } }] },
    ]) {
      expect(findUnsafeKeys(body)).toEqual([]);
    }
  });

  it('refuses nesting deeper than MAX_BODY_DEPTH without recursing', () => {
    const at = (depth: number): unknown => JSON.parse('['.repeat(depth) + ']'.repeat(depth));
    expect(findUnsafeKeys(at(MAX_BODY_DEPTH))).toEqual([]);
    expect(findUnsafeKeys(at(MAX_BODY_DEPTH + 1))).toEqual([expect.stringMatching(/deeper than 32/)]);
    expect(findUnsafeKeys(at(500_000))).toHaveLength(1);
  });
});
