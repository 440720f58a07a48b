import { timingSafeEqual } from 'node:crypto';
import { errors, jwtVerify, type JWTPayload } from 'jose';
import { SigninError, type SigninFailureReason } from '../signin-errors.js';
import { KeySetUnavailable, type KeyResolver } from './jwks.js';

/** Clock skew tolerated on `exp`, `nbf` and `iat`: at most 5 minutes. */
export const CLOCK_SKEW_SECONDS = 300;

export interface IdTokenExpectations {
  /** The discovery document's issuer for this directory. */
  readonly issuer: string;
  readonly clientId: string;
  readonly directoryId: string;
  /** The nonce this sign-in sent. */
  readonly nonce: string;
  readonly now: Date;
}

/** The claims a sign-in relies on, after every check has passed. */
export interface VerifiedIdentity {
  readonly directoryId: string;
  readonly objectId: string;
  readonly name: string | undefined;
  readonly preferredUsername: string | undefined;
}

/**
 * The signatures an ID token may carry: every asymmetric one jose verifies. `none` proves nothing,
 * and an HMAC would be checked with a secret the issuer's public key set cannot hold (the classic
 * attack signs with the public key as the HMAC secret), so both are refused.
 */
export const ID_TOKEN_ALGORITHMS: readonly string[] = Object.freeze([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
]);

/**
 * Verifies an ID token: an asymmetric signature by a key of the issuer's
 * key set, `iss`, `aud`, `exp`/`nbf`/`iat` within the skew, `nonce`, `tid`. Anything else is a
 * SigninError with the precise reason.
 */
export async function verifyIdToken(
  token: string,
  keys: KeyResolver,
  expected: IdTokenExpectations,
): Promise<VerifiedIdentity> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keys, {
      algorithms: [...ID_TOKEN_ALGORITHMS],
      issuer: expected.issuer,
      audience: expected.clientId,
      clockTolerance: CLOCK_SKEW_SECONDS,
      currentDate: expected.now,
      requiredClaims: ['exp', 'iat'],
    }));
  } catch (error) {
    throw new SigninError(reasonForJoseError(error, Math.floor(expected.now.getTime() / 1000)), {
      cause: error,
    });
  }

  const nowSeconds = Math.floor(expected.now.getTime() / 1000);
  // jose accepts any past or future `iat` unless asked for a maximum age; a token from the future
  // means a skewed or forged issuer.
  if (typeof payload.iat !== 'number' || payload.iat > nowSeconds + CLOCK_SKEW_SECONDS) {
    throw new SigninError('id-token-issued-in-future');
  }
  // With several audiences the token must say it was issued to us (OIDC Core 3.1.3.7).
  if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== expected.clientId) {
    throw new SigninError('id-token-audience');
  }
  const nonce = payload.nonce;
  if (typeof nonce !== 'string' || nonce === '') throw new SigninError('id-token-nonce-missing');
  if (!constantTimeEqual(nonce, expected.nonce)) throw new SigninError('id-token-nonce-mismatch');
  if (typeof payload.tid !== 'string' || payload.tid.toLowerCase() !== expected.directoryId.toLowerCase()) {
    throw new SigninError('id-token-tenant');
  }
  const oid = payload.oid;
  if (typeof oid !== 'string' || oid === '') throw new SigninError('id-token-object-id-missing');
  return {
    directoryId: payload.tid.toLowerCase(),
    objectId: oid.toLowerCase(),
    name: typeof payload.name === 'string' ? payload.name : undefined,
    preferredUsername:
      typeof payload.preferred_username === 'string' ? payload.preferred_username : undefined,
  };
}

export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

function reasonForJoseError(error: unknown, nowSeconds: number): SigninFailureReason {
  if (error instanceof KeySetUnavailable) return 'directory-unreachable';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'id-token-algorithm';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'id-token-signature';
  if (error instanceof errors.JWKSNoMatchingKey) return 'id-token-unknown-key';
  if (error instanceof errors.JWKSMultipleMatchingKeys) return 'id-token-unknown-key';
  if (error instanceof errors.JWTExpired) return 'id-token-expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return 'id-token-malformed';
    switch (error.claim) {
      case 'iss':
        return 'id-token-issuer';
      case 'aud':
        return 'id-token-audience';
      case 'nbf':
        // Issuers set nbf = iat; a token from the future fails on nbf first, but is named by its iat.
        return typeof error.payload.iat === 'number' && error.payload.iat > nowSeconds + CLOCK_SKEW_SECONDS
          ? 'id-token-issued-in-future'
          : 'id-token-not-yet-valid';
      case 'iat':
        return 'id-token-issued-in-future';
      default:
        return 'id-token-malformed';
    }
  }
  return 'id-token-malformed';
}
