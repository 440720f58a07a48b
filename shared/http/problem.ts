import type { HttpResponseInit } from '@azure/functions';
import { AppError, SERVER_FAULTS, type ErrorCode, toAppError } from '../errors.js';

/** RFC 9457 problem document. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: Record<string, string>;
  [extension: string]: unknown;
}

interface ProblemKind {
  readonly status: number;
  readonly type: string;
  readonly title: string;
}

const DIRECTORY_ERROR: ProblemKind = {
  status: 502,
  type: '/problems/directory-error',
  title: 'The directory could not be read',
};
const INTERNAL: ProblemKind = { status: 500, type: '/problems/internal', title: 'Internal error' };

/** Every error code's answer. Server faults keep their message out of the answer. */
const PROBLEMS: Readonly<Record<ErrorCode, ProblemKind>> = {
  validation: { status: 400, type: '/problems/validation', title: 'Validation failed' },
  unauthorized: { status: 401, type: '/problems/unauthorized', title: 'Unauthorized' },
  forbidden: { status: 403, type: '/problems/forbidden', title: 'Forbidden' },
  'not-found': { status: 404, type: '/problems/not-found', title: 'Not found' },
  'method-not-allowed': { status: 405, type: '/problems/method-not-allowed', title: 'Method not allowed' },
  conflict: { status: 409, type: '/problems/conflict', title: 'Conflict' },
  'integration-disabled': {
    status: 409,
    type: '/problems/integration-disabled',
    title: 'External users integration is disabled',
  },
  'sync-in-progress': {
    status: 409,
    type: '/problems/sync-in-progress',
    title: 'A sync is already in progress',
  },
  'managed-externally': {
    status: 409,
    type: '/problems/managed-externally',
    title: 'Managed by the external directory',
  },
  // The contract's types only: a body that cannot be read is a validation problem, with its own status.
  'payload-too-large': { status: 413, type: '/problems/validation', title: 'Payload too large' },
  'unsupported-media-type': { status: 415, type: '/problems/validation', title: 'Unsupported media type' },
  'rate-limited': { status: 429, type: '/problems/rate-limited', title: 'Too many requests' },
  'signin-failed': { status: 400, type: '/problems/signin-failed', title: 'Sign-in failed' },
  'directory-unreachable': DIRECTORY_ERROR,
  'directory-timeout': DIRECTORY_ERROR,
  'directory-throttled': DIRECTORY_ERROR,
  'directory-credentials-invalid': DIRECTORY_ERROR,
  'directory-credentials-expired': DIRECTORY_ERROR,
  'directory-app-not-found': DIRECTORY_ERROR,
  'directory-tenant-not-found': DIRECTORY_ERROR,
  'directory-permission-missing': DIRECTORY_ERROR,
  'group-not-found': DIRECTORY_ERROR,
  'directory-malformed-answer': DIRECTORY_ERROR,
  // The caller can act on it (the tenant's owner lists the environment); the directory is not at fault.
  'tenant-not-allowed': {
    status: 409,
    type: '/problems/conflict',
    title: 'The tenant does not allow this environment',
  },
  'storage-unavailable': { status: 503, type: '/problems/storage-unavailable', title: 'Storage unavailable' },
  'keys-unavailable': {
    status: 503,
    type: '/problems/keys-unavailable',
    title: 'Token signing keys unavailable',
  },
  'config-invalid': INTERNAL,
  internal: INTERNAL,
};

export function toProblem(error: unknown): Problem {
  const appError: AppError = toAppError(error);
  const kind = PROBLEMS[appError.code];
  const problem: Problem = {
    ...(appError.extensions ?? {}),
    type: kind.type,
    title: kind.title,
    status: kind.status,
    detail: SERVER_FAULTS.has(appError.code)
      ? 'The service could not complete the request.'
      : appError.message,
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
