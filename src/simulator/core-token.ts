import jwt from 'jsonwebtoken';

/**
 * Signs a core token the way `POST /api/auth/exchange-token` does:
 * HS256, the user id in `email`, no `exp` because upstream tokens never expire.
 * `extra` may add or override claims, e.g. `{ organizations: [] }` or `{ email: undefined }`
 * to produce a token the cloud must refuse.
 */
export function signCoreToken(email: string, secret: string, extra: Record<string, unknown> = {}): string {
  if (!secret) {
    // jsonwebtoken's own message ("secretOrPrivateKey must have a value") hides which secret.
    throw new Error('signCoreToken: secret is empty (set AUGMENTOS_AUTH_JWT_SECRET)');
  }
  return jwt.sign({ sub: email, email, ...extra }, secret, { algorithm: 'HS256' });
}
