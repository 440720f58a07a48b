import {
  app,
  type HttpFunctionOptions,
  type StorageQueueFunctionOptions,
  type TimerFunctionOptions,
} from '@azure/functions';

/**
 * Every function registers through here: the call goes to Azure's `app` as usual, and the
 * registration is also kept in a list that the local host and the tests read, so they run exactly
 * the handlers Azure runs.
 */
export type Registration =
  | { readonly kind: 'http'; readonly name: string; readonly options: HttpFunctionOptions }
  | { readonly kind: 'timer'; readonly name: string; readonly options: TimerFunctionOptions }
  | { readonly kind: 'storageQueue'; readonly name: string; readonly options: StorageQueueFunctionOptions };

const registrations: Registration[] = [];

function remember(registration: Registration): void {
  if (registrations.some((r) => r.name === registration.name)) {
    throw new Error(`Function "${registration.name}" is registered twice`);
  }
  registrations.push(registration);
}

/**
 * host.json sets `routePrefix` to "" so that the console can live at `/console/` beside the API;
 * every API route gets its `api/` here instead, in one place.
 */
export const API_ROUTE_PREFIX = 'api/';

/** An API function: its route (the name when absent) is served under `/api/`. */
export function registerHttp(name: string, options: HttpFunctionOptions): void {
  registerHttpAtRoot(name, { ...options, route: `${API_ROUTE_PREFIX}${options.route ?? name}` });
}

/** A function whose route is taken from the site's root (the console's pages). */
export function registerHttpAtRoot(name: string, options: HttpFunctionOptions): void {
  remember({ kind: 'http', name, options });
  app.http(name, options);
}

export function registerTimer(name: string, options: TimerFunctionOptions): void {
  remember({ kind: 'timer', name, options });
  app.timer(name, options);
}

export function registerStorageQueue(name: string, options: StorageQueueFunctionOptions): void {
  remember({ kind: 'storageQueue', name, options });
  app.storageQueue(name, options);
}

export function listRegistrations(): readonly Registration[] {
  return registrations;
}
