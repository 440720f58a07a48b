import type { Directory } from './model.js';
import { takeFailure } from './faults.js';
import { requestId, type Reply } from './http.js';

/** What Graph answers for one request (a whole HTTP request or one part of a `$batch`). */
export interface GraphResult {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

export const ODATA_JSON =
  'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';
export function graphError(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): GraphResult {
  const id = requestId();
  return {
    status,
    headers: { 'content-type': 'application/json', 'request-id': id, 'client-request-id': id, ...headers },
    body: {
      error: {
        code,
        message,
        innerError: {
          date: new Date().toISOString().replace(/\.\d{3}Z$/, ''),
          'request-id': id,
          'client-request-id': id,
        },
      },
    },
  };
}

export function ok(body: unknown): GraphResult {
  return { status: 200, headers: { 'content-type': ODATA_JSON, 'request-id': requestId() }, body };
}

export function badRequest(message: string): GraphResult {
  return graphError(400, 'Request_BadRequest', message);
}

export function notFound(id: string): GraphResult {
  return graphError(
    404,
    'Request_ResourceNotFound',
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );
}

export function denied(): GraphResult {
  return graphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
}

function retryAfterHeader(seconds: number | null): Record<string, string> {
  return seconds === null ? {} : { 'retry-after': String(seconds) };
}

export function toReply(result: GraphResult): Reply {
  return { status: result.status, headers: result.headers, body: JSON.stringify(result.body) };
}

export function isResult(value: unknown): value is GraphResult {
  return typeof value === 'object' && value !== null && 'status' in value && 'body' in value;
}

export function unauthorized(message: string): GraphResult {
  return graphError(401, 'InvalidAuthenticationToken', message, {
    'www-authenticate':
      'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"',
  });
}

/** Consumes the directory's injected faults for one operation; a result when it must fail. */
export function injectedFault(directory: Directory): GraphResult | undefined {
  const failure = takeFailure(directory, 'graph');
  if (failure === undefined) return undefined;
  const [code, message] =
    failure.status === 429
      ? ['TooManyRequests', 'Too many requests. Please try again later.']
      : failure.status === 500
        ? ['generalException', 'General exception while processing.']
        : failure.status === 503
          ? ['serviceNotAvailable', 'Service unavailable.']
          : ['gatewayTimeout', 'Gateway timeout.'];
  return graphError(failure.status, code, message, retryAfterHeader(failure.retryAfterSeconds));
}
