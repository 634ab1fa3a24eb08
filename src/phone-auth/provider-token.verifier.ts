import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import { createSecretKey, type KeyObject } from 'node:crypto';
import { CloudError } from '../common/cloud-error.js';
import type { PhoneAuthConfig } from '../config/config.types.js';

/** Asymmetric algorithms a JWKS key may sign with; never HS* (the public key is no secret) and never `none`. */
const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const HS_ALGS = ['HS256'];
/** Phones' and providers' clocks drift a little; an expiry older than this is refused. */
const CLOCK_TOLERANCE_S = 10;
/** A provider that stalls must not hold a sign-in (or a socket of ours) for long. */
const JWKS_TIMEOUT_MS = 5_000;

export type RejectReason =
  'malformed' | 'algorithm' | 'signature' | 'issuer' | 'audience' | 'not_yet_valid' | 'no_matching_key' | 'claims';

function reject(reason: RejectReason, message: string): CloudError {
  return new CloudError('INVALID_TOKEN', message, { reason });
}

/**
 * Verifies the identity provider's token the phone sends to `POST /auth/exchange-token`. The algorithm decides
 * the key: HS256 → SUPABASE_JWT_SECRET, an asymmetric algorithm → the JWKS (fetched and cached by jose: refetched
 * at most every 30 s for an unknown `kid`, so unauthenticated callers cannot make us hammer the provider).
 * Throws CloudError: INVALID_TOKEN (with `details.reason`), TOKEN_EXPIRED, PROVIDER_UNAVAILABLE.
 */
export class ProviderTokenVerifier {
  private readonly secret?: KeyObject;
  private readonly jwks?: JWTVerifyGetKey;
  private readonly claimChecks: Pick<JWTVerifyOptions, 'issuer' | 'audience' | 'clockTolerance'>;

  constructor(config: PhoneAuthConfig) {
    if (config.hsSecret) this.secret = createSecretKey(Buffer.from(config.hsSecret, 'utf8'));
    if (config.jwksUrl) this.jwks = guardedJwks(new URL(config.jwksUrl));
    this.claimChecks = {
      clockTolerance: CLOCK_TOLERANCE_S,
      ...(config.issuer ? { issuer: config.issuer } : {}),
      ...(config.audience ? { audience: config.audience } : {}),
    };
  }

  /** False when neither SUPABASE_JWT_SECRET nor PHONE_AUTH_JWKS_URL is set: nothing can be verified. */
  get configured(): boolean {
    return Boolean(this.secret || this.jwks);
  }

  async verify(token: string): Promise<JWTPayload> {
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw reject('malformed', 'The token is not a JWT');
    }
    if (typeof alg !== 'string') throw reject('malformed', 'The token has no algorithm');
    try {
      if (HS_ALGS.includes(alg) && this.secret) {
        return (await jwtVerify(token, this.secret, { ...this.claimChecks, algorithms: HS_ALGS })).payload;
      }
      if (ASYMMETRIC_ALGS.includes(alg) && this.jwks) {
        return (await jwtVerify(token, this.jwks, { ...this.claimChecks, algorithms: ASYMMETRIC_ALGS })).payload;
      }
    } catch (err) {
      throw mapError(err);
    }
    throw reject('algorithm', `Tokens signed with ${alg.slice(0, 16)} are not accepted here`);
  }
}

class ProviderUnavailable extends Error {}

/**
 * jose's remote set both fetches and picks a key; only the fetch failing (network, timeout, a non-200, a body that
 * is no key set) means the provider is unavailable, every other error is about the token.
 */
function guardedJwks(url: URL): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(url, { timeoutDuration: JWKS_TIMEOUT_MS });
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (err) {
      const fetchFailed =
        !(err instanceof errors.JOSEError) ||
        err instanceof errors.JWKSTimeout ||
        err instanceof errors.JWKSInvalid ||
        err.code === errors.JOSEError.code;
      if (fetchFailed) throw new ProviderUnavailable((err as Error).message);
      throw err;
    }
  };
}

function mapError(err: unknown): CloudError {
  if (err instanceof ProviderUnavailable) {
    return new CloudError('PROVIDER_UNAVAILABLE', `The identity provider's keys could not be fetched: ${err.message}`);
  }
  if (err instanceof errors.JWTExpired) return new CloudError('TOKEN_EXPIRED', 'The token has expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return reject('issuer', 'The token was issued by another issuer');
    if (err.claim === 'aud') return reject('audience', 'The token is meant for another audience');
    if (err.claim === 'nbf' || err.claim === 'iat') return reject('not_yet_valid', 'The token is not valid yet');
    return reject('claims', `The token's ${err.claim} claim is invalid`);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return reject('signature', 'The token signature is invalid');
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return reject('algorithm', 'The token algorithm is not accepted here');
  }
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return reject('no_matching_key', "No key of the identity provider's key set matches the token");
  }
  return reject('malformed', 'The token is malformed');
}
