import {
  AuthenticationHandler,
  Client,
  GraphError,
  ResponseType,
  type Context,
  type GraphRequest,
  type Middleware,
  type MiddlewareOptions,
} from '@microsoft/microsoft-graph-client';
import { AppError } from '../errors.js';
import { isOnOrigin } from './hosts.js';
import type { DirectoryHttp } from './http.js';

/**
 * What one request brings back past the SDK. Its typed failure: the SDK turns whatever its
 * middleware throws into a GraphError, which would lose the directory error code. Its parsed body:
 * the chain parses a successful answer once (a page of 999 users is ~0.5 MB of JSON), where the
 * SDK would encode the text into a Response and decode and parse it again.
 */
class AnswerSlot implements MiddlewareOptions {
  failure: AppError | undefined;
  body: unknown;
}

function slotOf(context: Context): AnswerSlot | undefined {
  const slot = context.middlewareControl?.getMiddlewareOptions(AnswerSlot);
  return slot instanceof AnswerSlot ? slot : undefined;
}

/** Head of the chain: remembers a directory error thrown by any later step (token or HTTP). */
class KeepDirectoryFailure implements Middleware {
  private next: Middleware | undefined;

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    if (this.next === undefined) throw new Error('the Graph middleware chain has no next step');
    try {
      await this.next.execute(context);
    } catch (error) {
      const slot = slotOf(context);
      if (error instanceof AppError && slot !== undefined) slot.failure ??= error;
      throw error;
    }
  }
}

function headerRecord(init: ConstructorParameters<typeof Headers>[0]): Record<string, string> {
  const record: Record<string, string> = {};
  new Headers(init).forEach((value, name) => {
    record[name] = value;
  });
  return record;
}

/** Statuses whose answers the platform's Response cannot carry a body for. */
const NO_BODY = new Set([204, 205]);

/**
 * The end of the chain, in place of the SDK's own fetch: the request goes through the run's
 * DirectoryHttp, which alone times out, retries and budgets directory calls (so no RetryHandler
 * is chained), and never to a host other than the tenant's Graph.
 */
class SendThroughDirectoryHttp implements Middleware {
  constructor(
    private readonly http: DirectoryHttp,
    private readonly graphOrigin: string,
  ) {}

  async execute(context: Context): Promise<void> {
    // The SDK's types name DOM types this project does not load; narrowed here.
    const request: unknown = context.request;
    const url = typeof request === 'string' ? request : request instanceof Request ? request.url : '';
    if (!isOnOrigin(url, this.graphOrigin)) {
      throw this.http.fail({
        code: 'directory-malformed-answer',
        problem: 'a link to a host other than its Graph URL',
      });
    }
    const method = context.options?.method ?? 'GET';
    if (method !== 'GET') throw new Error(`the directory reader only reads (${method})`);
    const headers: unknown = context.options?.headers;
    const answer = await this.http.send({
      method,
      url,
      headers: headerRecord(headers as ConstructorParameters<typeof Headers>[0]),
    });
    if (answer.status < 200 || answer.status > 599) {
      throw this.http.fail({
        code: 'directory-malformed-answer',
        problem: `an answer with HTTP status ${answer.status}`,
      });
    }
    // Parsed here, so that a body that is not JSON leaves as directory-malformed-answer. The
    // caller takes the body from the slot (the SDK hands back the response unread), so the
    // Response carries the status alone.
    if (answer.status < 300 && !NO_BODY.has(answer.status)) {
      const body = this.http.json(answer);
      const slot = slotOf(context);
      if (slot !== undefined) slot.body = body;
    }
    context.response = new Response(null, { status: answer.status, headers: answer.headers });
  }
}

/**
 * A Graph client for one run's reader: the bearer token from `token` (the tenant's msal token
 * source), every request through `http`.
 */
export function createGraphClient(
  graphBaseUrl: string,
  http: DirectoryHttp,
  token: () => Promise<string>,
): Client {
  const graph = new URL(graphBaseUrl);
  return Client.initWithMiddleware({
    baseUrl: graph.origin,
    defaultVersion: 'v1.0',
    // The SDK attaches the token only to Microsoft's Graph hosts and these (host names, no port).
    customHosts: new Set([graph.hostname]),
    middleware: [
      new KeepDirectoryFailure(),
      new AuthenticationHandler({ getAccessToken: token }),
      new SendThroughDirectoryHttp(http, graph.origin),
    ],
  });
}

/** A GET's outcome: its JSON body, or the status Graph refused it with. */
export type GraphOutcome =
  { readonly ok: true; readonly body: unknown } | { readonly ok: false; readonly status: number };

/**
 * Sends a GET built with the SDK. A refusal (HTTP 4xx/5xx not retried) comes back as its status
 * for the caller to name; every other failure is thrown as the directory AppError it is.
 */
export async function getJson(request: GraphRequest, http: DirectoryHttp): Promise<GraphOutcome> {
  const slot = new AnswerSlot();
  let status: number;
  try {
    const response: unknown = await request.middlewareOptions([slot]).responseType(ResponseType.RAW).get();
    if (!(response instanceof Response)) throw new TypeError('the Graph client returned no response');
    status = response.status;
  } catch (error) {
    if (slot.failure !== undefined) throw slot.failure;
    if (error instanceof GraphError && error.statusCode >= 400)
      return { ok: false, status: error.statusCode };
    throw http.fail(
      { code: 'directory-malformed-answer', problem: 'an answer the Graph client could not read' },
      error,
    );
  }
  if (status >= 400) return { ok: false, status };
  if (status >= 300) {
    throw http.fail({ code: 'directory-malformed-answer', problem: `an answer with HTTP status ${status}` });
  }
  return { ok: true, body: slot.body };
}
