/**
 * Input guards shared by both stores. Every userId/packageName reaches a query as a plain value, so one that
 * is not a string (say `{ $gt: '' }` from a JSON body) must never get that far: in nedb and MongoDB an
 * object there is read as an operator and would match other people's records.
 */

/** Throws a TypeError unless `value` is a non-empty string. */
export function assertKey(value: unknown, name: 'userId' | 'packageName'): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`${name} must be a non-empty string`);
  }
}

/**
 * Throws a TypeError unless `value` is plain data both stores can keep as-is: JSON-like values and Dates, with
 * no object key that starts with `$` or contains `.` (nedb refuses those and MongoDB reads them as operators
 * or paths) and no `__proto__` key (a copy made by assignment would swap the prototype instead).
 * Checking up front gives the same TypeError from both stores instead of two different failures.
 */
export function assertStorable(value: unknown, path = 'value'): void {
  if (value === null || value === undefined) return;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${path} must be a finite number`);
      return;
    case 'object':
      break;
    default:
      throw new TypeError(`${path} has an unsupported type (${typeof value})`);
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new TypeError(`${path} is an invalid Date`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => assertStorable(item, `${path}[${i}]`));
    return;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw new TypeError(`${path} must be a plain object`);
  for (const [key, item] of Object.entries(value)) {
    if (key.startsWith('$') || key.includes('.') || key === '__proto__') {
      throw new TypeError(`${path} has a key that cannot be stored: ${JSON.stringify(key)}`);
    }
    assertStorable(item, `${path}.${key}`);
  }
}
