import type { Cookie, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { parse as parseCookies } from 'cookie';
import { AppError, SERVER_FAULTS, toAppError } from '../errors.js';
import { describeError } from '../http/respond.js';
import { problemResponse, toProblem } from '../http/problem.js';
import type { SessionLookup, SessionsService } from './sessions.js';
import { isSigninError } from './signin-errors.js';

/**
 * The browser side of sign-in: cookies, and failure pages a person can read.
 *
 * Both cookies are `__Host-` prefixed: the browser then insists on Secure, Path=/ and no Domain, so
 * no sibling subdomain can set or shadow them. The session cookie is SameSite=Lax. The transaction
 * cookie is SameSite=None because the directory may come back with a cross-site form POST
 * (`response_mode=form_post`), which Lax cookies miss; it grants nothing by itself, since the
 * callback also needs the `state` derived from it, and it dies at the first callback.
 */
export const SESSION_COOKIE = '__Host-bzs-session';
export const TRANSACTION_COOKIE = '__Host-bzs-signin';

function baseCookie(name: string, value: string, sameSite: 'Lax' | 'None' = 'Lax'): Cookie {
  return { name, value, path: '/', secure: true, httpOnly: true, sameSite };
}

export function readCookie(request: HttpRequest, name: string): string | undefined {
  const header = request.headers.get('cookie');
  if (header === null) return undefined;
  const value = parseCookies(header)[name];
  return value === undefined || value === '' ? undefined : value;
}

/** Max-Age and Expires both end no later than `expiresAt`. */
function expiringCookie(base: Cookie, expiresAt: Date, now: Date): Cookie {
  const maxAge = Math.max(0, Math.floor((expiresAt.getTime() - now.getTime()) / 1000));
  return {
    ...base,
    maxAge,
    expires: new Date(Math.floor(expiresAt.getTime() / 1000) * 1000),
  };
}

export function sessionCookie(secret: string, expiresAt: Date, now: Date): Cookie {
  return expiringCookie(baseCookie(SESSION_COOKIE, secret), expiresAt, now);
}

export function transactionCookie(secret: string, expiresAt: Date, now: Date): Cookie {
  return expiringCookie(baseCookie(TRANSACTION_COOKIE, secret, 'None'), expiresAt, now);
}

export function clearedCookie(name: string): Cookie {
  return {
    ...baseCookie(name, '', name === TRANSACTION_COOKIE ? 'None' : 'Lax'),
    maxAge: 0,
    expires: new Date(0),
  };
}

/**
 * The external user's session the request's cookie names, and the cookies the answer must carry:
 * a cookie of a dead session is cleared (and why it is dead logged), so the browser stops sending it.
 */
export async function browserSession(
  sessions: Pick<SessionsService, 'lookUp'>,
  request: HttpRequest,
  context: Pick<InvocationContext, 'info'>,
): Promise<{ lookup: SessionLookup; cookies: Cookie[] }> {
  const lookup = await sessions.lookUp(readCookie(request, SESSION_COOKIE));
  if (lookup.live || lookup.reason === 'no-cookie') return { lookup, cookies: [] };
  context.info('no session', { reason: lookup.reason });
  return { lookup, cookies: [clearedCookie(SESSION_COOKIE)] };
}

/**
 * A page only for clients that ask for HTML ahead of JSON (browsers do); every other client,
 * those accepting any type included, gets problem+json like the rest of the API.
 */
export function wantsPage(request: HttpRequest): boolean {
  const accept = (request.headers.get('accept') ?? '').toLowerCase();
  const html = accept.indexOf('text/html');
  if (html < 0) return false;
  const json = accept.search(/application\/(?:problem\+)?json/);
  return json < 0 || html < json;
}

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function failurePage(title: string, detail: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title><link rel="icon" href="data:,">
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}</style></head>
<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(detail)}</p></body>
</html>
`;
}

/**
 * A failed sign-in step: logged with its reason code (never tokens, codes or cookies), answered
 * with the user-facing message as a page or as problem+json, and never a redirect.
 */
export function signinFailure(
  error: unknown,
  request: HttpRequest,
  context: InvocationContext,
  cookies: Cookie[] = [],
): HttpResponseInit {
  const appError: AppError = toAppError(error);
  const log = { code: appError.code, method: request.method, url: new URL(request.url).pathname };
  if (isSigninError(error)) {
    context.warn('sign-in refused', { ...log, reason: error.reason, cause: causeOf(error) });
  } else if (SERVER_FAULTS.has(appError.code)) {
    context.error('sign-in failed', { ...log, reason: 'internal', error: describeError(error) });
  } else {
    context.warn('sign-in refused', { ...log, reason: appError.code });
  }
  if (!wantsPage(request)) return { ...problemResponse(appError), cookies };
  const problem = toProblem(appError);
  const title = isSigninError(error)
    ? error.title
    : problem.status >= 500
      ? 'Sign-in failed'
      : 'Sign-in could not start';
  const headers =
    appError.retryAfterSeconds === undefined
      ? PAGE_HEADERS
      : { ...PAGE_HEADERS, 'retry-after': String(Math.ceil(appError.retryAfterSeconds)) };
  return { status: problem.status, headers, body: failurePage(title, problem.detail), cookies };
}

/**
 * Causes of sign-in errors are our own errors (token endpoint error codes, directory statuses) or
 * jose's, whose messages name claims, never their values or the token.
 */
function causeOf(error: Error): string | undefined {
  return error.cause === undefined ? undefined : describeError(error.cause);
}

export function redirect(location: string, cookies: Cookie[]): HttpResponseInit {
  return { status: 302, headers: { location, 'cache-control': 'no-store' }, cookies };
}
