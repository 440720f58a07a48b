import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Core, LoginTransaction } from './core.js';
import { parseScopes, safeEqual } from './entra.js';
import {
  entraTimestamp,
  escapeHtml,
  htmlReply,
  readForm,
  redirectReply,
  requestId,
  type Reply,
} from './http.js';
import type { Directory } from './model.js';
import type { StoredApplication, StoredUser } from './records.js';

const CODE_LIFETIME_MS = 10 * 60 * 1000;
const LOGIN_LIFETIME_MS = 30 * 60 * 1000;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><link rel="icon" href="data:,">
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
      `<!doctype html><html><head><title>Working...</title><link rel="icon" href="data:,"></head><body onload="document.forms[0].submit()">
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

type AuthorizeParameters = URLSearchParams;

/** The directory, app and redirect URI a request names; else the error page (Entra does not redirect then). */
function requestingClient(
  core: Core,
  tenantId: string,
  parameters: AuthorizeParameters,
): { directory: Directory; app: StoredApplication; redirectUri: string } | Reply {
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
  return { directory, app, redirectUri };
}

/** GET (or POST without `ctx`) `/{tid}/oauth2/v2.0/authorize`: validates the request and shows the sign-in page. */
export function authorize(core: Core, tenantId: string, parameters: AuthorizeParameters): Reply {
  const client = requestingClient(core, tenantId, parameters);
  if ('status' in client) return client;
  const { directory, app, redirectUri } = client;
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

/** The user the form names, when the password is right and the account enabled; else what the page says. */
function signedInUser(
  directory: Directory,
  username: string,
  password: string,
): StoredUser | { code: number; message: string } {
  const user = username === '' ? undefined : directory.userByLogin(username);
  if (user === undefined) {
    return {
      code: 50034,
      message: "We couldn't find an account with that username. Try another, or get a new account.",
    };
  }
  if (!safeEqual(password, user.password)) {
    return {
      code: 50126,
      message: "Your account or password is incorrect. If you don't remember your password, reset it now.",
    };
  }
  if (!user.accountEnabled) {
    return {
      code: 50057,
      message: 'Your account has been locked. Contact your support person to unlock it, then try again.',
    };
  }
  return user;
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
  const user = signedInUser(directory, username, password);
  if ('code' in user) return signInPage(directory, app, ctx, username, user);
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
