const MAX_AUTH_HEADER = 2048;

/** The token of `Authorization: Bearer <token>`, or null. */
export function bearerToken(header: unknown): string | null {
  if (typeof header !== 'string' || header.length > MAX_AUTH_HEADER) return null;
  const match = /^Bearer +(\S+)$/i.exec(header.trim());
  return match ? match[1]! : null;
}
