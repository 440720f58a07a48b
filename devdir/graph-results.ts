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

/** Pieces of a page body stay below V8's large-object threshold (~128 KiB) even in UTF-16. */
const CHUNK_CHARS = 32 * 1024;

/**
 * A collection page (`value` last, as Graph puts it), serialized item by item into pieces rather
 * than as one string. Each item is looked up and rendered just before it is serialized (an item
 * rendered as undefined is left out): objects held for a whole page outlive young-generation
 * collections, and V8 then allocates their kind in the old generation for good.
 * The JSON is the same as `JSON.stringify` of the page (toJSON).
 */
export class CollectionPage<T> {
  constructor(
    readonly head: Readonly<Record<string, unknown>>,
    readonly items: readonly T[],
    readonly render: (item: T) => Readonly<Record<string, unknown>> | undefined,
  ) {}

  toJSON(): Record<string, unknown> {
    const value: Readonly<Record<string, unknown>>[] = [];
    for (const item of this.items) {
      const rendered = this.render(item);
      if (rendered !== undefined) value.push(rendered);
    }
    return { ...this.head, value };
  }

  /** The page's JSON in UTF-8 pieces, each made as soon as it is full so that its strings die young. */
  jsonChunks(): Buffer[] {
    const head = JSON.stringify(this.head);
    const chunks: Buffer[] = [];
    let chunk = `${head.length > 2 ? `${head.slice(0, -1)},` : '{'}"value":[`;
    let first = true;
    for (const item of this.items) {
      const rendered = this.render(item);
      if (rendered === undefined) continue;
      const json = JSON.stringify(rendered);
      chunk += first ? json : `,${json}`;
      first = false;
      if (chunk.length >= CHUNK_CHARS) {
        chunks.push(Buffer.from(chunk));
        chunk = '';
      }
    }
    chunks.push(Buffer.from(`${chunk}]}`));
    return chunks;
  }
}

export function toReply(result: GraphResult): Reply {
  const { status, headers, body } = result;
  if (body instanceof CollectionPage) return { status, headers, chunks: body.jsonChunks() };
  return { status, headers, body: JSON.stringify(body) };
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
