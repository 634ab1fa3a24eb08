import { describe, expect, it } from 'vitest';
import { toLibreCode, toLocale } from './locale-codes.js';

describe('locale ↔ LibreTranslate codes', () => {
  it('maps locales to two-letter codes, with Traditional Chinese as zt and all/auto as auto', () => {
    expect(['en-US', 'es-ES', 'pt-BR', 'zh-CN', 'zh-TW', 'fr', 'all', 'auto'].map(toLibreCode)).toEqual([
      'en',
      'es',
      'pt',
      'zh',
      'zt',
      'fr',
      'auto',
      'auto',
    ]);
  });
  it('maps detected codes back to the locale an app asked for when there is one', () => {
    expect(toLocale('es', ['en-US', 'es-MX'])).toBe('es-MX');
    expect(toLocale('zt')).toBe('zh-TW');
    expect(toLocale('de', ['en-US'])).toBe('de');
  });
});
