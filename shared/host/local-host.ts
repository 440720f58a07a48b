import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import type { AddressInfo } from 'node:net';
import azureFunctions, {
  type Cookie,
  type HttpResponseInit,
  type InvocationContext as InvocationContextType,
  type LogLevel,
  type Timer,
} from '@azure/functions';
import { serialize as serializeCookie, type SerializeOptions } from 'cookie';
import { Cron } from 'croner';
import type { Services } from '../app/services.js';
import type { Env } from '../config.js';
import { loadFunctions } from './load-functions.js';
import { DEFAULT_QUEUE_SETTINGS, QueueListener, type QueueListenerSettings } from './queue-listener.js';
import { bindRegistrations, type BoundRegistration as Registration } from './registry.js';
import { RouteTable } from './routes.js';
import { resolveSettingReferences } from './settings.js';

const { HttpRequest, HttpResponse, InvocationContext } = azureFunctions;

/** Requests larger than this are refused before a handler sees them. */
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

export interface LocalHostOptions {
  /** 0 picks a free port. */
  readonly port: number;
  readonly functionsDir: string;
  /** What the functions run against: the host binds every registration to these services. */
  readonly services: Services;
  /** App settings for `%NAME%` references; process.env by default. */
  readonly env?: Env;
  /** host.json to read the route prefix and queue settings from; `<cwd>/host.json` by default. */
  readonly hostJsonPath?: string;
  readonly timers?: boolean;
  readonly queues?: boolean;
  /** Overrides host.json's queue settings (tests shorten the visibility timeout). */
  readonly queueSettings?: Partial<QueueListenerSettings>;
  /** Where log lines go; stdout by default. */
  readonly log?: (line: string) => void;
}

export interface LocalHost {
  readonly url: string;
  readonly port: number;
  readonly registrations: readonly Registration[];
  stop(): Promise<void>;
}

interface HostJson {
  routePrefix: string;
  queues: QueueListenerSettings;
}

/** `hh:mm:ss` as host.json writes durations. */
function parseTimeSpan(value: unknown, fallbackMs: number): number {
  if (typeof value !== 'string') return fallbackMs;
  const match = /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(value);
  if (!match) throw new Error(`host.json: "${value}" is not a hh:mm:ss duration`);
  return (Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3])) * 1000;
}

function readHostJson(file: string): HostJson {
  const raw = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  const extensions = (raw.extensions ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const http = extensions.http ?? {};
  const queues = extensions.queues ?? {};
  return {
    routePrefix: typeof http.routePrefix === 'string' ? http.routePrefix.replace(/^\/+|\/+$/g, '') : 'api',
    queues: {
      maxDequeueCount:
        typeof queues.maxDequeueCount === 'number'
          ? queues.maxDequeueCount
          : DEFAULT_QUEUE_SETTINGS.maxDequeueCount,
      batchSize: typeof queues.batchSize === 'number' ? queues.batchSize : DEFAULT_QUEUE_SETTINGS.batchSize,
      visibilityTimeoutMs: parseTimeSpan(
        queues.visibilityTimeout,
        DEFAULT_QUEUE_SETTINGS.visibilityTimeoutMs,
      ),
      maxPollingIntervalMs: parseTimeSpan(
        queues.maxPollingInterval,
        DEFAULT_QUEUE_SETTINGS.maxPollingIntervalMs,
      ),
    },
  };
}

function formatLogArgs(args: unknown[]): string {
  return args
    .map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 5, breakLength: Infinity })))
    .join(' ');
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

/**
 * A small, faithful stand-in for the Functions host, for machines where Core Tools cannot be
 * installed: it serves the HTTP registrations under the route prefix, runs timers on their NCRONTAB
 * schedules, polls storage queues like the queue extension and answers `POST /admin/functions/{name}`.
 * Only `authLevel: 'anonymous'` is honoured: function keys are not checked.
 */
