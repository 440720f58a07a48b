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

export function registerHttp(name: string, options: HttpFunctionOptions): void {
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
