import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { createSecretKey } from 'node:crypto';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';

export type TokenCheck = { ok: true; userId: string } | { ok: false; message: string };

const MAX_TOKEN_LENGTH = 8192;

/**
 * Core tokens: HS256 JWTs whose `email` claim is the userId (glasses.md §1.2). Only HS256 is
 * accepted, so `alg: none` and algorithm-confusion tokens fail verification.
 */
@Injectable()
export class CoreTokenService {
  private readonly jwt: JwtService;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    // A KeyObject made once: given a string, jsonwebtoken first tries (and fails) to parse it as a public
    // key on every verify, which was the largest CPU cost of a glasses connection.
    this.jwt = new JwtService({
      secret: createSecretKey(Buffer.from(config.jwtSecret)),
      signOptions: { algorithm: 'HS256' },
      verifyOptions: { algorithms: ['HS256'] },
    });
  }

  sign(userId: string): string {
    return this.jwt.sign({ email: userId, sub: userId });
  }

  verify(token: string | undefined | null): TokenCheck {
    if (!token) return { ok: false, message: 'No core token provided' };
    if (token.length > MAX_TOKEN_LENGTH) return { ok: false, message: 'Invalid core token' };
    let payload: Record<string, unknown>;
    try {
      payload = this.jwt.verify<Record<string, unknown>>(token);
    } catch {
      return { ok: false, message: 'Invalid core token' };
    }
    const email = payload.email;
    if (typeof email !== 'string' || email.trim() === '' || email.length > 320)
      return { ok: false, message: 'Invalid core token - no user ID' };
    return { ok: true, userId: normalizeUserId(email) };
  }
}

/** User ids are emails, compared lower-cased (as the newest upstream does). */
export function normalizeUserId(email: string): string {
  return email.trim().toLowerCase();
}
