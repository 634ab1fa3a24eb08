import { BadRequestException, PayloadTooLargeException } from '@nestjs/common';
import { normalizeUserId } from '../common/user-id.js';
import { USER_ID_PATTERN } from '../admin/dto/user.dto.js';
import { SIMPLE_STORAGE_LIMITS, type SimpleStorageEntry } from '../persistence/simple-storage.types.js';

/** How many problems one 400 lists; a batch can hold thousands of bad keys. */
const MAX_REPORTED = 10;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The `:userId` path parameter (already URL-decoded by the router): an email, compared lower-cased. */
export function parseStorageUserId(raw: unknown): string {
  if (typeof raw !== 'string' || !USER_ID_PATTERN.test(raw.trim())) {
    throw new BadRequestException({ statusCode: 400, code: 'BAD_REQUEST', message: 'userId is not a valid user id' });
  }
  return normalizeUserId(raw);
}

/** The `:key` path parameter: any non-empty string up to the key limit, taken literally. */
export function parseStorageKey(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > SIMPLE_STORAGE_LIMITS.maxKeyChars) {
    throw new BadRequestException({
      statusCode: 400,
      code: 'BAD_REQUEST',
      message: `key must be 1 to ${SIMPLE_STORAGE_LIMITS.maxKeyChars} characters`,
    });
  }
  return raw;
}

/**
 * The PUT body `{data: {key: value, …}}` as a list of entries. Keys are read with Object.entries from the
 * parsed JSON, where `__proto__` is an ordinary own property, and never assigned into another object.
 * Values must be strings of at most 100,000 characters (the SDK's own limit; longer ones → 413), keys
 * non-empty. Any problem refuses the whole batch.
 */
export function parseStorageBatch(body: unknown): SimpleStorageEntry[] {
  const data = isPlainObject(body) ? body.data : undefined;
  if (!isPlainObject(data)) {
    throw new BadRequestException({
      statusCode: 400,
      code: 'BAD_REQUEST',
      message: 'The body must be {"data": {"<key>": "<string value>", …}}',
    });
  }
  const entries = Object.entries(data);
  if (entries.length > SIMPLE_STORAGE_LIMITS.maxKeys) {
    throw new PayloadTooLargeException({
      statusCode: 413,
      code: 'STORAGE_LIMIT_EXCEEDED',
      message: `A batch may hold at most ${SIMPLE_STORAGE_LIMITS.maxKeys} keys`,
    });
  }
  const problems: string[] = [];
  const tooLong: string[] = [];
  for (const [key, value] of entries) {
    if (key.length === 0 || key.length > SIMPLE_STORAGE_LIMITS.maxKeyChars)
      problems.push(
        `key ${JSON.stringify(key.slice(0, 40))} must be 1 to ${SIMPLE_STORAGE_LIMITS.maxKeyChars} characters`,
      );
    else if (typeof value !== 'string') problems.push(`data[${JSON.stringify(key.slice(0, 40))}] must be a string`);
    else if (value.length > SIMPLE_STORAGE_LIMITS.maxValueChars) tooLong.push(key.slice(0, 40));
  }
  if (problems.length > 0)
    throw new BadRequestException({ statusCode: 400, code: 'BAD_REQUEST', message: problems.slice(0, MAX_REPORTED) });
  if (tooLong.length > 0) {
    throw new PayloadTooLargeException({
      statusCode: 413,
      code: 'STORAGE_VALUE_TOO_LARGE',
      message: `Values may hold at most ${SIMPLE_STORAGE_LIMITS.maxValueChars} characters; too long: ${tooLong
        .slice(0, MAX_REPORTED)
        .map((k) => JSON.stringify(k))
        .join(', ')}`,
    });
  }
  return entries.map(([key, value]) => ({ key, value: value as string }));
}

/** The GET answer's `data`: a null-prototype object, so a `__proto__` key is an own property like any other. */
export function toStorageData(entries: readonly SimpleStorageEntry[]): Record<string, string> {
  const data = Object.create(null) as Record<string, string>;
  for (const { key, value } of entries)
    Object.defineProperty(data, key, { value, enumerable: true, writable: true, configurable: true });
  return data;
}
