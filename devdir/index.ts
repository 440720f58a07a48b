import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdmin, dispatchAdmin, type DevDirectoryAdmin } from './admin.js';
import { ensureDevCa, ensureServerCredentials } from './ca.js';
import { Core } from './core.js';
import { discovery, injectedEntraFault, jwks } from './entra.js';
import { authorize, authorizePost, logout } from './entra-signin.js';
import { token } from './entra-token.js';
import { slowedDown } from './faults.js';
import { handleGraph } from './graph.js';
import { escapeHtml, htmlReply, jsonReply, readBody, send, type Reply } from './http.js';
import { loadOrCreatePersistentKey, warmKeyPool } from './keys.js';
import { handleManagement } from './management-oidc.js';
import { DirectoryAdminError } from './records.js';
import type { DirectorySeed, RequestKind } from './types.js';

export { ensureDevCa, extraCaCertsWith } from './ca.js';
export { createAdminClient, DevDirectoryAdminError, type AdminTransport } from './client.js';
export { readMailbox, startMailSink, type MailSink, type StartMailSinkOptions } from './mail-sink.js';
export { ADMIN_METHODS } from './admin.js';
export { DEFAULT_PASSWORD, DEFAULT_REDIRECT_URI, DirectoryAdminError } from './records.js';
export { generatedUserId } from './ids.js';
export { MANAGEMENT_AUDIENCE } from './tokens.js';
export type { ManagementClientSpec } from './management-clients.js';
export * from './types.js';

export interface StartDevDirectoryOptions {
  /** 0 or absent: a free port. */
  readonly port?: number;
  /** Holds the CA and the management signing key (`.dev/devdir` for `npm start`). */
  readonly stateDir: string;
  /** A JSON file path or the seed itself. */
  readonly seed?: string | DirectorySeed;
}

export interface DevDirectory {
  /** `https://localhost:PORT` */
  readonly origin: string;
  readonly port: number;
  /** PEM of the CA that signed the server certificate (for NODE_EXTRA_CA_CERTS). */
  readonly caCertPath: string;
  readonly admin: DevDirectoryAdmin;
  stop(): Promise<void>;
}

const ENTRA_ROUTE =
  /^\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|discovery\/v2\.0\/keys|oauth2\/v2\.0\/(?:authorize|token|logout))$/;

async function routeAdmin(admin: DevDirectoryAdmin, request: IncomingMessage, path: string): Promise<Reply> {
  if (request.method !== 'POST')
    return jsonReply(405, { error: { code: 'MethodNotAllowed', message: 'POST only' } });
  const body = await readBody(request);
  let args: unknown;
  try {
    args = body === '' ? [] : JSON.parse(body);
  } catch (error) {
    if (error instanceof SyntaxError) throw new DirectoryAdminError(400, 'the body is not JSON');
    throw error;
  }
  const result = await dispatchAdmin(admin, path.slice('/_admin/'.length), args);
  return jsonReply(200, { result: result ?? null });
}

function entraKind(endpoint: string): RequestKind {
  if (endpoint.endsWith('openid-configuration')) return 'discovery';
  if (endpoint.endsWith('keys')) return 'keys';
  if (endpoint.endsWith('token')) return 'token';
  return 'authorize';
}

/** Discovery, keys and token answers: slowed down or replaced by a fault when one is injected. */
function entraServiceReply(
  core: Core,
  tenantId: string,
  kind: 'discovery' | 'keys' | 'token',
  request: IncomingMessage,
): Promise<Reply> {
  return slowedDown(
    core.directory(tenantId),
    kind,
    async () =>
      injectedEntraFault(core, tenantId, kind) ??
      (kind === 'discovery'
        ? discovery(core, tenantId)
        : kind === 'keys'
          ? jwks(core, tenantId)
          : request.method === 'POST'
            ? await token(core, tenantId, request)
            : jsonReply(405, {
                error: 'invalid_request',
                error_description: 'AADSTS900561: The endpoint only accepts POST requests.',
              })),
  );
}

async function routeEntra(
  core: Core,
  request: IncomingMessage,
  url: URL,
  tenantId: string,
  endpoint: string,
): Promise<Reply> {
  const method = request.method ?? 'GET';
  const kind = entraKind(endpoint);
  let reply: Reply;
  if (kind === 'discovery' || kind === 'keys' || kind === 'token') {
    reply = await entraServiceReply(core, tenantId, kind, request);
  } else if (endpoint.endsWith('logout')) reply = logout(url.searchParams);
  else
    reply =
      method === 'POST'
        ? await authorizePost(core, tenantId, request, url.searchParams)
        : authorize(core, tenantId, url.searchParams);
  core.record({
    kind,
    directoryId: core.directory(tenantId)?.id,
    method,
    path: url.pathname,
    query: kind === 'authorize' ? '' : url.search.slice(1),
    status: reply.status,
  });
  return reply;
}

