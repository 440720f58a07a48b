import type { IncomingMessage, ServerResponse } from 'node:http';
import azureFunctions, { type Cookie, type HttpResponseInit } from '@azure/functions';
import { serialize as serializeCookie, type SerializeOptions } from 'cookie';
import type { BoundRegistration as Registration } from '../../shared/host/registry.js';
import { RouteTable } from '../../shared/host/routes.js';
import { formatLogArgs, type Invoker } from './invoker.js';

const { HttpRequest, HttpResponse } = azureFunctions;

/** Requests larger than this are refused before a handler sees them. */
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
const ADMIN_PATH = /^\/admin\/functions\/([^/]+)\/?$/;
export const PROGRAMMATIC_CALL = 'This function was programmatically called via the host APIs.';

export type HttpRegistration = Extract<Registration, { kind: 'http' }>;

/** A non-HTTP function to run now with an input, or undefined when there is none of that name. */
export type FindAdminFunction = (name: string) => ((input: unknown) => Promise<void>) | undefined;

export interface RequestListenerOptions {
  readonly routes: RouteTable<HttpRegistration>;
  /** host.json's route prefix, without slashes ('' for none). */
  readonly routePrefix: string;
  readonly invoker: Invoker;
  /** Serves `POST /admin/functions/{name}` when given; without it that path does not exist. */
  readonly adminFunctions?: FindAdminFunction;
}

/** The HTTP registrations by route template; methods default to GET and POST, as in the host. */
export function routeTableOf(registrations: readonly Registration[]): RouteTable<HttpRegistration> {
  const routes = new RouteTable<HttpRegistration>();
  for (const registration of registrations) {
    if (registration.kind !== 'http') continue;
    const methods = registration.options.methods ?? ['GET', 'POST'];
    routes.add(registration.options.route ?? registration.name, methods, registration);
  }
  return routes;
}

/** The request body, or `undefined` once a 413 has been answered for an oversized one. */
async function readBodyOrRefuse(
  request: IncomingMessage,
  response: ServerResponse,
): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_REQUEST_BYTES) {
      response.writeHead(413).end();
      return undefined;
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

function toSerializeOptions(cookie: Cookie): SerializeOptions {
  return {
    domain: cookie.domain,
    path: cookie.path,
    expires: cookie.expires === undefined ? undefined : new Date(cookie.expires),
    maxAge: cookie.maxAge,
    secure: cookie.secure,
    httpOnly: cookie.httpOnly,
    sameSite: cookie.sameSite?.toLowerCase() as SerializeOptions['sameSite'],
  };
}

/** The path below the route prefix, or undefined outside it. */
function routePathOf(pathname: string, routePrefix: string): string | undefined {
  if (pathname === `/${routePrefix}`) return '';
  const prefix = routePrefix === '' ? '/' : `/${routePrefix}/`;
  return pathname.startsWith(prefix) ? pathname.slice(prefix.length) : undefined;
}

function toHttpRequest(
  request: IncomingMessage,
  url: URL,
  params: Record<string, string>,
  body: Buffer,
): InstanceType<typeof HttpRequest> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  // As Azure's front end does: the peer's address is appended, so the last entry is never the client's say.
  const peer = request.socket.remoteAddress;
  if (peer !== undefined) {
    const forwarded = headers['x-forwarded-for'];
    headers['x-forwarded-for'] = forwarded === undefined || forwarded === '' ? peer : `${forwarded}, ${peer}`;
  }
  const method = (request.method ?? 'GET').toUpperCase();
  return new HttpRequest({
    method,
    url: url.toString(),
    headers,
    params,
    body: method === 'GET' || method === 'HEAD' || body.length === 0 ? undefined : { bytes: body },
  });
}

async function writeHttpResponse(
  response: ServerResponse,
  result: HttpResponseInit | InstanceType<typeof HttpResponse>,
  method: string,
): Promise<void> {
  const httpResponse = result instanceof HttpResponse ? result : new HttpResponse(result);
  const headers: Record<string, string | string[]> = {};
  httpResponse.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const setCookies = httpResponse.cookies.map((c) => serializeCookie(c.name, c.value, toSerializeOptions(c)));
  if (setCookies.length > 0) headers['set-cookie'] = setCookies;
  const payload = Buffer.from(await httpResponse.arrayBuffer());
  response.writeHead(httpResponse.status, headers);
  response.end(method === 'HEAD' ? undefined : payload);
}

/** Core Tools' admin call: answered at once with 202, the function runs in the background. */
async function handleAdmin(
  request: IncomingMessage,
  response: ServerResponse,
  run: ((input: unknown) => Promise<void>) | undefined,
): Promise<void> {
  if (request.method !== 'POST' || run === undefined) {
    response.writeHead(404).end();
    return;
  }
  const body = await readBodyOrRefuse(request, response);
  if (body === undefined) return;
  let input: unknown = undefined;
  if (body.length > 0) {
    try {
      input = (JSON.parse(body.toString('utf8')) as { input?: unknown }).input;
    } catch (error) {
      response
        .writeHead(400, { 'content-type': 'text/plain' })
        .end(`Body must be {"input": ...}: ${String(error)}`);
      return;
    }
  }
  response.writeHead(202).end();
  run(input).catch(() => undefined /* the invoker has logged it */);
}

async function handleFunction(
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  options: RequestListenerOptions,
): Promise<void> {
  const routePath = routePathOf(url.pathname, options.routePrefix);
  const method = (request.method ?? 'GET').toUpperCase();
  const found = routePath === undefined ? undefined : options.routes.find(method, routePath);
  if (!found) {
    response.writeHead(404).end();
    return;
  }
  const body = await readBodyOrRefuse(request, response);
  if (body === undefined) return;
  const httpRequest = toHttpRequest(request, url, found.params, body);
  const { name, options: registered } = found.value;
  let result: HttpResponseInit | InstanceType<typeof HttpResponse>;
  try {
    result = await options.invoker.run(
      name,
      PROGRAMMATIC_CALL,
      async (context) => (await registered.handler(httpRequest, context)) ?? {},
    );
  } catch {
    // The host answers an unhandled failure with a bare 500; the invoker has logged it.
    response.writeHead(500).end();
    return;
  }
  await writeHttpResponse(response, result, method);
}

/** The local host's `request` listener: admin calls (when enabled), then the HTTP functions. */
export function createRequestListener(
  options: RequestListenerOptions,
): (request: IncomingMessage, response: ServerResponse) => void {
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', `http://${request.headers.host ?? 'localhost'}`);
    const admin = options.adminFunctions && ADMIN_PATH.exec(url.pathname);
    if (admin) {
      await handleAdmin(request, response, options.adminFunctions?.(decodeURIComponent(admin[1]!)));
      return;
    }
    await handleFunction(request, response, url, options);
  };
  return (request, response) => {
    handle(request, response).catch((error: unknown) => {
      options.invoker.log(`local host failed a request: ${formatLogArgs([error])}`);
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  };
}
