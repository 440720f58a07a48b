import { networkProblem, toProblem, type Problem } from './logic/problem.js';

/** A failed API call, carrying the problem the API answered. */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail === '' ? problem.title : `${problem.title}: ${problem.detail}`);
    this.name = 'ApiError';
  }
}

export interface Api {
  get<T>(path: string): Promise<T>;
  send<T>(method: 'PUT' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T>;
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/**
 * The management API of this origin, called with the staff access token. A 401 means the token is
 * no longer good: `onUnauthorized` lets the console ask for a new sign-in. `base` is where the
 * paths start: the API, or the console's own routes under `/console/`.
 */
export function createApi(
  accessToken: () => string | undefined,
  onUnauthorized: () => void,
  base = '/api/',
): Api {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = accessToken();
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new ApiError(networkProblem('the service', error));
    }
    const parsed = await readBody(response);
    if (!response.ok) {
      if (response.status === 401) onUnauthorized();
      throw new ApiError(toProblem(response.status, parsed, response.statusText));
    }
    return parsed as T;
  }
  return {
    get: (path) => call('GET', path),
    send: (method, path, body) => call(method, path, body),
  };
}

export function problemOf(error: unknown): Problem {
  if (error instanceof ApiError) return error.problem;
  return networkProblem('the service', error);
}
