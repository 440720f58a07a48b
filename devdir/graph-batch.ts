import type { IncomingMessage } from 'node:http';
import type { Core } from './core.js';
import { execute, type Caller } from './graph-execute.js';
import { lowerHeaders } from './graph-query.js';
import { graphError, injectedFault, ODATA_JSON, type GraphResult } from './graph-results.js';
import { readBody, requestId } from './http.js';

const BATCH_LIMIT = 20;

interface BatchPart {
  id?: unknown;
  method?: unknown;
  url?: unknown;
  headers?: unknown;
}

export async function batch(core: Core, caller: Caller, request: IncomingMessage): Promise<GraphResult> {
  let payload: { requests?: unknown };
  try {
    payload = JSON.parse(await readBody(request)) as { requests?: unknown };
  } catch (error) {
    if (error instanceof SyntaxError) return graphError(400, 'BadRequest', 'Invalid batch payload format.');
    throw error;
  }
  if (!Array.isArray(payload.requests) || payload.requests.length === 0) {
    return graphError(400, 'BadRequest', 'Invalid batch payload format.');
  }
  const parts = payload.requests as BatchPart[];
  if (parts.length > BATCH_LIMIT) {
    return graphError(
      400,
      'BadRequest',
      `The number of requests in a batch exceeds the limit of ${BATCH_LIMIT}.`,
    );
  }
  const ids = new Set<string>();
  for (const part of parts) {
    if (typeof part.id !== 'string' || typeof part.method !== 'string' || typeof part.url !== 'string') {
      return graphError(
        400,
        'BadRequest',
        'Invalid batch payload format: each request needs id, method and url.',
      );
    }
    if (ids.has(part.id))
      return graphError(400, 'BadRequest', `Batch request ids must be unique: '${part.id}'.`);
    ids.add(part.id);
  }
  const responses = parts.map((part) => answerPart(core, caller, part));
  return {
    status: 200,
    headers: { 'content-type': ODATA_JSON, 'request-id': requestId() },
    body: { responses },
  };
}

/** One part of a `$batch`, answered as Graph answers it inside the batch. */
function answerPart(core: Core, caller: Caller, part: BatchPart) {
  const relative = String(part.url).replace(/^\/?/, '/');
  const url = new URL(`${core.origin}/v1.0${relative}`);
  const headers =
    typeof part.headers === 'object' && part.headers !== null
      ? lowerHeaders(part.headers as Record<string, unknown>)
      : {};
  const result =
    injectedFault(caller.directory) ??
    execute(
      core,
      caller,
      String(part.method).toUpperCase(),
      url.pathname.slice('/v1.0'.length),
      url.searchParams,
      headers,
    );
  core.record({
    kind: 'graph-batch-part',
    directoryId: caller.directory.id,
    method: String(part.method).toUpperCase(),
    path: url.pathname,
    query: url.search.slice(1),
    status: result.status,
  });
  const headersOut = { ...result.headers };
  delete headersOut['request-id'];
  delete headersOut['client-request-id'];
  return {
    id: part.id,
    status: result.status,
    headers: { 'Cache-Control': 'no-cache', ...capitalize(headersOut) },
    body: result.body,
  };
}

function capitalize(headers: Record<string, string>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    result[name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase())] = value;
  }
  return result;
}
