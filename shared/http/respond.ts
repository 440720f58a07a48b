import type { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { z } from 'zod';
import { AppError, SERVER_FAULTS, toAppError } from '../errors.js';
import { parseWith } from '../validation.js';
import { problemResponse } from './problem.js';

export { parseWith } from '../validation.js';

/** Largest JSON body the API accepts; every request the API defines is far smaller. */
export const MAX_JSON_BODY_BYTES = 64 * 1024;

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/**
 * A route parameter: the one way handlers read them. The host only calls a handler when its
 * template matched, so the parameter is present.
 */
export function routeParam(request: HttpRequest, name: string): string {
  return request.params[name] ?? '';
}

/** The answer to a PUT: 201 with the new resource's location, or 200 where it existed already. */
export function putAnswer(created: boolean, body: unknown, location: string): HttpResponseInit {
  return created ? json(201, body, { location }) : json(200, body);
}

/** The query parameters `names` (absent ones undefined), validated by `schema`. */
export function parseQuery<S extends z.ZodType>(
  request: HttpRequest,
  schema: S,
  names: readonly string[],
): z.output<S> {
  return parseWith(
    schema,
    Object.fromEntries(names.map((name) => [name, request.query.get(name) ?? undefined])),
  );
}

export function noContent(): HttpResponseInit {
  return { status: 204, headers: { 'cache-control': 'no-store' } };
}

/**
 * Wraps a handler so that every failure leaves as problem+json: AppErrors with their own status,
 * anything else as a logged 500 whose details stay in the logs.
 */
export function withProblems(handler: HttpHandler): HttpHandler {
  return async (request: HttpRequest, context: InvocationContext) => {
    try {
      return await handler(request, context);
    } catch (error) {
      const appError = toAppError(error);
      const log = { code: appError.code, method: request.method, url: new URL(request.url).pathname };
      if (SERVER_FAULTS.has(appError.code)) {
        context.error('request failed', { ...log, error: describeError(error) });
      } else {
        context.warn('request refused', log);
      }
      return problemResponse(appError);
    }
  };
}

/** A log-safe description of an error chain: names, codes and messages, never request bodies. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    if (current instanceof Error) {
      const code = current instanceof AppError ? `[${current.code}] ` : '';
      parts.push(`${current.name}: ${code}${current.message}`);
      current = current.cause;
    } else {
      parts.push(typeof current === 'string' ? current : `non-error value (${typeof current})`);
      break;
    }
  }
  return parts.join(' <- ');
}

/**
 * Reads a JSON body (content type, size, syntax) and validates it against `schema`.
 * `optional`: an empty body stands for `{}`.
 */
export async function readJsonBody<S extends z.ZodType>(
  request: HttpRequest,
  schema: S,
  {
    optional = false,
    anyContentType = false,
  }: {
    optional?: boolean;
    /**
     * Anonymous forms (password reset) are posted by browsers and simple clients that may not
     * label the body; what matters there is only whether the body has the right shape.
     */
    anyContentType?: boolean;
  } = {},
): Promise<z.output<S>> {
  // Validation problems name their field, these too: the body as a whole.
  const tooLarge = () =>
    new AppError('payload-too-large', `The body may be at most ${MAX_JSON_BODY_BYTES} bytes.`, {
      fields: { body: `must be at most ${MAX_JSON_BODY_BYTES} bytes` },
    });
  const declaredLength = Number(request.headers.get('content-length') ?? '0');
  if (declaredLength > MAX_JSON_BODY_BYTES) throw tooLarge();
  const text = await request.text();
  if (Buffer.byteLength(text) > MAX_JSON_BODY_BYTES) throw tooLarge();
  if (text.trim() === '') {
    if (optional) return parseWith(schema, {});
    throw new AppError('validation', 'A JSON body is required.', { fields: { body: 'is required' } });
  }
  const contentType = request.headers.get('content-type') ?? '';
  if (!anyContentType && !/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(contentType)) {
    throw new AppError('unsupported-media-type', 'The body must be application/json.', {
      fields: { body: 'must be application/json' },
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new AppError('validation', 'The body is not valid JSON.', {
      fields: { body: 'is not valid JSON' },
      cause: error,
    });
  }
  return parseWith(schema, value);
}
