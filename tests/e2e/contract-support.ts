import { expect } from 'vitest';
import type { LocalHost } from '../../scripts/local-host/local-host.js';

/**
 * The outside tester's view of the management API: raw HTTP against the local host, and
 * the promises every problem answer makes.
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

export function client(host: () => LocalHost) {
  return async function api(method: string, route: string, options: ApiOptions = {}): Promise<ApiAnswer> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined || options.raw !== undefined)
      headers['content-type'] ??= 'application/json';
    const response = await fetch(`${host().url}/api/${route}`, {
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
 * RFC 9457 as the contract states it: `application/problem+json` with type, title, status and
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

export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export const uid = (): string => Math.random().toString(36).slice(2, 10);
