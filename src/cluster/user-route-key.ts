import { createHash } from 'node:crypto';
import { normalizeUserId } from '../common/user-id.js';

/** Characters of the base64url SHA-256 kept: 132 bits, no collision among any realistic number of users. */
export const ROUTE_KEY_LENGTH = 22;

/**
 * What the route key is computed from: the normalised user id with every non-ASCII character dropped, trimmed.
 * nginx's njs lower-cases with older Unicode tables than Node (and without the final-sigma rule), so it could
 * not repeat `toLowerCase` on every email; on ASCII both agree, and the only non-ASCII characters whose lower
 * case is ASCII are U+0130 (i + a dot) and U+212A (k), which cluster.js maps itself. Users whose ids differ
 * only in non-ASCII characters share a key, i.e. a process: routing only, their leases stay apart.
 */
export function routeKeyInput(userId: string): string {
  return normalizeUserId(userId)
    .replace(/[\u0080-\uffff]/g, '')
    .trim();
}

/**
 * The key nginx hashes to route a user to its process (deploy/nginx/cluster.js computes the same from the core
 * token's `email` claim), hashed so that no email appears in URLs or proxy logs and no character needs escaping.
 */
export function userRouteKey(userId: string): string {
  return createHash('sha256').update(routeKeyInput(userId)).digest('base64url').slice(0, ROUTE_KEY_LENGTH);
}

/**
 * The `mentraOSWebsocketUrl` a session_request webhook carries in cluster mode: `<ws base>/u/<key>/app-ws`.
 * The key sits in the path before `/app-ws` because the SDK derives its REST base by stripping a trailing
 * `/app-ws` (simple storage, TTS): those calls go to `<base>/u/<key>/api/...` and reach the same process, while
 * a query string would end up in the middle of every REST path. nginx strips `/u/<key>` before proxying.
 */
export function userAppWsUrl(publicUrl: string, userId: string): string {
  return `${publicUrl.replace(/\/+$/, '').replace(/^http/, 'ws')}/u/${userRouteKey(userId)}/app-ws`;
}
