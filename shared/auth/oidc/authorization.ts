import { createHash, randomBytes } from 'node:crypto';

/** The scopes every sign-in asks for. */
export const SIGNIN_SCOPES = ['openid', 'profile', 'email'] as const;

/** The secrets of one authorization request: random, single-use, never logged. */
export interface AuthorizationSecrets {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
}

/** 256 bits each; the PKCE verifier is 43 characters of base64url (RFC 7636 §4.1). */
export function newAuthorizationSecrets(
  random: (bytes: number) => Buffer = randomBytes,
): AuthorizationSecrets {
  return {
    state: random(32).toString('base64url'),
    nonce: random(32).toString('base64url'),
    codeVerifier: random(32).toString('base64url'),
  };
}

export function codeChallengeS256(codeVerifier: string): string {
  return createHash('sha256').update(codeVerifier, 'ascii').digest('base64url');
}

export interface AuthorizationRequest {
  readonly authorizationEndpoint: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly secrets: AuthorizationSecrets;
}

/** The URL the browser is sent to; the endpoint's own query parameters are kept. */
export function authorizationUrl(request: AuthorizationRequest): string {
  const url = new URL(request.authorizationEndpoint);
  const params: Record<string, string> = {
    client_id: request.clientId,
    response_type: 'code',
    redirect_uri: request.redirectUri,
    response_mode: 'query',
    scope: SIGNIN_SCOPES.join(' '),
    state: request.secrets.state,
    nonce: request.secrets.nonce,
    code_challenge: codeChallengeS256(request.secrets.codeVerifier),
    code_challenge_method: 'S256',
  };
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url.toString();
}
