import { createHmac, createSecretKey } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { CoreTokenService, GLASSES_WS_AUDIENCE } from '../auth/core-token.service.js';
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

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly coreTokens: CoreTokenService,
  ) {
    const linkKey = createHmac('sha256', config.jwtSecret).update('mentra-simulator-link-v1').digest('hex');
    this.links = new JwtService({
      secret: createSecretKey(Buffer.from(linkKey)),
      signOptions: { algorithm: 'HS256' },
      verifyOptions: { algorithms: ['HS256'], audience: AUDIENCE },
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

  /**
   * A core token for the link's user, good for the /glasses-ws upgrade only (its audience) and short-lived:
   * SIMULATOR_TOKEN_TTL_SECONDS, never past the link. The simulator asks for a new one at every connect.
   */
  coreToken(link: SimulatorLink): string {
    const left = link.exp - Math.floor(Date.now() / 1000);
    const ttlSeconds = Math.max(1, Math.min(this.config.simulatorTokenTtlSeconds, left));
    return this.coreTokens.sign(link.userId, { audience: GLASSES_WS_AUDIENCE, ttlSeconds });
  }
}
