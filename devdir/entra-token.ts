import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AuthorizationCode, Core } from './core.js';
import { entraError, parseScopes, safeEqual, tenantNotFound } from './entra.js';
import { jsonReply, readForm, type Reply } from './http.js';
import type { Directory } from './model.js';
import type { StoredApplication, StoredUser } from './records.js';
import { issueAccessToken, issueIdToken, type AccessTokenInput } from './tokens.js';

const ACCESS_TOKEN_SECONDS = 3599;

function basicCredentials(request: IncomingMessage): { id: string; secret: string } | undefined {
  const header = request.headers.authorization;
  if (header === undefined || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return {
    id: decodeURIComponent(decoded.slice(0, colon)),
    secret: decodeURIComponent(decoded.slice(colon + 1)),
  };
}

export async function token(core: Core, tenantId: string, request: IncomingMessage): Promise<Reply> {
  const directory = core.directory(tenantId);
  if (directory === undefined) return tenantNotFound(core.origin, tenantId);
  const form = await readForm(request);
  const error = (status: number, code: string, aadsts: number, description: string): Reply =>
    entraError(core.origin, status, code, aadsts, description);
  const missingParameter = (name: string): Reply =>
    error(
      400,
      'invalid_request',
      900144,
      `The request body must contain the following parameter: '${name}'.`,
    );

  const grantType = form.get('grant_type');
  if (grantType === null || grantType === '') {
    return missingParameter('grant_type');
  }
  if (grantType !== 'client_credentials' && grantType !== 'authorization_code') {
    return error(
      400,
      'unsupported_grant_type',
      70003,
      `The app requested an unsupported grant type '${grantType}'.`,
    );
  }
  const basic = basicCredentials(request);
  const clientId = (form.get('client_id') ?? basic?.id ?? '').toLowerCase();
  if (clientId === '') {
    return missingParameter('client_id');
  }
  const app = authenticatedClient(core, directory, clientId, form.get('client_secret') ?? basic?.secret);
  if ('status' in app) return app;
  return grantType === 'client_credentials'
    ? clientCredentials(core, directory, app, form)
    : authorizationCode(core, directory, app, form);
}

/** The app whose client id and secret the request presents; else the error Entra answers. */
function authenticatedClient(
  core: Core,
  directory: Directory,
  clientId: string,
  secret: string | undefined,
): StoredApplication | Reply {
  const error = (status: number, code: string, aadsts: number, description: string): Reply =>
    entraError(core.origin, status, code, aadsts, description);
  const app = directory.applications.get(clientId);
  if (app === undefined) {
    return error(
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${directory.displayName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    );
  }
  if (secret === undefined || secret === '') {
    return error(
      401,
      'invalid_client',
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );
  }
  if (!safeEqual(secret, app.clientSecret)) {
    return error(
      401,
      'invalid_client',
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`,
    );
  }
  if (app.clientSecretExpiresAt !== null && Date.parse(app.clientSecretExpiresAt) <= Date.now()) {
    return error(
      401,
      'invalid_client',
      7000222,
      `The provided client secret keys for app '${app.clientId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`,
    );
  }
  return app;
}

/** A Graph access token for `app`: app-only, or delegated for `delegation`. */
function graphAccessToken(
  core: Core,
  directory: Directory,
  app: StoredApplication,
  delegation?: AccessTokenInput['user'],
): Promise<string> {
  return issueAccessToken({
    origin: core.origin,
    directory,
    application: app,
    audience: core.graphAudience,
    expiresInSeconds: ACCESS_TOKEN_SECONDS,
    ...(delegation === undefined ? {} : { user: delegation }),
  });
}

async function clientCredentials(
  core: Core,
  directory: Directory,
  app: StoredApplication,
  form: URLSearchParams,
): Promise<Reply> {
  const scope = (form.get('scope') ?? '').trim();
  if (scope === '') {
    return entraError(
      core.origin,
      400,
      'invalid_request',
      900144,
      "The request body must contain the following parameter: 'scope'.",
    );
  }
  const scopes = parseScopes(scope);
  const only = scopes.length === 1 ? scopes[0] : undefined;
  if (only === undefined || !only.endsWith('/.default')) {
    return entraError(
      core.origin,
      400,
      'invalid_scope',
      1002012,
      `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    );
  }
  const resource = only.slice(0, -'/.default'.length).replace(/\/$/, '');
  if (resource !== core.graphAudience) {
    return entraError(
      core.origin,
      400,
      'invalid_resource',
      500011,
      `The resource principal named ${resource} was not found in the tenant named ${directory.displayName}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
    );
  }
  const accessToken = await graphAccessToken(core, directory, app);
  return jsonReply(
    200,
    {
      token_type: 'Bearer',
      expires_in: ACCESS_TOKEN_SECONDS,
      ext_expires_in: ACCESS_TOKEN_SECONDS,
      access_token: accessToken,
    },
    { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' },
  );
}

function pkceMatches(record: AuthorizationCode, verifier: string | null): boolean {
  if (record.codeChallenge === undefined) return true;
  if (verifier === null || !/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) return false;
  const computed =
    record.codeChallengeMethod === 'plain'
      ? verifier
      : createHash('sha256').update(verifier).digest('base64url');
  return safeEqual(computed, record.codeChallenge);
}

/**
 * The unredeemed, unexpired code the form presents for `app`, with its enabled user; else Entra's
 * error. Long only as a list: one check after another, each with Entra's own message.
 */
function redeemableCode(
  core: Core,
  directory: Directory,
  app: StoredApplication,
  form: URLSearchParams,
): { record: AuthorizationCode; user: StoredUser } | Reply {
  const fail = (code: string, aadsts: number, description: string): Reply =>
    entraError(core.origin, 400, code, aadsts, description);
  const code = form.get('code');
  if (code === null || code === '') {
    return fail('invalid_request', 900144, "The request body must contain the following parameter: 'code'.");
  }
  const redirectUri = form.get('redirect_uri');
  if (redirectUri === null || redirectUri === '') {
    return fail(
      'invalid_request',
      900144,
      "The request body must contain the following parameter: 'redirect_uri'.",
    );
  }
  const record = core.codes.get(code);
  if (record === undefined || record.directoryId !== directory.id || record.clientId !== app.clientId) {
    return fail('invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.');
  }
  if (record.redeemed) {
    return fail(
      'invalid_grant',
      54005,
      'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
    );
  }
  if (record.expiresAt < Date.now()) {
    return fail(
      'invalid_grant',
      70008,
      'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.',
    );
  }
  if (redirectUri !== record.redirectUri) {
    return fail(
      'invalid_grant',
      50011,
      `The redirect URI '${redirectUri}' specified in the request does not match the redirect URI '${record.redirectUri}' provided when requesting the authorization code.`,
    );
  }
  if (!pkceMatches(record, form.get('code_verifier'))) {
    return fail(
      'invalid_grant',
      501481,
      'The Code_Verifier does not match the code_challenge supplied in the authorization request.',
    );
  }
  const user = directory.user(record.userId);
  if (user === undefined) {
    return fail(
      'invalid_grant',
      50034,
      `The user account ${record.userId} does not exist in the '${directory.id}' directory.`,
    );
  }
  if (!user.accountEnabled) {
    return fail('invalid_grant', 50057, 'The user account is disabled.');
  }
  return { record, user };
}

async function authorizationCode(
  core: Core,
  directory: Directory,
  app: StoredApplication,
  form: URLSearchParams,
): Promise<Reply> {
  const redeemable = redeemableCode(core, directory, app, form);
  if ('status' in redeemable) return redeemable;
  const { record, user } = redeemable;
  record.redeemed = true;
  const defect = directory.nextIdTokenDefect;
  directory.nextIdTokenDefect = undefined;
  const grantedScopes = [
    ...record.scopes.filter((s) => ['openid', 'profile', 'email'].includes(s)),
    'User.Read',
  ];
  const accessToken = await graphAccessToken(core, directory, app, { user, scopes: grantedScopes });
  const body: Record<string, unknown> = {
    token_type: 'Bearer',
    scope: grantedScopes.join(' '),
    expires_in: ACCESS_TOKEN_SECONDS,
    ext_expires_in: ACCESS_TOKEN_SECONDS,
    access_token: accessToken,
  };
  if (record.scopes.includes('openid')) {
    body.id_token = await issueIdToken(
      {
        origin: core.origin,
        directory,
        clientId: app.clientId,
        user,
        nonce: record.nonce,
        scopes: record.scopes,
      },
      defect,
    );
  }
  if (form.get('client_info') === '1') {
    body.client_info = Buffer.from(JSON.stringify({ uid: user.id, utid: directory.id })).toString(
      'base64url',
    );
  }
  return jsonReply(200, body, { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' });
}
