import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Core } from './core.js';
import { jsonReply, readForm, redirectReply, type Reply } from './http.js';
import {
  CODE_LIFETIME_MS,
  LOGIN_LIFETIME_MS,
  PUBLIC_CORS,
  stateOf,
  sweep,
  TOKEN_SECONDS,
  tokenCors,
  type ManagementState,
  type PendingLogin,
} from './management-clients.js';
import { errorPage, loginPage, ROLES } from './management-pages.js';
import { MANAGEMENT_AUDIENCE, issueManagementToken, signRs256 } from './tokens.js';

/**
 * The dev directory as the staff's identity provider (`/management`): OpenID discovery, an
 * authorize page where one picks who to be, and a token endpoint that checks PKCE and issues the
 * same management tokens as `npm run token`. Public clients only, as the console is one.
 */

function discoveryDocument(core: Core): Reply {
  const issuer = core.managementIssuer;
  return jsonReply(
    200,
    {
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/keys`,
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['none'],
      scopes_supported: ['openid', 'profile', `${MANAGEMENT_AUDIENCE}/manage`],
      claims_supported: ['sub', 'name', 'roles', 'environments'],
      id_token_signing_alg_values_supported: ['RS256'],
      subject_types_supported: ['public'],
      authorization_response_iss_parameter_supported: true,
    },
    { ...PUBLIC_CORS, 'cache-control': 'max-age=300' },
  );
}

function redirectWithError(
  core: Core,
  login: Pick<PendingLogin, 'redirectUri' | 'state'>,
  error: string,
  description: string,
): Reply {
  const target = new URL(login.redirectUri);
  target.searchParams.set('error', error);
  target.searchParams.set('error_description', description);
  if (login.state !== undefined) target.searchParams.set('state', login.state);
  target.searchParams.set('iss', core.managementIssuer);
  return redirectReply(target.toString());
}

function authorize(core: Core, state: ManagementState, params: URLSearchParams): Reply {
  const clientId = params.get('client_id') ?? '';
  const redirectUri = params.get('redirect_uri') ?? '';
  const uris = state.clients.get(clientId);
  if (uris === undefined) {
    return errorPage(400, `AADSTS700016: Application with identifier '${clientId}' was not found.`);
  }
  if (!uris.has(redirectUri)) {
    return errorPage(
      400,
      `AADSTS50011: The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${clientId}'.`,
    );
  }
  const login = { redirectUri, state: params.get('state') ?? undefined };
  if (params.get('response_type') !== 'code') {
    return redirectWithError(
      core,
      login,
      'unsupported_response_type',
      'Only response_type=code is supported.',
    );
  }
  const codeChallenge = params.get('code_challenge') ?? '';
  if (params.get('code_challenge_method') !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(codeChallenge)) {
    return redirectWithError(
      core,
      login,
      'invalid_request',
      'PKCE with code_challenge_method=S256 is required.',
    );
  }
  const scopes = (params.get('scope') ?? '').split(' ').filter((s) => s !== '');
  if (!scopes.includes('openid') || !scopes.some((s) => s.startsWith(`${MANAGEMENT_AUDIENCE}/`))) {
    return redirectWithError(
      core,
      login,
      'invalid_scope',
      `The scope must hold openid and a scope of ${MANAGEMENT_AUDIENCE}.`,
    );
  }
  sweep(state, Date.now());
  const id = randomBytes(16).toString('base64url');
  state.logins.set(id, {
    clientId,
    redirectUri,
    state: login.state,
    nonce: params.get('nonce') ?? undefined,
    scopes,
    codeChallenge,
    expiresAt: Date.now() + LOGIN_LIFETIME_MS,
  });
  return loginPage(id, clientId, undefined);
}

