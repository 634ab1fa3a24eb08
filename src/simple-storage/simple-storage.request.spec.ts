import { BadRequestException, PayloadTooLargeException } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { parseStorageBatch, parseStorageKey, parseStorageUserId, toStorageData } from './simple-storage.request.js';

describe('parseStorageBatch', () => {
  it('reads {data:{…}} into entries, keeping prototype- and operator-shaped keys literal', () => {
    const body = JSON.parse('{"data":{"__proto__":"p","$where":"w","a.b":"d","constructor":"c"}}') as unknown;
    const entries = parseStorageBatch(body);
    expect(entries).toEqual([
      { key: '__proto__', value: 'p' },
      { key: '$where', value: 'w' },
      { key: 'a.b', value: 'd' },
      { key: 'constructor', value: 'c' },
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(entries[0])).toBe(Object.prototype);
  });

  it('accepts an empty batch and 100,000-character values', () => {
    expect(parseStorageBatch({ data: {} })).toEqual([]);
    expect(parseStorageBatch({ data: { k: 'x'.repeat(100_000) } })[0]!.value).toHaveLength(100_000);
  });

  it.each([
    ['no body', undefined],
    ['no data', { other: {} }],
    ['data as an array', { data: ['a'] }],
    ['data as a string', { data: 'a' }],
    ['data null', { data: null }],
    ['a number value', { data: { k: 1 } }],
    ['an object value', { data: { k: { $gt: '' } } }],
    ['an empty key', { data: { '': 'v' } }],
    ['a key over 1,024 characters', { data: { ['k'.repeat(1025)]: 'v' } }],
  ])('refuses %s with 400', (_what, body) => {
    expect(() => parseStorageBatch(body)).toThrow(BadRequestException);
  });

  it('refuses a value over 100,000 characters with 413', () => {
    expect(() => parseStorageBatch({ data: { ok: 'x', long: 'y'.repeat(100_001) } })).toThrow(PayloadTooLargeException);
  });
});

describe('toStorageData', () => {
  it('builds the GET data with every key as an own property, __proto__ included', () => {
    const data = toStorageData([
      { key: '__proto__', value: 'p' },
      { key: 'toString', value: 't' },
    ]);
    expect(JSON.stringify({ data })).toBe('{"data":{"__proto__":"p","toString":"t"}}');
    expect(Object.keys(JSON.parse(JSON.stringify(data)) as object)).toEqual(['__proto__', 'toString']);
  });
});

describe('path parameters', () => {
  it('normalizes user ids and refuses ones that cannot be', () => {
    expect(parseStorageUserId(' Alice-Smith@Example.com ')).toBe('alice-smith@example.com');
    for (const bad of ['', 'a b@x', 'a/b@x', '$gt', undefined, ['a@x']])
      expect(() => parseStorageUserId(bad)).toThrow(BadRequestException);
  });

  it('takes keys literally, 1 to 1,024 characters', () => {
    expect(parseStorageKey('$where')).toBe('$where');
    expect(parseStorageKey(' a.b ')).toBe(' a.b ');
    expect(() => parseStorageKey('')).toThrow(BadRequestException);
    expect(() => parseStorageKey('k'.repeat(1025))).toThrow(BadRequestException);
  });
});
