import { createHash, createHmac, randomBytes } from 'node:crypto';
import {
  SignJWT,
  UnsecuredJWT,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
} from 'jose';
import { generateSigningKey, type SigningKey } from './keys.js';
import type { Directory } from './model.js';
import type { StoredApplication, StoredUser } from './records.js';
import { newGuid } from './ids.js';
import type { IdTokenDefect, ManagementTokenRequest } from './types.js';

export const MANAGEMENT_AUDIENCE = 'api://bizzstream-external-users';

function seconds(date = Date.now()): number {
  return Math.floor(date / 1000);
}

function uti(): string {
  return randomBytes(16).toString('base64url');
}

export async function signRs256(key: SigningKey, payload: JWTPayload): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ typ: 'JWT', alg: 'RS256', kid: key.kid })
    .sign(key.privateKey);
}

function currentKey(directory: Directory): SigningKey {
  const key = directory.keys[0];
  if (key === undefined) throw new Error(`directory ${directory.id} has no signing key`);
  return key;
}

/** Entra v2 issuer of a directory's ID tokens. */
export function v2Issuer(origin: string, tenantId: string): string {
  return `${origin}/${tenantId}/v2.0`;
}

/** Issuer of access tokens for Graph (v1 tokens, as Graph's are): the analogue of `https://sts.windows.net/{tid}/`. */
export function accessTokenIssuer(origin: string, tenantId: string): string {
  return `${origin}/${tenantId}/`;
}

/** Pairwise subject, as Entra's `sub`: stable per user and application, different between applications. */
export function pairwiseSubject(userId: string, clientId: string): string {
  return createHash('sha256').update(`${userId}|${clientId}`).digest('base64url').slice(0, 43);
}

export interface IdTokenInput {
  readonly origin: string;
  readonly directory: Directory;
  readonly clientId: string;
  readonly user: StoredUser;
  readonly nonce: string | undefined;
  readonly scopes: readonly string[];
}

export function userEmail(user: StoredUser): string | undefined {
  return user.mail ?? user.otherMails[0] ?? undefined;
}

/** An Entra v2 ID token; `defect` spoils it in exactly one way, for tests of relying parties. */
export async function issueIdToken(input: IdTokenInput, defect: IdTokenDefect | undefined): Promise<string> {
  return signIdToken(input.directory, idTokenClaims(input, defect), defect);
}

function idTokenClaims(
  input: IdTokenInput,
  defect: IdTokenDefect | undefined,
): JWTPayload & Record<string, unknown> {
  const { origin, directory, clientId, user } = input;
  const now = seconds();
  let iat = now;
  let exp = now + 3600;
  if (defect === 'expired') {
    iat = now - 7200;
    exp = now - 3600;
  } else if (defect === 'iat-future') {
    iat = now + 3600;
    exp = now + 7200;
  }
  const claims: JWTPayload & Record<string, unknown> = {
    aud: defect === 'wrong-aud' ? newGuid() : clientId,
    iss: defect === 'wrong-iss' ? v2Issuer(origin, newGuid()) : v2Issuer(origin, directory.id),
    iat,
    nbf: iat,
    exp,
  };
  const email = userEmail(user);
  if (input.scopes.includes('email') && email !== undefined) claims.email = email;
  if (input.scopes.includes('profile')) {
    claims.name = user.displayName;
    claims.preferred_username = user.userPrincipalName;
  }
  if (defect === 'nonce-mismatch') claims.nonce = randomBytes(16).toString('base64url');
  else if (defect !== 'missing-nonce' && input.nonce !== undefined) claims.nonce = input.nonce;
  claims.oid = user.id;
  claims.rh = `0.${randomBytes(24).toString('base64url')}.`;
  claims.sub = pairwiseSubject(user.id, clientId);
  claims.tid = defect === 'wrong-tid' ? newGuid() : directory.id;
  claims.uti = uti();
  claims.ver = '2.0';
  return claims;
}

async function signIdToken(
  directory: Directory,
  claims: JWTPayload & Record<string, unknown>,
  defect: IdTokenDefect | undefined,
): Promise<string> {
  const key = currentKey(directory);
  switch (defect) {
    case 'alg-none':
      return new UnsecuredJWT(claims).encode();
    case 'hs256-public-key': {
      // The classic key-confusion attack: HMAC keyed with the public key a verifier might trust.
      const header = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'HS256', kid: key.kid })).toString(
        'base64url',
      );
      const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
      const signature = createHmac('sha256', key.publicPem).update(`${header}.${body}`).digest('base64url');
      return `${header}.${body}.${signature}`;
    }
    case 'unknown-kid':
      return signRs256(await generateSigningKey(), claims);
    case 'bad-signature': {
      const token = await signRs256(key, claims);
      const [header, body, signature = ''] = token.split('.');
      const bytes = Buffer.from(signature, 'base64url');
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
      return `${header}.${body}.${bytes.toString('base64url')}`;
    }
    case undefined:
    case 'wrong-aud':
    case 'wrong-iss':
    case 'wrong-tid':
    case 'expired':
    case 'iat-future':
    case 'nonce-mismatch':
    case 'missing-nonce':
      return signRs256(key, claims);
  }
}

