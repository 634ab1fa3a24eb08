/**
 * MentraOS speaks locales (`es-ES`), LibreTranslate two-letter codes (`es`) with a few exceptions.
 * Chinese script matters: Traditional is `zt` there.
 */
const SPECIAL: Record<string, string> = { 'zh-TW': 'zt', 'zh-HK': 'zt', 'zh-MO': 'zt' };

export function toLibreCode(locale: string): string {
  if (locale === 'all' || locale === 'auto') return 'auto';
  return SPECIAL[locale] ?? locale.split('-')[0]!.toLowerCase();
}

/** Best-effort reverse mapping for detected languages (`es` → `es-ES` when that is what the app asked for). */
export function toLocale(code: string, preferred: string[] = []): string {
  const match = preferred.find((p) => toLibreCode(p) === code);
  if (match) return match;
  if (code === 'zt') return 'zh-TW';
  return code;
}
