import type { HttpResponseInit } from '@azure/functions';
import { expect } from 'vitest';

/**
 * The outside tester's view of the HTTP API: raw requests against a running host, and the
 * promises every problem answer makes.
 */

export interface ApiAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly body: unknown;
}

export interface ApiOptions {
  readonly token?: string;
  readonly body?: unknown;
  readonly raw?: string;
  readonly headers?: Record<string, string>;
}

export type Api = (method: string, route: string, options?: ApiOptions) => Promise<ApiAnswer>;

/** A client of the API under `/api` of the host `base()` names (read at each call). */
export function apiClient(base: () => { readonly url: string }): Api {
  return async function api(method, route, options = {}) {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined || options.raw !== undefined)
      headers['content-type'] ??= 'application/json';
    const response = await fetch(`${base().url}/api/${route}`, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      ...(options.raw !== undefined ? { body: options.raw } : {}),
    });
    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : (JSON.parse(text) as unknown);
    } catch {
      // An HTML page or other text: callers check `text`.
      body = undefined;
    }
    return { status: response.status, headers: response.headers, text, body };
  };
}

/**
 * RFC 9457 as the service promises it: `application/problem+json` with type, title, status and
 * detail; `errors` naming each bad field for validation problems.
 */
export function expectProblem(
  answer: ApiAnswer,
  status: number,
  type: string,
  fields?: readonly string[],
): Record<string, unknown> {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json\b/);
  const problem = answer.body as Record<string, unknown>;
  expect(problem).toMatchObject({ type, status });
  expect(typeof problem.title).toBe('string');
  expect(problem.title).not.toBe('');
  expect(typeof problem.detail).toBe('string');
  if (fields !== undefined) {
    const errors = problem.errors as Record<string, unknown> | undefined;
    expect(errors, 'errors per field').toBeDefined();
    for (const field of fields) expect(typeof errors?.[field], `errors.${field}`).toBe('string');
  }
  return problem;
}

/** The JSON body of a handler's response (handlers here always answer with a string body). */
export function bodyOf(response: HttpResponseInit): unknown {
  if (typeof response.body !== 'string') throw new Error('the response body is not a string');
  return JSON.parse(response.body) as unknown;
}