export interface AccessTokenInput {
  readonly origin: string;
  readonly directory: Directory;
  readonly application: StoredApplication;
  readonly audience: string;
  readonly expiresInSeconds: number;
  /** Delegated token for this user and scopes; app-only when absent. */
  readonly user?: { readonly user: StoredUser; readonly scopes: readonly string[] };
}

/** A v1 access token for Graph, as Entra issues them (Graph accepts only v1 tokens). */
export async function issueAccessToken(input: AccessTokenInput): Promise<string> {
  const { origin, directory, application } = input;
  const now = seconds();
  const issuer = accessTokenIssuer(origin, directory.id);
  const common = {
    aud: input.audience,
    iss: issuer,
    iat: Math.min(now, now + input.expiresInSeconds) - 300,
    nbf: Math.min(now, now + input.expiresInSeconds) - 300,
    exp: now + input.expiresInSeconds,
    app_displayname: application.displayName,
    appid: application.clientId,
    appidacr: '1',
    idp: issuer,
    tid: directory.id,
    uti: uti(),
    ver: '1.0',
  };
  const claims =
    input.user === undefined
      ? {
          ...common,
          idtyp: 'app',
          oid: application.servicePrincipalId,
          roles: [...application.graphPermissions],
          sub: application.servicePrincipalId,
        }
      : {
          ...common,
          idtyp: 'user',
          name: input.user.user.displayName,
          oid: input.user.user.id,
          scp: input.user.scopes.join(' '),
          sub: pairwiseSubject(input.user.user.id, application.clientId),
          unique_name: input.user.user.userPrincipalName,
          upn: input.user.user.userPrincipalName,
        };
  return signRs256(currentKey(directory), claims);
}

export type AccessTokenCheck =
  | { readonly ok: true; readonly directory: Directory; readonly claims: JWTPayload }
  | { readonly ok: false; readonly message: string; readonly directoryId: string | undefined };

/**
 * The key set of a directory's keys, kept while those keys are current (a rotation replaces the
 * array): a fresh set imports the keys again on every request.
 */
const keySets = new WeakMap<readonly SigningKey[], ReturnType<typeof createLocalJWKSet>>();

function keySetOf(keys: readonly SigningKey[]): ReturnType<typeof createLocalJWKSet> {
  let keySet = keySets.get(keys);
  if (keySet === undefined) {
    keySet = createLocalJWKSet({ keys: keys.map((k) => k.publicJwk) });
    keySets.set(keys, keySet);
  }
  return keySet;
}

/** Validates a bearer token presented to Graph the way Graph does: signature, lifetime, issuer, audience. */
export async function verifyAccessToken(
  token: string,
  options: { origin: string; audience: string; directory: (id: string) => Directory | undefined },
): Promise<AccessTokenCheck> {
  let tid: unknown;
  try {
    decodeProtectedHeader(token);
    tid = decodeJwt(token).tid;
  } catch (error) {
    if (error instanceof joseErrors.JOSEError) {
      return { ok: false, message: 'IDX14100: JWT is not well formed.', directoryId: undefined };
    }
    throw error;
  }
  const directory = typeof tid === 'string' ? options.directory(tid) : undefined;
  if (directory === undefined) {
    return {
      ok: false,
      message: 'Access token validation failure. Invalid issuer.',
      directoryId: typeof tid === 'string' ? tid : undefined,
    };
  }
  try {
    const { payload } = await jwtVerify(token, keySetOf(directory.keys), {
      algorithms: ['RS256'],
      issuer: accessTokenIssuer(options.origin, directory.id),
      audience: options.audience,
      clockTolerance: 300,
    });
    return { ok: true, directory, claims: payload };
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) {
      return {
        ok: false,
        message: 'Lifetime validation failed, the token is expired.',
        directoryId: directory.id,
      };
    }
    if (error instanceof joseErrors.JWTClaimValidationFailed) {
      const message =
        error.claim === 'aud'
          ? 'Access token validation failure. Invalid audience.'
          : error.claim === 'iss'
            ? 'Access token validation failure. Invalid issuer.'
            : 'Lifetime validation failed, the token is not yet valid.';
      return { ok: false, message, directoryId: directory.id };
    }
    if (error instanceof joseErrors.JOSEError) {
      return { ok: false, message: 'Signature validation failed.', directoryId: directory.id };
    }
    throw error;
  }
}

export async function issueManagementToken(
  key: SigningKey,
  issuer: string,
  request: ManagementTokenRequest,
): Promise<string> {
  const now = seconds();
  const expiresIn = request.expiresInSeconds ?? 3600;
  const payload: JWTPayload & Record<string, unknown> = {
    iss: issuer,
    aud: MANAGEMENT_AUDIENCE,
    sub: request.sub,
    roles: [...request.roles],
    iat: Math.min(now, now + expiresIn),
    nbf: Math.min(now, now + expiresIn),
    exp: now + expiresIn,
    jti: uti(),
  };
  if (request.environments !== undefined) payload.environments = [...request.environments];
  return signRs256(key, payload);
}
