import * as oauth from 'oauth4webapi';
import { jwtClaims, toPrincipal, type Principal } from './logic/principal.js';
import { safeReturnPath } from './logic/routes.js';

/** `/console/config.json`: where and as whom the console signs staff in. */
export interface ConsoleConfig {
  readonly issuer: string;
  readonly clientId: string;
  readonly scope: string;
  readonly redirectUri: string;
}

export interface StaffSession {
  readonly accessToken: string;
  readonly expiresAt: number;
  readonly principal: Principal;
}

/** Tokens live in this tab's sessionStorage only: gone when the tab closes or on "Sign out". */
const SESSION_KEY = 'bizzstream.console.session';
const PENDING_KEY = 'bizzstream.console.pending';

interface PendingSignIn {
  readonly verifier: string;
  readonly state: string;
  readonly nonce: string;
  readonly returnPath: string;
}

export async function loadConfig(): Promise<ConsoleConfig> {
  const response = await fetch('/console/config.json', { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`The console's settings could not be read (${response.status}).`);
  return (await response.json()) as ConsoleConfig;
}

async function discover(config: ConsoleConfig): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(config.issuer);
  let response: Response;
  try {
    response = await oauth.discoveryRequest(issuer, { algorithm: 'oidc' });
  } catch (error) {
    throw new Error(
      `The sign-in service at ${issuer.origin} cannot be reached (${error instanceof Error ? error.message : String(error)}). ` +
        'For the local dev directory, open it once in this browser and accept its certificate, or trust .dev/devdir/ca/ca.pem.',
      { cause: error },
    );
  }
  return oauth.processDiscoveryResponse(issuer, response);
}

/** Sends the browser to the identity provider: authorization code with PKCE (S256). */
export async function beginSignIn(config: ConsoleConfig, returnPath: string): Promise<void> {
  const server = await discover(config);
  if (server.authorization_endpoint === undefined)
    throw new Error('The sign-in service has no authorization endpoint.');
  const pending: PendingSignIn = {
    verifier: oauth.generateRandomCodeVerifier(),
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
    returnPath: safeReturnPath(returnPath),
  };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const url = new URL(server.authorization_endpoint);
  url.searchParams.set('client_id', config.clientId);
  url.searchParams.set('redirect_uri', config.redirectUri);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', ['openid', 'profile', config.scope].join(' '));
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(pending.verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('state', pending.state);
  url.searchParams.set('nonce', pending.nonce);
  window.location.assign(url.toString());
}

export function isSignInCallback(url: URL): boolean {
  return url.searchParams.has('state') && (url.searchParams.has('code') || url.searchParams.has('error'));
}

/** Redeems the code the identity provider returned to `/console/`; answers where to go next. */
export async function completeSignIn(
  config: ConsoleConfig,
  url: URL,
): Promise<{ session: StaffSession; returnPath: string }> {
  const stored = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  if (stored === null) throw new Error('This sign-in was not started in this tab; sign in again.');
  const pending = JSON.parse(stored) as PendingSignIn;
  const server = await discover(config);
  const client: oauth.Client = { client_id: config.clientId };
  const params = oauth.validateAuthResponse(server, client, url, pending.state);
  const response = await oauth.authorizationCodeGrantRequest(
    server,
    client,
    oauth.None(),
    params,
    config.redirectUri,
    pending.verifier,
  );
  const result = await oauth.processAuthorizationCodeResponse(server, client, response, {
    expectedNonce: pending.nonce,
    requireIdToken: true,
  });
  const idClaims = (oauth.getValidatedIdTokenClaims(result) ?? {}) as Record<string, unknown>;
  const session: StaffSession = {
    accessToken: result.access_token,
    expiresAt: Date.now() + (result.expires_in ?? 3600) * 1000,
    principal: toPrincipal(jwtClaims(result.access_token), idClaims),
  };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  return { session, returnPath: pending.returnPath };
}

export function storedSession(): StaffSession | undefined {
  const stored = sessionStorage.getItem(SESSION_KEY);
  if (stored === null) return undefined;
  const session = JSON.parse(stored) as StaffSession;
  if (session.expiresAt <= Date.now()) {
    sessionStorage.removeItem(SESSION_KEY);
    return undefined;
  }
  return session;
}

export function forgetSession(): void {
  sessionStorage.removeItem(SESSION_KEY);
  sessionStorage.removeItem(PENDING_KEY);
}

/** A human message for a failed sign-in (OAuth errors carry the provider's own words). */
export function signInErrorMessage(error: unknown): string {
  if (error instanceof oauth.AuthorizationResponseError) {
    return `${error.error}: ${error.error_description ?? 'the sign-in was refused'}`;
  }
  if (error instanceof oauth.ResponseBodyError) {
    return `${error.error}: ${error.error_description ?? 'the token request was refused'}`;
  }
  return error instanceof Error ? error.message : String(error);
}