async function authorizePost(core: Core, state: ManagementState, request: IncomingMessage): Promise<Reply> {
  const form = await readForm(request);
  const loginId = form.get('login') ?? '';
  const login = state.logins.get(loginId);
  if (login === undefined || login.expiresAt < Date.now()) {
    return errorPage(
      400,
      'AADSTS90014: The sign-in request expired or is unknown; start again from the application.',
    );
  }
  const role = ROLES.find((r) => r.role === form.get('role'))?.role;
  if (role === undefined) return loginPage(loginId, login.clientId, 'Choose a role.', 400);
  const environments = (form.get('environments') ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (role === 'environment-admin' && environments.length === 0) {
    return loginPage(loginId, login.clientId, 'An environment admin needs at least one environment.', 400);
  }
  state.logins.delete(loginId);
  const code = randomBytes(32).toString('base64url');
  state.codes.set(code, {
    login,
    sub: (form.get('sub') ?? '').trim() || `dev-${role}`,
    roles: [role],
    environments: role === 'environment-admin' ? environments : undefined,
    expiresAt: Date.now() + CODE_LIFETIME_MS,
  });
  const target = new URL(login.redirectUri);
  target.searchParams.set('code', code);
  if (login.state !== undefined) target.searchParams.set('state', login.state);
  target.searchParams.set('iss', core.managementIssuer);
  return redirectReply(target.toString());
}

function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

async function token(core: Core, state: ManagementState, request: IncomingMessage): Promise<Reply> {
  const cors = tokenCors(state, request.headers.origin);
  const fail = (error: string, description: string): Reply =>
    jsonReply(400, { error, error_description: description }, { ...cors, 'cache-control': 'no-store' });
  const form = await readForm(request);
  if (form.get('grant_type') !== 'authorization_code') {
    return fail('unsupported_grant_type', 'Only grant_type=authorization_code is supported.');
  }
  const code = form.get('code') ?? '';
  const issued = state.codes.get(code);
  // A code is good for one redemption, whatever the outcome.
  state.codes.delete(code);
  if (issued === undefined || issued.expiresAt < Date.now()) {
    return fail('invalid_grant', 'The authorization code is unknown, expired or already redeemed.');
  }
  if (form.get('client_id') !== issued.login.clientId) {
    return fail('invalid_client', 'The code was issued to another client.');
  }
  if (form.get('redirect_uri') !== issued.login.redirectUri) {
    return fail('invalid_grant', 'redirect_uri does not match the authorization request.');
  }
  const verifier = form.get('code_verifier') ?? '';
  if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || !sameText(s256(verifier), issued.login.codeChallenge)) {
    return fail('invalid_grant', 'The code_verifier does not match the code_challenge.');
  }
  const accessToken = await issueManagementToken(core.managementKey, core.managementIssuer, {
    sub: issued.sub,
    roles: issued.roles,
    ...(issued.environments === undefined ? {} : { environments: issued.environments }),
    expiresInSeconds: TOKEN_SECONDS,
  });
  const now = Math.floor(Date.now() / 1000);
  const idToken = await signRs256(core.managementKey, {
    iss: core.managementIssuer,
    aud: issued.login.clientId,
    sub: issued.sub,
    name: issued.sub,
    roles: [...issued.roles],
    ...(issued.environments === undefined ? {} : { environments: [...issued.environments] }),
    ...(issued.login.nonce === undefined ? {} : { nonce: issued.login.nonce }),
    iat: now,
    exp: now + TOKEN_SECONDS,
  });
  return jsonReply(
    200,
    {
      token_type: 'Bearer',
      access_token: accessToken,
      id_token: idToken,
      expires_in: TOKEN_SECONDS,
      scope: issued.login.scopes.join(' '),
    },
    { ...cors, 'cache-control': 'no-store', pragma: 'no-cache' },
  );
}

/** Answers `/management/*`, or `undefined` for a path that is not one of its endpoints. */
export async function handleManagement(
  core: Core,
  request: IncomingMessage,
  url: URL,
): Promise<Reply | undefined> {
  const state = stateOf(core);
  const method = request.method ?? 'GET';
  const endpoint = url.pathname.slice('/management'.length);
  if (method === 'OPTIONS') {
    const cors = endpoint === '/token' ? tokenCors(state, request.headers.origin) : PUBLIC_CORS;
    return {
      status: 204,
      headers: {
        ...cors,
        'access-control-allow-methods': endpoint === '/token' ? 'POST' : 'GET',
        'access-control-allow-headers': 'content-type, accept, dpop',
        'access-control-max-age': '600',
      },
    };
  }
  switch (endpoint) {
    case '/.well-known/openid-configuration':
      return discoveryDocument(core);
    case '/keys':
      return jsonReply(
        200,
        { keys: [core.managementKey.publicJwk] },
        { ...PUBLIC_CORS, 'cache-control': 'max-age=3600' },
      );
    case '/authorize':
      return method === 'POST'
        ? authorizePost(core, state, request)
        : authorize(core, state, url.searchParams);
    case '/token':
      return method === 'POST'
        ? token(core, state, request)
        : jsonReply(405, {
            error: 'invalid_request',
            error_description: 'The token endpoint only accepts POST.',
          });
    default:
      return undefined;
  }
}
