import path from 'node:path';
import { AppError } from './errors.js';
import {
  localSecretsKey,
  parseHttpUrl,
  parseMailFrom,
  parseNcrontab,
  parseOrigin,
  parsePort,
  parseSecretsKeys,
  parseSmtpUrl,
  parseStorage,
  parseToken,
  type Env,
  type SecretsKey,
  type StorageSettings,
} from './config-parsers.js';
import { parseDirectoryHosts } from './directory/hosts.js';

export { parseNcrontab, parseSecretsKeys } from './config-parsers.js';
export type { Env, SecretsKey, StorageSettings } from './config-parsers.js';

/**
 * Every app setting the code reads. The infrastructure test checks that the Bicep templates define
 * exactly these, so add a setting here and there together.
 */
export const SETTING_NAMES = [
  'AzureWebJobsStorage',
  'PORT',
  'PUBLIC_BASE_URL',
  'MANAGEMENT_ISSUER',
  'MANAGEMENT_AUDIENCE',
  'MANAGEMENT_JWKS_URI',
  'SECRETS_KEY',
  'SMTP_URL',
  'MAIL_FROM',
  'SYNC_SCHEDULE',
  'DIRECTORY_HOSTS',
  'CONSOLE_CLIENT_ID',
  'CONSOLE_SCOPE',
] as const;
export type SettingName = (typeof SETTING_NAMES)[number];

/** Settings that only the local host reads; Azure never needs them. */
export const LOCAL_ONLY_SETTINGS: readonly SettingName[] = ['PORT'];

/** Where the dev directory listens by default (`npm start`); the local defaults point at it. */
export const DEV_DIRECTORY_ORIGIN = 'https://localhost:7443';

export const LOCAL_DEFAULTS: Readonly<Record<Exclude<SettingName, 'SECRETS_KEY'>, string>> = Object.freeze({
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  PORT: '7071',
  PUBLIC_BASE_URL: 'http://localhost:7071',
  MANAGEMENT_ISSUER: `${DEV_DIRECTORY_ORIGIN}/management`,
  MANAGEMENT_AUDIENCE: 'api://bizzstream-external-users',
  MANAGEMENT_JWKS_URI: `${DEV_DIRECTORY_ORIGIN}/management/keys`,
  SMTP_URL: 'smtp://localhost:2525',
  MAIL_FROM: 'BizzStream <no-reply@bizzstream.local>',
  SYNC_SCHEDULE: '0 */15 * * * *',
  DIRECTORY_HOSTS: new URL(DEV_DIRECTORY_ORIGIN).host,
  CONSOLE_CLIENT_ID: 'bizzstream-console',
  CONSOLE_SCOPE: 'api://bizzstream-external-users/manage',
});

export interface Config {
  /** `local`: Development or unset outside Azure, where local defaults apply. */
  readonly mode: 'local' | 'azure';
  readonly storage: StorageSettings;
  readonly port: number;
  /** Origin without a trailing slash, e.g. `https://users.example.com`. */
  readonly publicBaseUrl: string;
  readonly redirectUri: string;
  readonly management: { readonly issuer: string; readonly audience: string; readonly jwksUri: string };
  /** First key encrypts; every key decrypts (rotation). */
  readonly secretsKeys: readonly SecretsKey[];
  readonly smtpUrl: string;
  readonly mailFrom: string;
  readonly syncSchedule: string;
  /** Lower-case `host` or `host:port` entries; may be empty. */
  readonly directoryHosts: readonly string[];
  readonly console: { readonly clientId: string; readonly scope: string };
}

export interface LoadConfigOptions {
  /** Folder for state generated for local use (the local SECRETS_KEY). Defaults to `<cwd>/.dev`. */
  localStateDir?: string;
}

function isLocal(env: Env): boolean {
  const functionsEnvironment = env.AZURE_FUNCTIONS_ENVIRONMENT;
  if (functionsEnvironment !== undefined && functionsEnvironment !== '') {
    return functionsEnvironment === 'Development';
  }
  // App Service and Flex Consumption always set WEBSITE_INSTANCE_ID.
  return env.WEBSITE_INSTANCE_ID === undefined || env.WEBSITE_INSTANCE_ID === '';
}

