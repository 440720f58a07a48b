import type { HttpResponseInit } from '@azure/functions';
import { AppError, type ErrorCode, toAppError } from '../errors.js';

/** RFC 9457 problem document, as the contract (§3) promises it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: Record<string, string>;
  [extension: string]: unknown;
}

interface ProblemKind {
  status: number;
  type: string;
  title: string;
  /** Internal failures must not leak their message to callers. */
  exposeDetail: boolean;
}

function kindOf(code: ErrorCode): ProblemKind {
  switch (code) {
    case 'validation':
      return { status: 400, type: '/problems/validation', title: 'Validation failed', exposeDetail: true };
    case 'unauthorized':
      return { status: 401, type: '/problems/unauthorized', title: 'Unauthorized', exposeDetail: true };
    case 'forbidden':
      return { status: 403, type: '/problems/forbidden', title: 'Forbidden', exposeDetail: true };
    case 'not-found':
      return { status: 404, type: '/problems/not-found', title: 'Not found', exposeDetail: true };
    case 'method-not-allowed':
      return {
        status: 405,
        type: '/problems/method-not-allowed',
        title: 'Method not allowed',
        exposeDetail: true,
      };
    case 'conflict':
      return { status: 409, type: '/problems/conflict', title: 'Conflict', exposeDetail: true };
    case 'integration-disabled':
      return {
        status: 409,
        type: '/problems/integration-disabled',
        title: 'External users integration is disabled',
        exposeDetail: true,
      };
    case 'sync-in-progress':
      return {
        status: 409,
        type: '/problems/sync-in-progress',
        title: 'A sync is already in progress',
        exposeDetail: true,
      };
    case 'managed-externally':
      return {
        status: 409,
        type: '/problems/managed-externally',
        title: 'Managed by the external directory',
        exposeDetail: true,
      };
    case 'payload-too-large':
      return { status: 413, type: '/problems/validation', title: 'Payload too large', exposeDetail: true };
    case 'unsupported-media-type':
      return {
        status: 415,
        type: '/problems/validation',
        title: 'Unsupported media type',
        exposeDetail: true,
      };
    case 'rate-limited':
      return { status: 429, type: '/problems/rate-limited', title: 'Too many requests', exposeDetail: true };
    case 'signin-failed':
      return { status: 400, type: '/problems/signin-failed', title: 'Sign-in failed', exposeDetail: true };
    // TRANSITIONAL: the former directory codes and the new ones share the old answer until mapped.
    case 'directory-auth-failed':
    case 'directory-group-not-found':
    case 'directory-forbidden':
    case 'directory-throttled':
    case 'directory-unavailable':
    case 'directory-malformed':
    case 'directory-unreachable':
    case 'directory-timeout':
    case 'directory-credentials-invalid':
    case 'directory-credentials-expired':
    case 'directory-app-not-found':
    case 'directory-tenant-not-found':
    case 'directory-permission-missing':
    case 'group-not-found':
    case 'directory-malformed-answer':
    case 'tenant-not-allowed':
      return {
        status: 502,
        type: '/problems/directory-error',
        title: 'The directory could not be read',
        exposeDetail: true,
      };
    case 'storage-unavailable':
      return {
        status: 503,
        type: '/problems/storage-unavailable',
        title: 'Storage unavailable',
        exposeDetail: false,
      };
    case 'config-invalid':
    case 'internal':
      return { status: 500, type: '/problems/internal', title: 'Internal error', exposeDetail: false };
  }
}

export function toProblem(error: unknown): Problem {
  const appError: AppError = toAppError(error);
  const kind = kindOf(appError.code);
  const problem: Problem = {
    ...(appError.extensions ?? {}),
    type: kind.type,
    title: kind.title,
    status: kind.status,
    detail: kind.exposeDetail ? appError.message : 'The service could not complete the request.',
  };
  if (appError.fields) problem.errors = { ...appError.fields };
  return problem;
}

export function problemResponse(error: unknown): HttpResponseInit {
  const problem = toProblem(error);
  const headers: Record<string, string> = { 'content-type': 'application/problem+json' };
  // RFC 9110: a 401 names the scheme the caller should use.
  if (problem.status === 401) headers['www-authenticate'] = 'Bearer';
  if (error instanceof AppError && error.retryAfterSeconds !== undefined) {
    headers['retry-after'] = String(Math.ceil(error.retryAfterSeconds));
  }
  return { status: problem.status, headers, body: JSON.stringify(problem) };
}
