import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AuthorizationCode, Core, LoginTransaction } from './core.js';
import {
  entraTimestamp,
  escapeHtml,
  htmlReply,
  jsonReply,
  readForm,
  redirectReply,
  requestId,
  type Reply,
} from './http.js';
import { takeFailure } from './faults.js';
import type { Directory } from './model.js';
import type { StoredApplication } from './records.js';
import { issueAccessToken, issueIdToken, v2Issuer, type AccessTokenInput } from './tokens.js';

const CODE_LIFETIME_MS = 10 * 60 * 1000;
const LOGIN_LIFETIME_MS = 30 * 60 * 1000;
const ACCESS_TOKEN_SECONDS = 3599;

/** An error as Entra's token and discovery endpoints answer it. */
export function entraError(
  origin: string,
  status: number,
  error: string,
  code: number,
  description: string,
): Reply {
  const traceId = requestId();
  const correlationId = requestId();
  const timestamp = entraTimestamp();
  return jsonReply(
    status,
    {
      error,
      error_description: `AADSTS${code}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `${origin}/error?code=${code}`,
    },
    { 'cache-control': 'no-store', pragma: 'no-cache' },
  );
}

function tenantNotFound(origin: string, tenantId: string): Reply {
  return entraError(
    origin,
    400,
    'invalid_tenant',
    90002,
    `Tenant '${tenantId}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  );
}

/** An injected throttle or failure of the token, metadata or key set endpoint, as Entra answers it. */
export function injectedEntraFault(
  core: Core,
  tenantId: string,
  kind: 'token' | 'discovery' | 'keys',
): Reply | undefined {
  const directory = core.directory(tenantId);
  const failure = directory === undefined ? undefined : takeFailure(directory, kind);
  if (failure === undefined) return undefined;
  const traceId = requestId();
  return jsonReply(
    failure.status,
    {
      error: 'temporarily_unavailable',
      error_description: `The service is temporarily unavailable. Trace ID: ${traceId} Timestamp: ${entraTimestamp()}`,
      error_codes: [],
      trace_id: traceId,
    },
    failure.retryAfterSeconds === null ? {} : { 'retry-after': String(failure.retryAfterSeconds) },
  );
}

export function discovery(core: Core, tenantId: string): Reply {
  const directory = core.directory(tenantId);
  if (directory === undefined) return tenantNotFound(core.origin, tenantId);
  const base = `${core.origin}/${directory.id}`;
  const graphHost = new URL(core.origin).host;
  return jsonReply(
    200,
    {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: v2Issuer(core.origin, directory.id),
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${core.origin}/oidc/userinfo`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      claims_supported: [
        'sub',
        'iss',
        'cloud_instance_name',
        'cloud_instance_host_name',
        'cloud_graph_host_name',
        'msgraph_host',
        'aud',
        'exp',
        'iat',
        'auth_time',
        'acr',
        'nonce',
        'preferred_username',
        'name',
        'tid',
        'ver',
        'at_hash',
        'c_hash',
        'email',
      ],
      kerberos_endpoint: `${base}/kerberos`,
      tenant_region_scope: 'EU',
      cloud_instance_name: 'dev.local',
      cloud_graph_host_name: graphHost,
      msgraph_host: graphHost,
      rbac_url: core.origin,
    },
    { 'cache-control': 'max-age=86400, private', 'access-control-allow-origin': '*' },
  );
}

export function jwks(core: Core, tenantId: string): Reply {
  const directory = core.directory(tenantId);
  if (directory === undefined) return tenantNotFound(core.origin, tenantId);
  return jsonReply(
    200,
    {
      keys: directory.keys.map((key) => ({ ...key.publicJwk, issuer: v2Issuer(core.origin, directory.id) })),
    },
    { 'cache-control': 'max-age=86400, private', 'access-control-allow-origin': '*' },
  );
}

// ---------------------------------------------------------------------------------------------
// The sign-in page

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:"Segoe UI",system-ui,sans-serif;background:#f2f2f2;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}
main{background:#fff;padding:44px;width:340px;box-shadow:0 2px 6px rgba(0,0,0,.2)}
h1{font-size:24px;font-weight:600;margin:0 0 16px}
label{display:block;margin-top:12px;font-size:14px}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:6px 0;border:0;border-bottom:1px solid #666;font-size:15px}
button{margin-top:24px;background:#0067b8;color:#fff;border:0;padding:8px 32px;font-size:15px;cursor:pointer}
.error{color:#e81123;font-size:14px;margin:8px 0}
.note{color:#666;font-size:12px;margin-top:24px}
</style></head>
<body><main>${body}<p class="note">BizzStream dev directory: a local stand-in for Microsoft Entra ID. Not for production use.</p></main></body></html>`;
}

function errorPage(status: number, code: number, message: string): Reply {
  return htmlReply(
    status,
    page(
      'Sign in to your account',
      `<h1>Sorry, but we’re having trouble signing you in.</h1>
<p id="error" class="error" role="alert" data-error-code="AADSTS${code}">AADSTS${code}: ${escapeHtml(message)}</p>
<p>Request Id: ${requestId()}<br>Timestamp: ${entraTimestamp()}</p>`,
    ),
  );
}

function signInPage(
  directory: Directory,
  app: StoredApplication,
  ctx: string,
  username: string,
  error?: { code: number; message: string },
): Reply {
  const errorHtml =
    error === undefined
      ? ''
      : `<p id="error" class="error" role="alert" data-error-code="AADSTS${error.code}">${escapeHtml(error.message)}</p>`;
  return htmlReply(
    200,
    page(
      'Sign in to your account',
      `<h1>Sign in</h1>
<p>to continue to ${escapeHtml(app.displayName)} (${escapeHtml(directory.displayName)})</p>
${errorHtml}
<form id="signin" method="post" action="authorize">
<input type="hidden" name="ctx" value="${escapeHtml(ctx)}">
<label for="username">Email or username</label>
<input type="text" id="username" name="username" autocomplete="username" value="${escapeHtml(username)}" required autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit" id="submit">Sign in</button>
</form>`,
    ),
  );
}

function redirectWithParameters(
  redirectUri: string,
  mode: LoginTransaction['responseMode'],
  parameters: Record<string, string | undefined>,
): Reply {
  const defined = Object.entries(parameters).filter(
    (entry): entry is [string, string] => entry[1] !== undefined,
  );
  if (mode === 'form_post') {
    const inputs = defined
      .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
      .join('\n');
    return htmlReply(
      200,
      `<!doctype html><html><head><title>Working...</title></head><body onload="document.forms[0].submit()">
<form method="POST" name="hiddenform" action="${escapeHtml(redirectUri)}">
${inputs}
<noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit"></noscript>
</form></body></html>`,
    );
  }
  const url = new URL(redirectUri);
  const encoded = new URLSearchParams(defined).toString();
  if (mode === 'fragment') return redirectReply(`${url.origin}${url.pathname}${url.search}#${encoded}`);
  for (const [name, value] of defined) url.searchParams.set(name, value);
  return redirectReply(url.toString());
}

function parseScopes(value: string | null): string[] {
  return (value ?? '').split(/\s+/).filter((scope) => scope !== '');
}

type AuthorizeParameters = URLSearchParams;

/** GET (or POST without `ctx`) `/{tid}/oauth2/v2.0/authorize`: validates the request and shows the sign-in page. */
export function authorize(core: Core, tenantId: string, parameters: AuthorizeParameters): Reply {
  const directory = core.directory(tenantId);
  if (directory === undefined) {
    return errorPage(
      400,
      90002,
      `Tenant '${tenantId}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
    );
  }
  const clientId = (parameters.get('client_id') ?? '').toLowerCase();
  if (clientId === '') {
    return errorPage(400, 900144, "The request body must contain the following parameter: 'client_id'.");
  }
  const app = directory.applications.get(clientId);
  if (app === undefined) {
    return errorPage(
      400,
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${directory.displayName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    );
  }
  const redirectUri = parameters.get('redirect_uri') ?? '';
  if (!app.redirectUris.includes(redirectUri)) {
    return errorPage(
      400,
      50011,
      `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${app.clientId}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.`,
    );
  }
  const responseModeValue = parameters.get('response_mode') ?? 'query';
  const responseMode =
    responseModeValue === 'form_post' || responseModeValue === 'fragment' ? responseModeValue : 'query';
  const state = parameters.get('state') ?? undefined;
  const fail = (error: string, code: number, description: string): Reply =>
    redirectWithParameters(redirectUri, responseMode, {
      error,
      error_description: `AADSTS${code}: ${description} Trace ID: ${requestId()} Correlation ID: ${requestId()} Timestamp: ${entraTimestamp()}`,
      error_uri: `${core.origin}/error?code=${code}`,
      state,
    });
  const responseType = parameters.get('response_type');
  if (responseType !== 'code') {
    return fail(
      'unsupported_response_type',
      700054,
      `response_type '${responseType ?? ''}' is not enabled for the application.`,
    );
  }
  const scopes = parseScopes(parameters.get('scope'));
  if (scopes.length === 0) {
    return fail('invalid_request', 900144, "The request body must contain the following parameter: 'scope'.");
  }
  const codeChallenge = parameters.get('code_challenge') ?? undefined;
  const methodValue =
    parameters.get('code_challenge_method') ?? (codeChallenge === undefined ? undefined : 'plain');
  if (methodValue !== undefined && methodValue !== 'S256' && methodValue !== 'plain') {
    return fail('invalid_request', 50149, 'Invalid Code_Challenge_method parameter.');
  }
  if (codeChallenge !== undefined && !/^[A-Za-z0-9._~-]{43,128}$/.test(codeChallenge)) {
    return fail('invalid_request', 501491, 'Invalid size of Code_Challenge parameter.');
  }
  if (parameters.get('prompt') === 'none') {
    // The dev directory keeps no sign-in session, so a silent request always needs the page.
    return fail('login_required', 50058, 'A silent sign-in request was sent but no user is signed in.');
  }
  const ctx = randomBytes(24).toString('base64url');
  const loginHint = parameters.get('login_hint') ?? undefined;
  core.logins.set(ctx, {
    directoryId: directory.id,
    clientId: app.clientId,
    redirectUri,
    responseMode,
    state,
    nonce: parameters.get('nonce') ?? undefined,
    scopes,
    codeChallenge,
    codeChallengeMethod: codeChallenge === undefined ? undefined : methodValue,
    loginHint,
    expiresAt: Date.now() + LOGIN_LIFETIME_MS,
  });
  core.sweep();
  return signInPage(directory, app, ctx, loginHint ?? '');
}

/** POST `/{tid}/oauth2/v2.0/authorize` from the sign-in page: checks the credentials and redirects with a code. */
export async function authorizePost(
  core: Core,
  tenantId: string,
  request: IncomingMessage,
  query: URLSearchParams,
): Promise<Reply> {
  const form = await readForm(request);
  const ctx = form.get('ctx');
  if (ctx === null) {
    // A form_post authorization request (parameters in the body) is as valid as a GET.
    for (const [name, value] of query) if (!form.has(name)) form.set(name, value);
    return authorize(core, tenantId, form);
  }
  const login = core.logins.get(ctx);
  const directory = core.directory(tenantId);
  if (
    login === undefined ||
    login.expiresAt < Date.now() ||
    directory === undefined ||
    login.directoryId !== directory.id
  ) {
    return errorPage(
      400,
      50196,
      'The sign-in session has expired or is not valid. Go back to the application and sign in again.',
    );
  }
  const app = directory.applications.get(login.clientId);
  if (app === undefined)
    return errorPage(400, 700016, `Application with identifier '${login.clientId}' was not found.`);
  const username = (form.get('username') ?? '').trim();
  const password = form.get('password') ?? '';
  const user = username === '' ? undefined : directory.userByLogin(username);
  if (user === undefined) {
    return signInPage(directory, app, ctx, username, {
      code: 50034,
      message: "We couldn't find an account with that username. Try another, or get a new account.",
    });
  }
  if (!safeEqual(password, user.password)) {
    return signInPage(directory, app, ctx, username, {
      code: 50126,
      message: "Your account or password is incorrect. If you don't remember your password, reset it now.",
    });
  }
  if (!user.accountEnabled) {
    return signInPage(directory, app, ctx, username, {
      code: 50057,
      message: 'Your account has been locked. Contact your support person to unlock it, then try again.',
    });
  }
  core.logins.delete(ctx);
  const code = `1.${randomBytes(48).toString('base64url')}`;
  core.codes.set(code, {
    directoryId: directory.id,
    clientId: login.clientId,
    redirectUri: login.redirectUri,
    userId: user.id,
    scopes: login.scopes,
    nonce: login.nonce,
    codeChallenge: login.codeChallenge,
    codeChallengeMethod: login.codeChallengeMethod,
    expiresAt: Date.now() + CODE_LIFETIME_MS,
    redeemed: false,
  });
  return redirectWithParameters(login.redirectUri, login.responseMode, {
    code,
    state: login.state,
    session_state: requestId(),
  });
}

export function logout(parameters: URLSearchParams): Reply {
  const target = parameters.get('post_logout_redirect_uri');
  if (target !== null && /^https?:\/\//.test(target)) {
    const url = new URL(target);
    const state = parameters.get('state');
    if (state !== null) url.searchParams.set('state', state);
    return redirectReply(url.toString());
  }
  return htmlReply(
    200,
    page(
      'Signed out',
      '<h1>You signed out of your account</h1><p>It’s a good idea to close all browser windows.</p>',
    ),
  );
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

// ---------------------------------------------------------------------------------------------
// The token endpoint

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
  const app = directory.applications.get(clientId);
  if (app === undefined) {
    return error(
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${directory.displayName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    );
  }
  const secret = form.get('client_secret') ?? basic?.secret;
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
  return grantType === 'client_credentials'
    ? clientCredentials(core, directory, app, form)
    : authorizationCode(core, directory, app, form);
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

async function authorizationCode(
  core: Core,
  directory: Directory,
  app: StoredApplication,
  form: URLSearchParams,
): Promise<Reply> {
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
