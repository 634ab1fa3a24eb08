export type JsonObject = Record<string, unknown>;
export type TypedMessage = JsonObject & { type: string };

export type ParseResult = { ok: true; msg: TypedMessage } | { ok: false; reason: string };

/** Parses a frame that must be a JSON object with a non-empty string `type`. */
export function parseTypedMessage(text: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `Malformed JSON: ${(err as Error).message.slice(0, 120)}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, reason: 'A message must be a JSON object' };
  }
  const type = (value as JsonObject).type;
  if (typeof type !== 'string' || type.length === 0 || type.length > 128) {
    return { ok: false, reason: 'A message needs a string "type"' };
  }
  return { ok: true, msg: value as TypedMessage };
}

export function isNonEmptyString(v: unknown, max = 1024): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= max;
}
