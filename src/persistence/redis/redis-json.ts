/**
 * Records are kept as one JSON document each, so a field added to a record later needs no Redis code. JSON
 * has no Date, and every store must give Dates back as Dates: a Date is written as `{"$date": "<ISO>"}`.
 * That shape cannot be confused with stored data, because assertStorable refuses object keys starting with
 * `$` in everything written to a store (simple-storage keys are field values, never object keys).
 */

export function encodeDocument(doc: object): string {
  // The replacer sees Date.toJSON's string; `this[key]` is still the Date itself.
  return JSON.stringify(doc, function (this: Record<string, unknown>, key: string, value: unknown) {
    const raw = this[key];
    return raw instanceof Date ? { $date: raw.toISOString() } : value;
  });
}

export function decodeDocument<T>(json: string): T {
  return JSON.parse(json, (_key, value: unknown) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const date = (value as { $date?: unknown }).$date;
      if (typeof date === 'string' && Object.keys(value).length === 1) return new Date(date);
    }
    return value;
  }) as T;
}
