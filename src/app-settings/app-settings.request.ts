import { BadRequestException, UnauthorizedException } from '@nestjs/common';
import { findUnsafeKeys } from '../admin/unsafe-keys.interceptor.js';
import { bearerToken } from '../auth/bearer-token.js';
import { normalizeUserId } from '../common/user-id.js';
import { userIdFromAppSessionId } from '../common/app-session-id.js';
import type { SettingValue } from '../persistence/persistence.types.js';

export { bearerToken };

/**
 * `session.settings.fetch()` sends `Bearer <userId>-<packageName>` (the app session id): the
 * user is what remains after stripping the known suffix, so emails containing `-` work. Any of the given
 * package names may be the suffix (the path's, and the one it resolves to).
 */
export function userIdFromSettingsBearer(header: unknown, packageNames: string[]): string {
  const token = bearerToken(header);
  for (const packageName of packageNames) {
    const userId = token ? userIdFromAppSessionId(token, packageName) : null;
    if (userId) return normalizeUserId(userId);
  }
  throw new UnauthorizedException({
    statusCode: 401,
    code: 'UNAUTHORIZED',
    message: 'Authorization must be "Bearer <userId>-<packageName>" (the app session id)',
  });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * The phone's `POST /appsettings/:packageName` body: an array of `{key, value}`, `{settings:
 * [...]}`, or one `{key, value}`. Nothing is assigned by user key, and `__proto__`/`constructor`/`prototype`
 * keys or absurd nesting anywhere are refused outright.
 */
export function parsePhoneSettingsBody(body: unknown): SettingValue[] {
  const unsafe = findUnsafeKeys(body);
  if (unsafe.length > 0) throw new BadRequestException({ statusCode: 400, code: 'BAD_REQUEST', message: unsafe });
  const list = Array.isArray(body)
    ? body
    : isPlainObject(body) && Array.isArray(body.settings)
      ? body.settings
      : isPlainObject(body) && 'key' in body
        ? [body]
        : null;
  if (!list) {
    throw new BadRequestException({
      statusCode: 400,
      code: 'BAD_REQUEST',
      message: 'The body must be [{key, value}, …], {settings: [{key, value}, …]} or {key, value}',
    });
  }
  return list.map((item: unknown, i): SettingValue => {
    if (!isPlainObject(item) || typeof item.key !== 'string' || item.key.length === 0 || item.key.length > 128) {
      throw new BadRequestException({
        statusCode: 400,
        code: 'BAD_REQUEST',
        message: `settings[${i}] needs a key of 1 to 128 characters`,
      });
    }
    if (!Object.prototype.hasOwnProperty.call(item, 'value')) {
      throw new BadRequestException({
        statusCode: 400,
        code: 'BAD_REQUEST',
        message: `settings[${i}] (${JSON.stringify(item.key)}) needs a value`,
      });
    }
    return { key: item.key, value: item.value };
  });
}
