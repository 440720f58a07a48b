import { describe, expect, it } from 'vitest';
import { AppError, type ErrorCode } from '../../shared/errors.js';
import { problemResponse, toProblem } from '../../shared/http/problem.js';

describe('problem+json mapping', () => {
  it.each<[ErrorCode, number, string]>([
    ['validation', 400, '/problems/validation'],
    ['unauthorized', 401, '/problems/unauthorized'],
    ['forbidden', 403, '/problems/forbidden'],
    ['not-found', 404, '/problems/not-found'],
    ['conflict', 409, '/problems/conflict'],
    ['integration-disabled', 409, '/problems/integration-disabled'],
    ['sync-in-progress', 409, '/problems/sync-in-progress'],
    ['managed-externally', 409, '/problems/managed-externally'],
    ['tenant-not-allowed', 409, '/problems/conflict'],
    ['storage-unavailable', 503, '/problems/storage-unavailable'],
    ['internal', 500, '/problems/internal'],
  ])('%s → %i %s', (code, status, type) => {
    expect(toProblem(new AppError(code, 'why'))).toMatchObject({ status, type });
  });

  it('keeps field errors and extensions, and never lets extensions override the core members', () => {
    const problem = toProblem(
      new AppError('sync-in-progress', 'busy', {
        extensions: { runId: 'r1', status: 200 },
        fields: { a: 'bad' },
      }),
    );
    expect(problem).toEqual({
      type: '/problems/sync-in-progress',
      title: 'A sync is already in progress',
      status: 409,
      detail: 'busy',
      runId: 'r1',
      errors: { a: 'bad' },
    });
  });

  it('hides the detail of internal failures and of anything that is not an AppError', () => {
    expect(toProblem(new AppError('internal', 'db password is hunter2')).detail).not.toMatch(/hunter2/);
    expect(toProblem(new Error('stack secrets'))).toMatchObject({ status: 500 });
    expect(toProblem(new Error('stack secrets')).detail).not.toMatch(/secrets/);
  });

  it('answers application/problem+json, with WWW-Authenticate on 401 and Retry-After when known', () => {
    const unauthorized = problemResponse(new AppError('unauthorized', 'no token'));
    expect(unauthorized.headers).toEqual({
      'content-type': 'application/problem+json',
      'www-authenticate': 'Bearer',
    });
    const limited = problemResponse(new AppError('rate-limited', 'slow down', { retryAfterSeconds: 1.2 }));
    expect(limited.headers).toMatchObject({ 'retry-after': '2' });
  });
});
