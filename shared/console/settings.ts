import type { Config } from '../config.js';

/** What the console's browser code needs to sign staff in; served as `/console/config.json`. */
export interface ConsoleSettings {
  readonly issuer: string;
  readonly clientId: string;
  readonly scope: string;
  readonly redirectUri: string;
}

/** The console signs staff in at the management issuer and returns to its own page. */
export function toConsoleSettings(config: Config): ConsoleSettings {
  return Object.freeze({
    issuer: config.management.issuer,
    clientId: config.console.clientId,
    scope: config.console.scope,
    redirectUri: `${config.publicBaseUrl}/console/`,
  });
}
