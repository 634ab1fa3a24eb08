import { createHmac, createSecretKey } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';

export interface SimulatorLink {
  userId: string;
  model: string;
  /** Seconds since the epoch. */
  exp: number;
}

const AUDIENCE = 'mentra-simulator-link';

/**
 * Short-lived links to the web simulator for one user (`/simulator#link=…`): an HS256 JWT under a
 * key derived from the JWT secret, so a link is never a core token and a core token is never a link.
 */
@Injectable()
export class SimulatorLinkService {
  private readonly links: JwtService;
  private readonly coreTokens: JwtService;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    const linkKey = createHmac('sha256', config.jwtSecret).update('mentra-simulator-link-v1').digest('hex');
    this.links = new JwtService({
      secret: createSecretKey(Buffer.from(linkKey)),
      signOptions: { algorithm: 'HS256' },
      verifyOptions: { algorithms: ['HS256'], audience: AUDIENCE },
    });
    this.coreTokens = new JwtService({
      secret: createSecretKey(Buffer.from(config.jwtSecret)),
      signOptions: { algorithm: 'HS256' },
    });
  }

  sign(userId: string, model: string, ttlSeconds: number): { token: string; expiresAt: Date } {
    const exp = Math.floor(Date.now() / 1000) + ttlSeconds;
    const token = this.links.sign({ sub: userId, model, aud: AUDIENCE, exp });
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /** The link's claims, or null when it is forged, expired or not a link. */
  verify(token: string): SimulatorLink | null {
    if (!token || token.length > 4096) return null;
    try {
      const p = this.links.verify<{ sub?: unknown; model?: unknown; exp?: unknown }>(token);
      if (typeof p.sub !== 'string' || !p.sub || typeof p.exp !== 'number') return null;
      return { userId: p.sub, model: typeof p.model === 'string' ? p.model : 'Even Realities G1', exp: p.exp };
    } catch {
      return null;
    }
  }

  /** A core token for the link's user that expires with the link (the gateway checks `exp`). */
  coreToken(link: SimulatorLink): string {
    return this.coreTokens.sign({ email: link.userId, sub: link.userId, exp: link.exp });
  }
}
