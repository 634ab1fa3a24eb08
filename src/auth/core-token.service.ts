import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { createSecretKey } from 'node:crypto';
import { ClusterBus } from '../cluster/cluster-bus.js';
import { errorMessage } from '../common/cloud-error.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { TOKEN_VERSION_STORE, type TokenVersionStore } from './token-version.store.js';
import { normalizeUserId } from '../common/user-id.js';

export type TokenCheck = { ok: true; userId: string; version: number } | { ok: false; message: string };

const MAX_TOKEN_LENGTH = 8192;

/** The audience of core tokens good for the glasses upgrade only (simulator links hand these out). */
export const GLASSES_WS_AUDIENCE = 'glasses-ws';
export type CoreTokenAudience = typeof GLASSES_WS_AUDIENCE;

export interface MintOptions {
  /** Lifetime; CORE_TOKEN_TTL_SECONDS when not given. */
  ttlSeconds?: number;
  /** Limits the token to one use: it is accepted only where that audience is asked for. */
  audience?: CoreTokenAudience;
}

export interface VerifyOptions {
  /** The use being authenticated; a token with an `aud` claim is accepted only for its own audience. */
  audience?: CoreTokenAudience;
}

/** Close code and reason of the glasses sockets of a user whose tokens were revoked. */
export const TOKEN_REVOKED_CLOSE = { code: 4001, reason: 'token revoked' } as const;

export type RevocationListener = (userId: string, minimumVersion: number) => void;

/**
 * Core tokens: HS256 JWTs whose `email` claim is the userId. Only HS256 is
 * accepted, so `alg: none` and algorithm-confusion tokens fail verification.
 *
 * Every token this cloud mints comes from `sign` and carries `exp` and `tv`, its version: the time it was minted
 * in milliseconds. Revoking raises the user's minimum version to the revocation time, which refuses every token
 * minted before it (and every token without `tv`, which counts as 0), without a store read when minting.
 */
@Injectable()
export class CoreTokenService {
  private readonly jwt: JwtService;
  private readonly listeners: RevocationListener[] = [];

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(TOKEN_VERSION_STORE) private readonly versions: TokenVersionStore,
    @Optional() private readonly bus?: ClusterBus,
  ) {
    // Clustered, the revoked user's sockets may be on any process: each closes its own (the version itself is
    // already in the shared store, so every process refuses the old tokens at their next use).
    bus?.on('token.revoked', ({ userId, minimumVersion }, from) => {
      if (from !== bus.nodeId) this.notify(userId, minimumVersion);
    });
    // A KeyObject made once: given a string, jsonwebtoken first tries (and fails) to parse it as a public
    // key on every verify, which was the largest CPU cost of a glasses connection.
    this.jwt = new JwtService({
      secret: createSecretKey(Buffer.from(config.jwtSecret)),
      signOptions: { algorithm: 'HS256' },
      verifyOptions: { algorithms: ['HS256'] },
    });
  }

  /** The one place core tokens are minted: expiry and version are added here. */
  sign(userId: string, options: MintOptions = {}): string {
    const now = Date.now();
    const ttl = options.ttlSeconds ?? this.config.coreTokenTtlSeconds;
    return this.jwt.sign({
      email: userId,
      sub: userId,
      tv: now,
      exp: Math.floor(now / 1000) + ttl,
      ...(options.audience ? { aud: options.audience } : {}),
    });
  }

  /** When a token minted by `sign` expires. */
  expiresAt(token: string): Date {
    const exp = this.jwt.decode<{ exp?: unknown } | null>(token)?.exp;
    return new Date(typeof exp === 'number' ? exp * 1000 : 0);
  }

  /** Signature, expiry and audience; not the version (see `check`). */
  verify(token: string | undefined | null, options: VerifyOptions = {}): TokenCheck {
    if (!token) return { ok: false, message: 'No core token provided' };
    if (token.length > MAX_TOKEN_LENGTH) return { ok: false, message: 'Invalid core token' };
    let payload: Record<string, unknown>;
    try {
      payload = this.jwt.verify<Record<string, unknown>>(token);
    } catch {
      return { ok: false, message: 'Invalid core token' };
    }
    if (payload.aud !== undefined && payload.aud !== options.audience)
      return { ok: false, message: 'This core token is not valid here' };
    const email = payload.email;
    if (typeof email !== 'string' || email.trim() === '' || email.length > 320)
      return { ok: false, message: 'Invalid core token - no user ID' };
    const tv = payload.tv;
    if (tv !== undefined && (typeof tv !== 'number' || !Number.isFinite(tv) || tv < 0))
      return { ok: false, message: 'Invalid core token' };
    return { ok: true, userId: normalizeUserId(email), version: tv ?? 0 };
  }

  /** `verify` plus the user's token version: what every use of a core token goes through. */
  async check(token: string | undefined | null, options: VerifyOptions = {}): Promise<TokenCheck> {
    const result = this.verify(token, options);
    if (!result.ok) return result;
    return this.current(result);
  }

  /** Whether a verified token is still at or above its user's minimum version. */
  async current(result: { ok: true; userId: string; version: number }): Promise<TokenCheck> {
    const minimum = await this.versions.minimum(result.userId);
    return result.version >= minimum ? result : { ok: false, message: 'Core token revoked' };
  }

  /**
   * Refuses every core token of the user minted until now; listeners (the glasses gateway) close that user's
   * sockets. Returns the new minimum version.
   */
  async revoke(userId: string): Promise<number> {
    // +1: a token minted in the same millisecond, before this call, must not survive it.
    const minimum = await this.versions.raise(userId, Date.now() + 1);
    this.notify(userId, minimum);
    await this.bus
      ?.broadcast('token.revoked', { userId, minimumVersion: minimum })
      .catch((err: unknown) =>
        new Logger('CoreTokens').warn(`other processes were not told of ${userId}'s revocation: ${errorMessage(err)}`),
      );
    return minimum;
  }

  onRevoked(listener: RevocationListener): void {
    this.listeners.push(listener);
  }

  private notify(userId: string, minimum: number): void {
    for (const listener of this.listeners) listener(userId, minimum);
  }
}

/** User ids are emails, compared lower-cased (as the newest upstream does). */
