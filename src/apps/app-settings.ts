import type { AppSettingSchemaEntry, SettingValue } from '../persistence/persistence.types.js';

/**
 * The settings list an app receives: schema entries (groups left out) with `value` = the user's value,
 * else the schema default. Upstream sent the raw schema, so `settings.get(key)` gave undefined.
 */
export function mergeSettings(
  schema: AppSettingSchemaEntry[],
  userValues: SettingValue[] | undefined,
): Array<AppSettingSchemaEntry & SettingValue> {
  const byKey = new Map((userValues ?? []).map((s) => [s.key, s.value]));
  const out: Array<AppSettingSchemaEntry & SettingValue> = [];
  for (const entry of schema) {
    if (entry.type === 'group' || typeof entry.key !== 'string') continue;
    out.push({ ...entry, key: entry.key, value: byKey.has(entry.key) ? byKey.get(entry.key) : entry.defaultValue });
  }
  return out;
}
