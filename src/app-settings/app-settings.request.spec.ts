import { BadRequestException, UnauthorizedException } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { bearerToken, parsePhoneSettingsBody, userIdFromSettingsBearer } from './app-settings.request.js';

describe('userIdFromSettingsBearer', () => {
  it('strips the known -<packageName> suffix of the app session id (emails with "-" work)', () => {
    expect(userIdFromSettingsBearer('Bearer alice-smith@example.com-com.example.notes', ['com.example.notes'])).toBe(
      'alice-smith@example.com',
    );
    expect(
      userIdFromSettingsBearer('Bearer Bob@Example.com-com.augmentos.dashboard', [
        'com.augmentos.dashboard',
        'system.augmentos.dashboard',
      ]),
    ).toBe('bob@example.com');
    expect(
      userIdFromSettingsBearer('Bearer bob@example.com-system.augmentos.dashboard', [
        'com.augmentos.dashboard',
        'system.augmentos.dashboard',
      ]),
    ).toBe('bob@example.com');
  });

  it.each([
    undefined,
    '',
    'Bearer alice@example.com',
    'Bearer alice@example.com-com.example.other',
    'Bearer -com.example.notes',
    'alice@example.com-com.example.notes',
  ])('refuses %j with 401', (header) => {
    expect(() => userIdFromSettingsBearer(header, ['com.example.notes'])).toThrow(UnauthorizedException);
  });

  it('bearerToken reads one token', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('Bearer a b')).toBeNull();
    expect(bearerToken('Token abc')).toBeNull();
  });
});

describe('parsePhoneSettingsBody', () => {
  it('takes an array, {settings:[…]} or one {key, value}', () => {
    expect(parsePhoneSettingsBody([{ key: 'a', value: 1 }])).toEqual([{ key: 'a', value: 1 }]);
    expect(parsePhoneSettingsBody({ settings: [{ key: 'a', value: null }] })).toEqual([{ key: 'a', value: null }]);
    expect(parsePhoneSettingsBody({ key: 'a', value: { nested: [1] } })).toEqual([
      { key: 'a', value: { nested: [1] } },
    ]);
  });

  it.each([
    ['an unrelated object', { whatever: 1 }],
    ['a string', 'a'],
    ['an entry without a value', [{ key: 'a' }]],
    ['an entry without a key', [{ value: 1 }]],
    ['a prototype key', JSON.parse('[{"key":"a","value":{"__proto__":{"polluted":true}}}]')],
    ['absurd nesting', [{ key: 'a', value: JSON.parse('['.repeat(100) + ']'.repeat(100)) }]],
  ])('refuses %s with 400', (_what, body) => {
    expect(() => parsePhoneSettingsBody(body)).toThrow(BadRequestException);
  });
});