async function route(core: Core, admin: DevDirectoryAdmin, request: IncomingMessage): Promise<Reply> {
  const url = new URL(request.url ?? '/', core.origin);
  const path = url.pathname;
  if (path.startsWith('/v1.0/')) return handleGraph(core, request, url);
  if (path.startsWith('/_admin/')) return routeAdmin(admin, request, path);
  if (path.startsWith('/management/')) {
    const reply = await handleManagement(core, request, url);
    if (reply !== undefined) return reply;
  }
  const entra = ENTRA_ROUTE.exec(path);
  if (entra !== null) return routeEntra(core, request, url, (entra[1] ?? '').toLowerCase(), entra[2] ?? '');
  if (path === '/' && (request.method ?? 'GET') === 'GET') return indexPage(core);
  return jsonReply(404, { error: { code: 'NotFound', message: `No dev directory endpoint at ${path}` } });
}

function indexPage(core: Core): Reply {
  const rows = [...core.directories.values()]
    .map(
      (d) =>
        `<li><strong>${escapeHtml(d.displayName)}</strong> <code>${d.id}</code> — <a href="/${d.id}/v2.0/.well-known/openid-configuration">OpenID configuration</a></li>`,
    )
    .join('\n');
  return htmlReply(
    200,
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Dev directory</title><link rel="icon" href="data:,"></head><body>
<h1>BizzStream dev directory</h1><p>A local stand-in for Microsoft Entra ID and Microsoft Graph v1.0 (Graph under <code>/v1.0</code>).</p>
<ul>${rows}</ul></body></html>`,
  );
}

function onRequest(core: Core, admin: DevDirectoryAdmin) {
  return (request: IncomingMessage, response: ServerResponse): void => {
    route(core, admin, request).then(
      (reply) => send(response, reply),
      (error: unknown) => {
        if (error instanceof DirectoryAdminError) {
          send(response, jsonReply(error.status, { error: { code: 'AdminError', message: error.message } }));
          return;
        }
        console.error('[devdir] request failed', request.method, request.url, error);
        send(
          response,
          jsonReply(500, { error: { code: 'InternalError', message: 'dev directory failure' } }),
        );
      },
    );
  };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

async function readSeed(seed: string | DirectorySeed | undefined): Promise<DirectorySeed | undefined> {
  if (seed === undefined || typeof seed !== 'string') return seed;
  return JSON.parse(await readFile(seed, 'utf8')) as DirectorySeed;
}

/**
 * Starts the dev directory: HTTPS on loopback (IPv4, and IPv6 where the machine has it, on the
 * same port, so `https://localhost:PORT` works whichever address `localhost` resolves to).
 */
export async function startDevDirectory(options: StartDevDirectoryOptions): Promise<DevDirectory> {
  warmKeyPool();
  const { caCertPath } = await ensureDevCa(options.stateDir);
  const credentials = await ensureServerCredentials(options.stateDir);
  const managementKey = await loadOrCreatePersistentKey(options.stateDir, 'management');
  const servers: Server[] = [];
  // The origin (and so the core) is known only once the port is bound.
  const state: { core?: Core; admin?: DevDirectoryAdmin } = {};
  const handler = (request: IncomingMessage, response: ServerResponse): void => {
    const { core, admin } = state;
    if (core === undefined || admin === undefined) {
      send(response, jsonReply(503, { error: { code: 'Starting', message: 'dev directory is starting' } }));
      return;
    }
    onRequest(core, admin)(request, response);
  };
  const v4 = createServer({ cert: credentials.cert, key: credentials.key }, handler);
  servers.push(v4);
  const port = await listen(v4, options.port ?? 0, '127.0.0.1');
  const v6 = createServer({ cert: credentials.cert, key: credentials.key }, handler);
  try {
    await listen(v6, port, '::1');
    servers.push(v6);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // No IPv6 loopback on this machine: localhost can only resolve to 127.0.0.1 then.
    if (code !== 'EADDRNOTAVAIL' && code !== 'EAFNOSUPPORT' && code !== 'EINVAL') {
      await close(v4);
      throw error;
    }
  }
  const origin = `https://localhost:${port}`;
  const core = new Core(origin, managementKey);
  const admin = createAdmin(core);
  state.core = core;
  state.admin = admin;
  const seed = await readSeed(options.seed);
  for (const spec of seed?.directories ?? []) await admin.createDirectory(spec);
  const sweeper = setInterval(() => core.sweep(), 60_000);
  sweeper.unref();
  return {
    origin,
    port,
    caCertPath,
    admin,
    async stop() {
      clearInterval(sweeper);
      await Promise.all(servers.map(close));
    },
  };
}