export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const env = options.env ?? process.env;
  const write = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const hostJson = readHostJson(options.hostJsonPath ?? path.join(process.cwd(), 'host.json'));
  const queueSettings: QueueListenerSettings = { ...hostJson.queues, ...options.queueSettings };
  const registrations = bindRegistrations(await loadFunctions(options.functionsDir), options.services);
  const { storage } = options.services;

  const routes = new RouteTable<Extract<Registration, { kind: 'http' }>>();
  for (const registration of registrations) {
    if (registration.kind !== 'http') continue;
    const methods = registration.options.methods ?? ['GET', 'POST'];
    routes.add(registration.options.route ?? registration.name, methods, registration);
  }

  const makeContext = (
    functionName: string,
    invocationId: string,
    extra: Partial<ConstructorParameters<typeof InvocationContext>[0]> = {},
  ): InvocationContextType =>
    new InvocationContext({
      invocationId,
      functionName,
      logHandler: (level: LogLevel, ...args: unknown[]) =>
        write(`[${new Date().toISOString()}] [${functionName}] ${level}: ${formatLogArgs(args)}`),
      ...extra,
    });

  /** Runs one invocation with the host's "Executing"/"Executed" log lines; rethrows failures. */
  async function invoke<T>(
    functionName: string,
    reason: string,
    run: (id: string) => Promise<T>,
  ): Promise<T> {
    const id = randomUUID();
    const started = Date.now();
    write(
      `[${new Date().toISOString()}] Executing 'Functions.${functionName}' (Reason='${reason}', Id=${id})`,
    );
    try {
      const result = await run(id);
      write(
        `[${new Date().toISOString()}] Executed 'Functions.${functionName}' (Succeeded, Id=${id}, Duration=${Date.now() - started}ms)`,
      );
      return result;
    } catch (error) {
      write(
        `[${new Date().toISOString()}] Executed 'Functions.${functionName}' (Failed, Id=${id}, Duration=${Date.now() - started}ms) ${formatLogArgs([error])}`,
      );
      throw error;
    }
  }

  const timerInput = (cron: Cron | undefined): Timer => {
    const now = new Date().toISOString();
    return {
      isPastDue: false,
      schedule: { adjustForDST: true },
      scheduleStatus: { last: now, next: cron?.nextRun()?.toISOString() ?? now, lastUpdated: now },
    };
  };

  const crons = new Map<string, Cron>();
  const runNonHttp = async (registration: Registration, input: unknown, reason: string): Promise<void> => {
    switch (registration.kind) {
      case 'timer': {
        const timer = timerInput(crons.get(registration.name));
        await invoke(registration.name, reason, (id) =>
          Promise.resolve(registration.options.handler(timer, makeContext(registration.name, id))),
        );
        return;
      }
      case 'storageQueue':
        await invoke(registration.name, reason, (id) =>
          Promise.resolve(registration.options.handler(input, makeContext(registration.name, id))),
        );
        return;
      case 'http':
        throw new Error('HTTP functions are called through their route');
    }
  };

  // Timers on their schedules; `protect` skips a tick while the previous run is still going, as the host's singleton lock does.
  if (options.timers !== false) {
    for (const registration of registrations) {
      if (registration.kind !== 'timer') continue;
      const schedule = resolveSettingReferences(registration.options.schedule, env);
      const cron = new Cron(schedule, { mode: '6-part', timezone: 'Etc/UTC', protect: true }, async () => {
        try {
          await runNonHttp(registration, undefined, `Timer fired at ${new Date().toISOString()}`);
        } catch (error) {
          write(`[${new Date().toISOString()}] timer ${registration.name} failed: ${formatLogArgs([error])}`);
        }
      });
      crons.set(registration.name, cron);
      if (registration.options.runOnStartup) void cron.trigger();
    }
  }

  const listeners: QueueListener[] = [];
  if (options.queues !== false) {
    for (const registration of registrations) {
      if (registration.kind !== 'storageQueue') continue;
      if (registration.options.connection !== 'AzureWebJobsStorage') {
        throw new Error(`${registration.name}: only the AzureWebJobsStorage connection is supported locally`);
      }
      const queueName = resolveSettingReferences(registration.options.queueName, env);
      const queue = await storage.queue(queueName);
      const listener = new QueueListener(
        queue,
        () => storage.queue(`${queueName}-poison`),
        queueSettings,
        async (payload, metadata) => {
          await invoke(registration.name, `New queue message detected on '${queueName}'.`, (id) =>
            Promise.resolve(
              registration.options.handler(
                payload,
                makeContext(registration.name, id, { triggerMetadata: { ...metadata } }),
              ),
            ),
          );
        },
        (error) => write(`[${new Date().toISOString()}] queue ${queueName}: ${formatLogArgs([error])}`),
      );
      listener.start();
      listeners.push(listener);
    }
  }

  const byName = new Map(registrations.map((r) => [r.name.toLowerCase(), r]));

  async function handleAdmin(
    request: IncomingMessage,
    response: ServerResponse,
    name: string,
  ): Promise<void> {
    const registration = byName.get(name.toLowerCase());
    if (request.method !== 'POST' || !registration || registration.kind === 'http') {
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
    // Core Tools answers at once and runs the function in the background.
    response.writeHead(202).end();
    runNonHttp(registration, input, 'This function was programmatically called via the host APIs.').catch(
      () => undefined /* already logged by invoke() */,
    );
  }

  async function handleHttp(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', `http://${request.headers.host ?? 'localhost'}`);
    const adminMatch = /^\/admin\/functions\/([^/]+)\/?$/.exec(url.pathname);
    if (adminMatch) {
      await handleAdmin(request, response, decodeURIComponent(adminMatch[1]!));
      return;
    }
    const prefix = hostJson.routePrefix === '' ? '/' : `/${hostJson.routePrefix}/`;
    const routePath =
      url.pathname === `/${hostJson.routePrefix}`
        ? ''
        : url.pathname.startsWith(prefix)
          ? url.pathname.slice(prefix.length)
          : undefined;
    const found = routePath === undefined ? undefined : routes.find(request.method ?? 'GET', routePath);
    if (!found) {
      response.writeHead(404).end();
      return;
    }
    const body = await readBodyOrRefuse(request, response);
    if (body === undefined) return;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const method = (request.method ?? 'GET').toUpperCase();
    const httpRequest = new HttpRequest({
      method,
      url: url.toString(),
      headers,
      params: found.params,
      body: method === 'GET' || method === 'HEAD' || body.length === 0 ? undefined : { bytes: body },
    });
    const registration = found.value;
    let result: HttpResponseInit | InstanceType<typeof HttpResponse>;
    try {
      result = await invoke(
        registration.name,
        `This function was programmatically called via the host APIs.`,
        async (id) =>
          (await registration.options.handler(httpRequest, makeContext(registration.name, id))) ?? {},
      );
    } catch {
      // The host answers an unhandled failure with a bare 500; invoke() has logged it.
      response.writeHead(500).end();
      return;
    }
    const httpResponse = result instanceof HttpResponse ? result : new HttpResponse(result);
    const outHeaders: Record<string, string | string[]> = {};
    httpResponse.headers.forEach((value, name) => {
      outHeaders[name] = value;
    });
    const setCookies = httpResponse.cookies.map((c) =>
      serializeCookie(c.name, c.value, toSerializeOptions(c)),
    );
    if (setCookies.length > 0) outHeaders['set-cookie'] = setCookies;
    const payload = Buffer.from(await httpResponse.arrayBuffer());
    response.writeHead(httpResponse.status, outHeaders);
    response.end(method === 'HEAD' ? undefined : payload);
  }

  const server: Server = createServer((request, response) => {
    handleHttp(request, response).catch((error: unknown) => {
      write(`[${new Date().toISOString()}] local host failed a request: ${formatLogArgs([error])}`);
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://localhost:${port}`;

  return {
    url,
    port,
    registrations,
    async stop() {
      for (const cron of crons.values()) cron.stop();
      await Promise.all(listeners.map((l) => l.stop()));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
