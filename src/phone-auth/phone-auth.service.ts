import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { decodeJwt } from 'jose';
import { CoreTokenService } from '../auth/core-token.service.js';
import { normalizeUserId } from '../common/user-id.js';
import { CloudError } from '../common/cloud-error.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { USER_REPOSITORY, type UserRepository } from '../persistence/persistence.types.js';
import { ProviderTokenVerifier } from './provider-token.verifier.js';

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

/**
 * The phone's sign-in: the identity provider's token in, a core token for the user its `email` claim names out
 * (the user record created on first sign-in). In PHONE_AUTH=dev the token is not verified at all.
 */
@Injectable()
export class PhoneAuthService implements OnApplicationBootstrap {
  private readonly logger = new Logger('PhoneAuth');
  private readonly verifier: ProviderTokenVerifier;
  private readonly dev: boolean;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(USER_REPOSITORY) private readonly users: UserRepository,
    private readonly coreTokens: CoreTokenService,
  ) {
    this.dev = config.phoneAuth.mode === 'dev';
    this.verifier = new ProviderTokenVerifier(config.phoneAuth);
  }

  onApplicationBootstrap(): void {
    if (this.dev) {
      this.logger.warn(
        'PHONE_AUTH=dev: POST /auth/exchange-token signs in ANY email without checking it. For the simulator and local work only; never expose this cloud.',
      );
    } else if (!this.verifier.configured) {
      this.logger.log(
        'Phone sign-in is off (POST /auth/exchange-token answers 501): set SUPABASE_JWT_SECRET or PHONE_AUTH_JWKS_URL',
      );
    }
  }

  async exchange(providerToken: string): Promise<{ coreToken: string }> {
    const email = this.dev ? emailOfDevToken(providerToken) : await this.verifiedEmail(providerToken);
    const userId = normalizeUserId(email);
    await this.users.findOrCreate(userId);
    return { coreToken: this.coreTokens.sign(userId) };
  }

  private async verifiedEmail(token: string): Promise<string> {
    if (!this.verifier.configured) {
      throw new CloudError(
        'NOT_CONFIGURED',
        'Phone sign-in is not configured on this cloud: set SUPABASE_JWT_SECRET (HS256) or PHONE_AUTH_JWKS_URL (asymmetric keys), or PHONE_AUTH=dev for local work',
      );
    }
    return emailClaim((await this.verifier.verify(token)).email);
  }
}

/** Dev mode takes a plain email, or any JWT (signed or not, never checked) and reads its `email` claim. */
function emailOfDevToken(token: string): string {
  if (token.includes('@')) return emailClaim(token);
  let payload: Record<string, unknown>;
  try {
    payload = decodeJwt(token);
  } catch {
    throw new CloudError('INVALID_TOKEN', 'PHONE_AUTH=dev takes an email or a JWT with an email claim', {
      reason: 'malformed',
    });
  }
  return emailClaim(payload.email);
}

function emailClaim(value: unknown): string {
  if (typeof value !== 'string' || !EMAIL.test(value.trim())) {
    throw new CloudError('INVALID_TOKEN', 'The token names no user: it has no email claim', { reason: 'no_email' });
  }
  return value.trim();
}
