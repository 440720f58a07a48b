import { loadConfig } from '../config.js';
import { isAppError } from '../errors.js';
import { buildServices, defaultPorts, type Services } from './services.js';

let root: Services | undefined;

/**
 * The services the Functions host runs: configuration read from the app settings once, at load.
 * Bad settings stop the app from loading, with every bad setting named, rather than turning each
 * request into a 500.
 */
export function defaultServices(): Services {
  if (root) return root;
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (isAppError(error, 'config-invalid')) {
      throw new Error(`The function app cannot start. ${error.message}`, { cause: error });
    }
    throw error;
  }
  root = buildServices(config, defaultPorts(config));
  return root;
}
