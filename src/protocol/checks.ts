import type { TypedMessage } from '../common/json.util.js';

/**
 * Small helpers of the boundary checks. A check reads the parsed message once; an optional field the cloud
 * ignores when it has the wrong type is set to `undefined` in place (no copy), so the typed message a manager
 * receives never holds a value of another type than declared. The relay never sees these objects: it forwards
 * the frame's text.
 */
export type Fields = Record<string, unknown>;

export const isString = (v: unknown, min = 0, max = Infinity): v is string =>
  typeof v === 'string' && v.length >= min && v.length <= max;

export const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export const isPlainObject = (v: unknown): v is Fields => v !== null && typeof v === 'object' && !Array.isArray(v);

export const isOneOf = <T extends string>(list: readonly T[], v: unknown): v is T =>
  typeof v === 'string' && (list as readonly string[]).includes(v);

/** Sets `msg[key]` to undefined unless it is absent or passes `keep`. */
export function dropUnless(msg: TypedMessage, key: string, keep: (v: unknown) => boolean): void {
  const v = msg[key];
  if (v !== undefined && !keep(v)) msg[key] = undefined;
}

export const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
export const isNumber = (v: unknown): v is number => typeof v === 'number';
export const isAnyString = (v: unknown): v is string => typeof v === 'string';
