import { HttpException, HttpStatus } from '@nestjs/common';
import type { SessionRegistry } from '../session/session-registry.js';
import type { UserSession } from '../session/user-session.js';

/**
 * The user's live session, or 503 `NO_ACTIVE_SESSION`: the routes that act on a session need the glasses
 * socket open (or in its grace period). The phone app answers this error by reconnecting its socket and
 * retrying the request once.
 */
export function liveSession(registry: SessionRegistry, userId: string): UserSession {
  const session = registry.get(userId);
  if (session) return session;
  throw noActiveSession(userId);
}

/** The phone's 503 `NO_ACTIVE_SESSION`. */
export function noActiveSession(userId: string): HttpException {
  return new HttpException(
    {
      statusCode: HttpStatus.SERVICE_UNAVAILABLE,
      code: 'NO_ACTIVE_SESSION',
      error: 'NO_ACTIVE_SESSION',
      message: `No live session for ${userId}: connect the glasses socket (/glasses-ws) first`,
    },
    HttpStatus.SERVICE_UNAVAILABLE,
  );
}
