import { createServer, type Server } from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Cron } from 'croner';
import type { Env } from '../../shared/config.js';
import type { Services } from '../../shared/app/services.js';
import { bindRegistrations, type BoundRegistration as Registration } from '../../shared/host/registry.js';
import { readHostJson } from './host-json.js';
import {
  createRequestListener,
  PROGRAMMATIC_CALL,
  routeTableOf,
  type FindAdminFunction,
} from './http-server.js';
import { createInvoker, type Invoker } from './invoker.js';
import { loadFunctions } from './load-functions.js';
import type { QueueListener, QueueListenerSettings } from './queue-listener.js';
import { isNonHttp, runNonHttp, startQueueListeners, startTimers } from './triggers.js';

/**
 * The interface listened on when neither the `host` option nor `HOST` names one. The local host
 * checks no function keys, so other machines reach it only when asked for.
 */
export const DEFAULT_LISTEN_HOST = '127.0.0.1';

export interface LocalHostOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** Interface to listen on; the `HOST` setting, else loopback only. `0.0.0.0` serves every interface. */
  readonly host?: string;
  readonly functionsDir: string;
  /** What the functions run against: the host binds every registration to these services. */
  readonly services: Services;
  /**
   * App settings: `%NAME%` references, `HOST`, and `AZURE_FUNCTIONS_ENVIRONMENT` (the admin endpoint
   * exists only in Development). process.env by default.
   */
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
  /** Where to reach it, e.g. http://localhost:7071. */
  readonly url: string;
  readonly port: number;
  /** The address listened on, e.g. 127.0.0.1. */
  readonly address: string;
  readonly registrations: readonly Registration[];
  stop(): Promise<void>;
}

/** As Core Tools has it: the admin API is for development only, and unset means development. */
export function isDevelopment(env: Env): boolean {
  const environment = env.AZURE_FUNCTIONS_ENVIRONMENT;
  return environment === undefined || environment === '' || environment === 'Development';
}

/** The origin to print and call: `localhost` for a loopback or every-interface address. */
function urlOf(address: string, port: number): string {
  const local = ['127.0.0.1', '::1', '0.0.0.0', '::', 'localhost'].includes(address);
  const host = local ? 'localhost' : address.includes(':') ? `[${address}]` : address;
  return `http://${host}:${port}`;
}

async function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server.address() as AddressInfo;
}

/** `POST /admin/functions/{name}` runs a timer or queue function by name (any case), as Core Tools does. */
function adminFunctions(registrations: readonly Registration[], invoker: Invoker): FindAdminFunction {
  const byName = new Map(registrations.filter(isNonHttp).map((r) => [r.name.toLowerCase(), r]));
  return (name) => {
    const registration = byName.get(name.toLowerCase());
    if (registration === undefined) return undefined;
    return (input) => runNonHttp(invoker, registration, input, PROGRAMMATIC_CALL);
  };
}

/**
 * A small, faithful stand-in for the Functions host, for machines where Core Tools cannot be
 * installed: it serves the HTTP registrations under the route prefix, runs timers on their NCRONTAB
 * schedules, polls storage queues like the queue extension and, in Development, answers
 * `POST /admin/functions/{name}`. Only `authLevel: 'anonymous'` is honoured: function keys are not
 * checked.
 */
export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const env = options.env ?? process.env;
  const invoker = createInvoker(options.log ?? ((line: string) => process.stdout.write(`${line}\n`)));
  const hostJson = readHostJson(options.hostJsonPath ?? path.join(process.cwd(), 'host.json'));
  const registrations = bindRegistrations(await loadFunctions(options.functionsDir), options.services);
  const crons = new Map<string, Cron>();

  const server = createServer(
    createRequestListener({
      routes: routeTableOf(registrations),
      routePrefix: hostJson.routePrefix,
      invoker,
      adminFunctions: isDevelopment(env) ? adminFunctions(registrations, invoker) : undefined,
    }),
  );
  // Listening first: a port in use stops the start before any trigger has run.
  const { address, port } = await listen(
    server,
    options.port,
    options.host || env.HOST || DEFAULT_LISTEN_HOST,
  );

  const listeners: QueueListener[] = [];
  const stop = async (): Promise<void> => {
    for (const cron of crons.values()) cron.stop();
    await Promise.all(listeners.map((l) => l.stop()));
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  };
  try {
    if (options.timers !== false) {
      for (const [name, cron] of startTimers(registrations, env, invoker)) crons.set(name, cron);
    }
    if (options.queues !== false) {
      const settings = { ...hostJson.queues, ...options.queueSettings };
      const openQueue = (name: string) => options.services.storage.queue(name);
      listeners.push(...startQueueListeners(registrations, env, settings, openQueue, invoker));
    }
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    url: urlOf(address, port),
    port,
    address,
    registrations,
    stop,
  };
}
