import type { Config, Env } from '../config.js';
import { AppError } from '../errors.js';

/** What the console's browser code needs to sign staff in; served as `/console/config.json`. */
export interface ConsoleSettings {
  readonly issuer: string;
  readonly clientId: string;
  readonly scope: string;
  readonly redirectUri: string;
}

export const CONSOLE_LOCAL_DEFAULTS = Object.freeze({
  CONSOLE_CLIENT_ID: 'bizzstream-console',
  CONSOLE_SCOPE: 'api://bizzstream-external-users/manage',
});

type ConsoleSettingName = keyof typeof CONSOLE_LOCAL_DEFAULTS;

/**
 * `CONSOLE_CLIENT_ID` and `CONSOLE_SCOPE` beside the validated configuration: local defaults point
 * at the dev directory; in Azure both are required, and a missing one is named.
 */
export function consoleSettings(config: Config, env: Env): ConsoleSettings {
  const problems: Record<string, string> = {};
  const read = (name: ConsoleSettingName): string => {
    const value = env[name]?.trim();
    if (value !== undefined && value !== '') return value;
    if (config.mode === 'local') return CONSOLE_LOCAL_DEFAULTS[name];
    problems[name] = 'is required';
    return '';
  };
  const clientId = read('CONSOLE_CLIENT_ID');
  const scope = read('CONSOLE_SCOPE');
  const names = Object.keys(problems);
  if (names.length > 0) {
    const list = names.map((name) => `${name} ${problems[name]}`).join('; ');
    throw new AppError('config-invalid', `Invalid settings: ${list}`, { fields: problems });
  }
  return Object.freeze({
    issuer: config.management.issuer,
    clientId,
    scope,
    redirectUri: `${config.publicBaseUrl}/console/`,
  });
}
