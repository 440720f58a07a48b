import { createRequire } from 'node:module';
import {
  app,
  type HttpFunctionOptions,
  type StorageQueueFunctionOptions,
  type TimerFunctionOptions,
} from '@azure/functions';
import { defaultServices } from '../app/default.js';
import type { Services } from '../app/services.js';

/**
 * Every function registers through here, once. A registration's handler is a factory over the
 * services: under the Functions host it is bound to the default services and handed to Azure's
 * `app`; the local host and the tests bind the same registrations to services they build.
 */
type WithFactory<Options extends { handler: unknown }> = Omit<Options, 'handler'> & {
  readonly handler: (services: Services) => Options['handler'];
};

export type HttpRegistrationOptions = WithFactory<HttpFunctionOptions> & {
  /**
   * Who may call it: `management` routes refuse a request without a valid management token (401).
   * The tests' role and 401 coverage lists are read from here.
   */
  readonly caller?: 'management' | 'anyone';
};
export type TimerRegistrationOptions = WithFactory<TimerFunctionOptions>;
export type StorageQueueRegistrationOptions = WithFactory<StorageQueueFunctionOptions>;

export type Registration =
  | { readonly kind: 'http'; readonly name: string; readonly options: HttpRegistrationOptions }
  | { readonly kind: 'timer'; readonly name: string; readonly options: TimerRegistrationOptions }
  | {
      readonly kind: 'storageQueue';
      readonly name: string;
      readonly options: StorageQueueRegistrationOptions;
    };

/** A registration whose handler is bound to services: what a host runs. */
export type BoundRegistration =
  | { readonly kind: 'http'; readonly name: string; readonly options: HttpFunctionOptions }
  | { readonly kind: 'timer'; readonly name: string; readonly options: TimerFunctionOptions }
  | { readonly kind: 'storageQueue'; readonly name: string; readonly options: StorageQueueFunctionOptions };

type HttpRegistration = Extract<Registration, { kind: 'http' }>;
type TimerRegistration = Extract<Registration, { kind: 'timer' }>;
type StorageQueueRegistration = Extract<Registration, { kind: 'storageQueue' }>;

const registrations: Registration[] = [];

/**
 * The Functions host's worker provides `@azure/functions-core` (as `@azure/functions` itself
 * detects it); anywhere else, registrations are only remembered for a host that binds them.
 */
function inFunctionsHost(): boolean {
  try {
    createRequire(import.meta.url)('@azure/functions-core');
    return true;
  } catch {
    return false;
  }
}

const underFunctionsHost = inFunctionsHost();

function remember(registration: Registration): void {
  if (registrations.some((r) => r.name === registration.name)) {
    throw new Error(`Function "${registration.name}" is registered twice`);
  }
  registrations.push(registration);
}

export function bindRegistration(
  registration: HttpRegistration,
  services: Services,
): BoundRegistration & { kind: 'http' };
export function bindRegistration(
  registration: TimerRegistration,
  services: Services,
): BoundRegistration & { kind: 'timer' };
export function bindRegistration(
  registration: StorageQueueRegistration,
  services: Services,
): BoundRegistration & { kind: 'storageQueue' };
export function bindRegistration(registration: Registration, services: Services): BoundRegistration;
export function bindRegistration(registration: Registration, services: Services): BoundRegistration {
  switch (registration.kind) {
    case 'http': {
      const options: { caller?: unknown } & Omit<HttpRegistrationOptions, 'caller'> = {
        ...registration.options,
      };
      delete options.caller;
      return { ...registration, options: { ...options, handler: registration.options.handler(services) } };
    }
    case 'timer':
      return {
        ...registration,
        options: { ...registration.options, handler: registration.options.handler(services) },
      };
    case 'storageQueue':
      return {
        ...registration,
        options: { ...registration.options, handler: registration.options.handler(services) },
      };
  }
}

export function bindHandler(
  registration: HttpRegistration,
  services: Services,
): HttpFunctionOptions['handler'];
export function bindHandler(
  registration: TimerRegistration,
  services: Services,
): TimerFunctionOptions['handler'];
export function bindHandler(
  registration: StorageQueueRegistration,
  services: Services,
): StorageQueueFunctionOptions['handler'];
export function bindHandler(
  registration: Registration,
  services: Services,
): BoundRegistration['options']['handler'] {
  return bindRegistration(registration, services).options.handler;
}

export function bindRegistrations(list: readonly Registration[], services: Services): BoundRegistration[] {
  return list.map((registration) => bindRegistration(registration, services));
}

/**
 * host.json sets `routePrefix` to "" so that the console can live at `/console/` beside the API;
 * every API route gets its `api/` here instead, in one place.
 */
export const API_ROUTE_PREFIX = 'api/';

/** An API function: its route (the name when absent) is served under `/api/`. */
export function registerHttp(name: string, options: HttpRegistrationOptions): void {
  registerHttpAtRoot(name, { ...options, route: `${API_ROUTE_PREFIX}${options.route ?? name}` });
}

/** A function whose route is taken from the site's root (the console's pages). */
export function registerHttpAtRoot(name: string, options: HttpRegistrationOptions): void {
  const registration = { kind: 'http', name, options } as const;
  remember(registration);
  if (underFunctionsHost) app.http(name, bindRegistration(registration, defaultServices()).options);
}

export function registerTimer(name: string, options: TimerRegistrationOptions): void {
  const registration = { kind: 'timer', name, options } as const;
  remember(registration);
  if (underFunctionsHost) app.timer(name, bindRegistration(registration, defaultServices()).options);
}

export function registerStorageQueue(name: string, options: StorageQueueRegistrationOptions): void {
  const registration = { kind: 'storageQueue', name, options } as const;
  remember(registration);
  if (underFunctionsHost) app.storageQueue(name, bindRegistration(registration, defaultServices()).options);
}

/**
 * Registers a trigger on one of the service's own queues: they all live on the function app's
 * storage account (the `AzureWebJobsStorage` connection).
 */
export function registerServiceQueue(
  name: string,
  queueName: string,
  handler: StorageQueueRegistrationOptions['handler'],
): void {
  registerStorageQueue(name, { queueName, connection: 'AzureWebJobsStorage', handler });
}

export function listRegistrations(): readonly Registration[] {
  return registrations;
}

/** The HTTP registrations: the one list of the API's routes, for the hosts and the tests. */
export function httpRegistrations(): readonly HttpRegistration[] {
  return registrations.filter((r): r is HttpRegistration => r.kind === 'http');
}

/** A registered route relative to `/api/` (the route of an API function as its file names it). */
export function apiRoute(route: string): string {
  return route.startsWith(API_ROUTE_PREFIX) ? route.slice(API_ROUTE_PREFIX.length) : route;
}

/** The routes that need a management token, as `METHOD route` pairs, routes relative to `/api/`. */
export function managementOperations(): Array<{
  readonly name: string;
  readonly method: string;
  readonly route: string;
}> {
  return httpRegistrations()
    .filter((r) => r.options.caller === 'management')
    .flatMap((r) =>
      (r.options.methods ?? []).map((method) => ({
        name: r.name,
        method,
        route: apiRoute(r.options.route ?? r.name),
      })),
    );
}
