import type { HttpRequest, InvocationContext } from '@azure/functions';
import { AppError } from '../shared/errors.js';
import { problemResponse } from '../shared/http/problem.js';
import { json, noContent, parseWith, withProblems } from '../shared/http/respond.js';
import { registerHttp } from '../shared/host/registry.js';
import { loginQuerySchema } from '../shared/auth/schemas.js';
import { clientAddressOf } from '../shared/throttle/limiter.js';
import {
  browserSession,
  clearedCookie,
  readCookie,
  redirect,
  SESSION_COOKIE,
  sessionCookie,
  signinFailure,
  TRANSACTION_COOKIE,
  transactionCookie,
} from '../shared/auth/signin-http.js';

/** Form posts from the directory (response_mode=form_post) are small; anything larger is not one. */
const MAX_CALLBACK_BODY_BYTES = 16 * 1024;

registerHttp('authLogin', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'auth/login',
  handler: ({ signin, clock }) =>
    withProblems(async (request: HttpRequest, context: InvocationContext) => {
      try {
        const query = parseWith(loginQuerySchema, {
          environment: request.query.get('environment') ?? undefined,
          returnTo: request.query.get('returnTo') ?? undefined,
        });
        const started = await signin.start(
          query.environment,
          query.returnTo,
          clientAddressOf(request.headers.get('x-forwarded-for')),
        );
        return redirect(started.location, [
          transactionCookie(started.transactionSecret, started.transactionExpiresAt, clock.now()),
        ]);
      } catch (error) {
        return signinFailure(error, request, context);
      }
    }),
});

async function callbackParameters(request: HttpRequest): Promise<URLSearchParams> {
  if (request.method !== 'POST') return new URLSearchParams(request.query);
  const contentType = request.headers.get('content-type') ?? '';
  if (!/^application\/x-www-form-urlencoded\s*(?:;|$)/i.test(contentType)) {
    throw new AppError('unsupported-media-type', 'The callback accepts a form post only.');
  }
  const text = await request.text();
  if (Buffer.byteLength(text) > MAX_CALLBACK_BODY_BYTES) {
    throw new AppError('payload-too-large', 'The callback body is too large.');
  }
  return new URLSearchParams(text);
}

registerHttp('authCallback', {
  methods: ['GET', 'POST'],
  authLevel: 'anonymous',
  route: 'auth/callback',
  handler: ({ signin, clock }) =>
    withProblems(async (request: HttpRequest, context: InvocationContext) => {
      // The transaction is single-use whatever the outcome, so the browser may forget it.
      const forgetTransaction = clearedCookie(TRANSACTION_COOKIE);
      try {
        const parameters = await callbackParameters(request);
        const completed = await signin.complete({
          transactionSecret: readCookie(request, TRANSACTION_COOKIE),
          state: parameters.get('state') ?? undefined,
          code: parameters.get('code') ?? undefined,
          error: parameters.get('error') ?? undefined,
        });
        context.info('signed in', { environment: completed.environmentId, userId: completed.userId });
        return redirect(completed.returnTo, [
          forgetTransaction,
          sessionCookie(completed.session.secret, completed.session.expiresAt, clock.now()),
        ]);
      } catch (error) {
        return signinFailure(error, request, context, [forgetTransaction]);
      }
    }),
});

registerHttp('authSession', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'auth/session',
  handler: ({ sessions }) =>
    withProblems(async (request: HttpRequest, context: InvocationContext) => {
      const { lookup, cookies } = await browserSession(sessions, request, context);
      if (lookup.live) return json(200, lookup.session);
      return { ...problemResponse(new AppError('unauthorized', 'You are not signed in.')), cookies };
    }),
});

registerHttp('authLogout', {
  methods: ['POST'],
  authLevel: 'anonymous',
  route: 'auth/logout',
  handler: ({ sessions }) =>
    withProblems(async (request: HttpRequest) => {
      await sessions.end(readCookie(request, SESSION_COOKIE));
      return { ...noContent(), cookies: [clearedCookie(SESSION_COOKIE)] };
    }),
});
