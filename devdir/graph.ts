import type { IncomingMessage } from 'node:http';
import type { Core } from './core.js';
import { slowedDown } from './faults.js';
import { batch } from './graph-batch.js';
import { execute, type Caller } from './graph-execute.js';
import { lowerHeaders } from './graph-query.js';
import { graphError, injectedFault, toReply, unauthorized } from './graph-results.js';
import type { Reply } from './http.js';
import { verifyAccessToken } from './tokens.js';

/** Everything under `/v1.0`. */
export async function handleGraph(core: Core, request: IncomingMessage, url: URL): Promise<Reply> {
  const method = request.method ?? 'GET';
  const authorization = request.headers.authorization ?? '';
  const token = /^bearer\s+(.+)$/i.exec(authorization)?.[1]?.trim();
  const log = (
    directoryId: string | undefined,
    status: number,
    kind: 'graph' | 'graph-batch-part' = 'graph',
    logPath = url.pathname,
    query = url.search.slice(1),
  ): void => core.record({ kind, directoryId, method, path: logPath, query, status });
  if (token === undefined || token === '') {
    const result = unauthorized('Access token is empty.');
    log(undefined, result.status);
    return toReply(result);
  }
  const check = await verifyAccessToken(token, {
    origin: core.origin,
    audience: core.graphAudience,
    directory: (id) => core.directory(id),
  });
  if (!check.ok) {
    const result = unauthorized(check.message);
    log(check.directoryId, result.status);
    return toReply(result);
  }
  const { directory, claims } = check;
  const roles = Array.isArray(claims.roles) ? (claims.roles as unknown[]) : [];
  const caller: Caller = {
    directory,
    canReadDirectory: roles.some((role) =>
      ['GroupMember.Read.All', 'Group.Read.All', 'Directory.Read.All'].includes(String(role)),
    ),
  };
  return slowedDown(directory, 'graph', () => answerGraph(core, caller, request, url, log));
}

async function answerGraph(
  core: Core,
  caller: Caller,
  request: IncomingMessage,
  url: URL,
  log: (directoryId: string | undefined, status: number) => void,
): Promise<Reply> {
  const { directory } = caller;
  const path = url.pathname.slice('/v1.0'.length);
  const method = request.method ?? 'GET';
  if (path === '/$batch') {
    if (method !== 'POST') {
      const result = graphError(405, 'BadRequest', 'The $batch endpoint accepts only POST.');
      log(directory.id, result.status);
      return toReply(result);
    }
    const result = await batch(core, caller, request);
    log(directory.id, result.status);
    return toReply(result);
  }
  const result =
    injectedFault(directory) ??
    execute(core, caller, method, path, url.searchParams, lowerHeaders(request.headers));
  log(directory.id, result.status);
  return toReply(result);
}