/** A setting as given: trimmed, and set to nothing counts as unset. */
function givenSetting(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** A setting as the app reads it locally: as given, else its local default (none for SECRETS_KEY). */
export function localSetting(env: Env, name: string): string | undefined {
  return givenSetting(env, name) ?? (LOCAL_DEFAULTS as Readonly<Record<string, string>>)[name];
}

/**
 * Reads settings and collects what is wrong with them instead of stopping at the first: each
 * parser's message is recorded under the setting's name.
 */
class SettingsReader {
  readonly problems: Record<string, string> = {};

  constructor(
    readonly env: Env,
    readonly mode: 'local' | 'azure',
  ) {}

  raw(name: SettingName): string | undefined {
    if (this.mode === 'local') return localSetting(this.env, name);
    return givenSetting(this.env, name);
  }

  /** The parsed value of a setting that must be present, or undefined with its problem noted. */
  required<T>(name: SettingName, parse: (value: string) => T): T | undefined {
    const value = this.raw(name);
    if (value === undefined) {
      this.problems[name] ??= 'is required';
      return undefined;
    }
    return this.check(name, () => parse(value));
  }

  check<T>(name: string, parse: () => T): T | undefined {
    try {
      return parse();
    } catch (error) {
      this.problems[name] = error instanceof Error ? error.message : String(error);
      return undefined;
    }
  }
}

function readManagement(reader: SettingsReader): Config['management'] | undefined {
  const issuer = reader.required('MANAGEMENT_ISSUER', (value) => {
    parseHttpUrl(value, { httpsOnly: true });
    return value;
  });
  const audience = reader.required('MANAGEMENT_AUDIENCE', (value) => value);
  const jwksUri = reader.required('MANAGEMENT_JWKS_URI', (value) => {
    parseHttpUrl(value, { httpsOnly: true });
    return value;
  });
  if (issuer === undefined || audience === undefined || jwksUri === undefined) return undefined;
  return Object.freeze({ issuer, audience, jwksUri });
}

function readSecretsKeys(
  reader: SettingsReader,
  options: LoadConfigOptions,
): readonly SecretsKey[] | undefined {
  const given = reader.raw('SECRETS_KEY');
  if (given !== undefined) return reader.check('SECRETS_KEY', () => Object.freeze(parseSecretsKeys(given)));
  if (reader.mode !== 'local') {
    reader.problems.SECRETS_KEY = 'is required';
    return undefined;
  }
  const stateDir = options.localStateDir ?? path.join(process.cwd(), '.dev');
  return reader.check('SECRETS_KEY', () => Object.freeze(parseSecretsKeys(localSecretsKey(stateDir))));
}

/** May be set to nothing at all: an empty list means no host besides Microsoft's. */
function readDirectoryHosts(reader: SettingsReader): readonly string[] | undefined {
  const given = reader.env.DIRECTORY_HOSTS;
  const value = given ?? (reader.mode === 'local' ? LOCAL_DEFAULTS.DIRECTORY_HOSTS : '');
  return reader.check('DIRECTORY_HOSTS', () => {
    const { hosts, invalid } = parseDirectoryHosts(value);
    if (invalid.length > 0) {
      throw new Error(
        `must list host or host:port entries separated by commas; "${invalid[0]!.slice(0, 64)}" is not one`,
      );
    }
    return Object.freeze(hosts);
  });
}

function readConsole(reader: SettingsReader): Config['console'] | undefined {
  const clientId = reader.required('CONSOLE_CLIENT_ID', parseToken);
  const scope = reader.required('CONSOLE_SCOPE', parseToken);
  if (clientId === undefined || scope === undefined) return undefined;
  return Object.freeze({ clientId, scope });
}

function refuseProblems(problems: Readonly<Record<string, string>>): void {
  const names = Object.keys(problems);
  if (names.length === 0) return;
  const list = names.map((name) => `${name} ${problems[name]}`).join('; ');
  throw new AppError('config-invalid', `Invalid settings: ${list}`, { fields: problems });
}

/**
 * Reads every setting once, validates them together and names each one that is missing or
 * malformed, so an operator fixes them in one go rather than one start-up at a time.
 */
export function loadConfig(env: Env = process.env, options: LoadConfigOptions = {}): Config {
  const reader = new SettingsReader(env, isLocal(env) ? 'local' : 'azure');
  const storageValue = reader.raw('AzureWebJobsStorage');
  const parts = {
    storage: reader.check('AzureWebJobsStorage', () => parseStorage(env, storageValue)),
    port: reader.check('PORT', () => parsePort(reader.raw('PORT') ?? LOCAL_DEFAULTS.PORT)),
    publicBaseUrl: reader.required('PUBLIC_BASE_URL', (value) =>
      parseOrigin(value, { httpsOnly: reader.mode === 'azure' }),
    ),
    management: readManagement(reader),
    secretsKeys: readSecretsKeys(reader, options),
    smtpUrl: reader.required('SMTP_URL', parseSmtpUrl),
    mailFrom: reader.required('MAIL_FROM', parseMailFrom),
    syncSchedule: reader.required('SYNC_SCHEDULE', (value) => (parseNcrontab(value), value)),
    directoryHosts: readDirectoryHosts(reader),
    console: readConsole(reader),
  };
  refuseProblems(reader.problems);
  // With no problem noted, every part above has a value.
  const complete = parts as { [K in keyof typeof parts]: NonNullable<(typeof parts)[K]> };
  return Object.freeze({
    mode: reader.mode,
    ...complete,
    redirectUri: `${complete.publicBaseUrl}/api/auth/callback`,
  });
}
