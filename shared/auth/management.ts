import type { HttpRequest } from '@azure/functions';
import { errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Clock } from '../clock.js';
import { JwksCache, KeySetUnavailable } from './oidc/jwks.js';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import { isAllowed, ROLES, type Permission, type Principal, type Resource, type Role } from './policy.js';

export type { Permission, Principal, Resource, Role } from './policy.js';

/** Asymmetric algorithms only: `none` and HMAC (a public key used as a shared secret) are refused. */
const ALGORITHMS = ['RS256', 'ES256'];
/** Tolerated clock difference with the token issuer, in seconds. */
const CLOCK_SKEW_SECONDS = 60;

function bearerToken(request: HttpRequest): string {
  const header = request.headers.get('authorization');
  if (header === null || header.trim() === '') {
    throw new AppError('unauthorized', 'A bearer token is required.');
  }
  const match = /^Bearer[ \t]+([A-Za-z0-9_.~+/-]+=*)[ \t]*$/i.exec(header);
  if (!match?.[1]) throw new AppError('unauthorized', 'The Authorization header must be "Bearer <token>".');
  return match[1];
}

/** Failures of the token itself are the caller's (401); failures to obtain our keys are ours. */
const CALLER_TOKEN_ERRORS = new Set<string>([
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JOSE_NOT_SUPPORTED',
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JWS_INVALID',
  'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  'ERR_JWT_CLAIM_VALIDATION_FAILED',
  'ERR_JWT_EXPIRED',
  'ERR_JWT_INVALID',
  'ERR_JWK_INVALID',
]);

function stringArray(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value)) return [];
  return value.filter((item): item is string => typeof item === 'string');
}

/** Pure: the principal a verified token describes. Unknown roles are ignored. */
export function principalFromClaims(payload: JWTPayload): Principal {
  if (typeof payload.sub !== 'string' || payload.sub === '') {
    throw new AppError('unauthorized', 'The token has no subject.');
  }
  const roles = stringArray(payload.roles).filter((role): role is Role => (ROLES as string[]).includes(role));
  return Object.freeze({
    sub: payload.sub,
    roles: Object.freeze([...new Set(roles)]),
    environments: Object.freeze([...new Set(stringArray(payload.environments))]),
  });
}

/** AppError 'forbidden' unless the policy allows `permission` on `resource`. */
export function authorize(
  principal: Principal,
  permission: Permission,
  resource: Resource = { kind: 'none' },
): void {
  if (!isAllowed(principal, permission, resource)) {
    throw new AppError('forbidden', 'The token does not grant this operation.');
  }
}

export interface ManagementAuth {
  /** Verifies the bearer token; AppError 'unauthorized' when missing or invalid. */
  authenticate(request: HttpRequest): Promise<Principal>;
  /** The caller, if it may manage this environment: an operator, or an admin of that environment. */
  authorizeEnvironment(request: HttpRequest, environmentId: string): Promise<Principal>;
}

export interface ManagementAuthDeps {
  readonly settings: Config['management'];
  readonly clock: Clock;
  /** Keys to verify against instead of fetching `settings.jwksUri` (tests sign their own tokens). */
  readonly keys?: JWTVerifyGetKey | undefined;
  /** Outbound HTTP, for reading `settings.jwksUri`. */
  readonly fetch?: (input: string, init?: RequestInit) => Promise<Response>;
  /** How soon after one fetch an unknown `kid` may trigger another. */
  readonly refetchCooldownMs?: number;
}

/** A key set is read again after this long. */
const KEYS_MAX_AGE_MS = 10 * 60_000;
/**
 * While the issuer's key set cannot be read, the last one read keeps serving for this long past
 * its age; after that every call answers 503 until the keys can be read again.
 */
export const KEYS_MAX_STALE_MS = 60 * 60_000;
/** While the issuer is down, one attempt to read its keys per this long, not one per call. */
const KEYS_RETRY_MS = 30_000;
const KEYS_TIMEOUT_MS = 10_000;

/** The issuer's key set over HTTP, bounded in time and size of answer. */
function keySetReader(fetcher: NonNullable<ManagementAuthDeps['fetch']>) {
  return async (uri: string): Promise<unknown> => {
    const answer = await fetcher(uri, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(KEYS_TIMEOUT_MS),
    });
    if (!answer.ok) throw new Error(`the key set answered HTTP ${answer.status}`);
    const text = await answer.text();
    if (text.length > 256 * 1024) throw new Error('the key set is too large');
    return JSON.parse(text) as unknown;
  };
}

export function createManagementAuth(deps: ManagementAuthDeps): ManagementAuth {
  const { issuer, audience, jwksUri } = deps.settings;
  // A token naming an unknown `kid` refetches the set (at most once per cooldown), so key
  // rotation at the issuer needs no restart here.
  const keys =
    deps.keys ??
    new JwksCache({
      load: keySetReader(deps.fetch ?? ((input, init) => fetch(input, init))),
      now: () => deps.clock.now().getTime(),
      maxAgeMs: KEYS_MAX_AGE_MS,
      maxStaleMs: KEYS_MAX_STALE_MS,
      retryAfterFailureMs: KEYS_RETRY_MS,
      missCooldownMs: deps.refetchCooldownMs ?? 30_000,
    }).resolverFor(jwksUri);

  async function authenticate(request: HttpRequest): Promise<Principal> {
    const token = bearerToken(request);
    const now = deps.clock.now();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer,
        audience,
        algorithms: ALGORITHMS,
        clockTolerance: CLOCK_SKEW_SECONDS,
        currentDate: now,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      if (error instanceof joseErrors.JOSEError && CALLER_TOKEN_ERRORS.has(error.code)) {
        throw new AppError('unauthorized', 'The bearer token is not valid.', { cause: error });
      }
      if (error instanceof KeySetUnavailable) {
        throw new AppError('keys-unavailable', 'The management signing keys could not be read.', {
          cause: error,
          retryAfterSeconds: KEYS_RETRY_MS / 1000,
        });
      }
      throw new AppError('internal', 'The management token could not be verified.', { cause: error });
    }
    // `exp` must be in the future, full stop: the skew above only forgives an issuer whose clock
    // runs ahead (nbf/iat), never a token that has already expired.
    if (typeof payload.exp !== 'number' || payload.exp * 1000 <= now.getTime()) {
      throw new AppError('unauthorized', 'The bearer token has expired.');
    }
    return principalFromClaims(payload);
  }

  return {
    authenticate,
    async authorizeEnvironment(request, environmentId) {
      const principal = await authenticate(request);
      authorize(principal, 'environment:manage', { kind: 'environment', environmentId });
      return principal;
    },
  };
}
