import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { Cron } from 'croner';
import { AppError } from './errors.js';

/**
 * Every app setting the code reads (contract §2). The infrastructure test checks that the Bicep
 * templates define exactly these, so add a setting here and there together.
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
});

export type StorageSettings =
  | { readonly kind: 'connection-string'; readonly connectionString: string }
  /** Managed identity (`AzureWebJobsStorage__accountName` or `__tableServiceUri`/`__queueServiceUri`). */
  | {
      readonly kind: 'identity';
      readonly tableServiceUrl: string;
      readonly queueServiceUrl: string;
      readonly managedIdentityClientId: string | undefined;
    };

export interface SecretsKey {
  readonly id: string;
  readonly key: Buffer;
}

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
}

export type Env = Readonly<Record<string, string | undefined>>;

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

function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}

/** `SECRETS_KEY`: comma-separated keys, each base64 of 32 bytes, optionally `id:` prefixed. */
export function parseSecretsKeys(value: string): SecretsKey[] {
  const keys: SecretsKey[] = [];
  for (const part of value.split(',')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const colon = trimmed.indexOf(':');
    const explicitId = colon > 0 ? trimmed.slice(0, colon) : undefined;
    const encoded = colon > 0 ? trimmed.slice(colon + 1) : trimmed;
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded)) throw new Error('a key is not base64');
    const key = Buffer.from(encoded, 'base64');
    if (key.length !== 32) throw new Error('each key must be 32 bytes (base64 of 256 bits)');
    if (explicitId !== undefined && !/^[A-Za-z0-9._-]{1,32}$/.test(explicitId)) {
      throw new Error('a key id may hold only A-Z a-z 0-9 . _ - (at most 32)');
    }
    keys.push({ id: explicitId ?? keyIdOf(key), key });
  }
  if (keys.length === 0) throw new Error('no key given');
  const ids = new Set(keys.map((k) => k.id));
  if (ids.size !== keys.length) throw new Error('key ids must be unique');
  return keys;
}

function localSecretsKey(stateDir: string): string {
  const file = path.join(stateDir, 'secrets.key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(stateDir, { recursive: true });
  const generated = randomBytes(32).toString('base64');
  writeFileSync(file, `${generated}\n`, { mode: 0o600, flag: 'wx' });
  return generated;
}

function parseHttpUrl(value: string, { httpsOnly }: { httpsOnly: boolean }): URL {
  const url = new URL(value);
  if (url.protocol !== 'https:' && (httpsOnly || url.protocol !== 'http:')) {
    throw new Error(httpsOnly ? 'must be an https URL' : 'must be an http(s) URL');
  }
  return url;
}

function storageSettings(env: Env, connectionString: string | undefined): StorageSettings {
  if (connectionString !== undefined) {
    if (
      connectionString !== 'UseDevelopmentStorage=true' &&
      !/AccountName=|Endpoint=/i.test(connectionString)
    ) {
      throw new Error('is not a storage connection string');
    }
    return { kind: 'connection-string', connectionString };
  }
  const accountName = env.AzureWebJobsStorage__accountName;
  const tableServiceUri = env.AzureWebJobsStorage__tableServiceUri;
  const queueServiceUri = env.AzureWebJobsStorage__queueServiceUri;
  const clientId = env.AzureWebJobsStorage__clientId;
  if (tableServiceUri && queueServiceUri) {
    return {
      kind: 'identity',
      tableServiceUrl: parseHttpUrl(tableServiceUri, { httpsOnly: true }).toString(),
      queueServiceUrl: parseHttpUrl(queueServiceUri, { httpsOnly: true }).toString(),
      managedIdentityClientId: clientId || undefined,
    };
  }
  if (accountName) {
    if (!/^[a-z0-9]{3,24}$/.test(accountName))
      throw new Error('AzureWebJobsStorage__accountName is malformed');
    return {
      kind: 'identity',
      tableServiceUrl: `https://${accountName}.table.core.windows.net`,
      queueServiceUrl: `https://${accountName}.queue.core.windows.net`,
      managedIdentityClientId: clientId || undefined,
    };
  }
  throw new Error(
    'is required (a connection string, or AzureWebJobsStorage__accountName for managed identity)',
  );
}

/**
 * Reads every setting once, validates them together and names each one that is missing or
 * malformed, so an operator fixes them in one go rather than one start-up at a time.
 */
export function loadConfig(env: Env = process.env, options: LoadConfigOptions = {}): Config {
  const mode = isLocal(env) ? 'local' : 'azure';
  const problems: Record<string, string> = {};
  const raw = (name: SettingName): string | undefined => {
    const value = env[name]?.trim();
    if (value !== undefined && value !== '') return value;
    if (mode === 'local' && name !== 'SECRETS_KEY') return LOCAL_DEFAULTS[name];
    return undefined;
  };
  const required = (name: SettingName): string | undefined => {
    const value = raw(name);
    if (value === undefined) problems[name] = 'is required';
    return value;
  };
  function check<T>(name: string, parse: () => T): T | undefined {
    try {
      return parse();
    } catch (error) {
      problems[name] = error instanceof Error ? error.message : String(error);
      return undefined;
    }
  }

  const storageValue = raw('AzureWebJobsStorage');
  const storage = check('AzureWebJobsStorage', () => storageSettings(env, storageValue));

  const portValue = raw('PORT') ?? LOCAL_DEFAULTS.PORT;
  const port = check('PORT', () => {
    const n = Number(portValue);
    if (!/^\d+$/.test(portValue) || n < 1 || n > 65535) throw new Error('must be a port number (1-65535)');
    return n;
  });

  const publicBaseUrlValue = required('PUBLIC_BASE_URL');
  const publicBaseUrl =
    publicBaseUrlValue === undefined
      ? undefined
      : check('PUBLIC_BASE_URL', () => {
          const url = parseHttpUrl(publicBaseUrlValue, { httpsOnly: mode === 'azure' });
          if (url.pathname !== '/' || url.search || url.hash)
            throw new Error('must be an origin, without a path');
          return url.origin;
        });

  const issuer = required('MANAGEMENT_ISSUER');
  if (issuer !== undefined) check('MANAGEMENT_ISSUER', () => parseHttpUrl(issuer, { httpsOnly: true }));
  const audience = required('MANAGEMENT_AUDIENCE');
  const jwksUriValue = required('MANAGEMENT_JWKS_URI');
  if (jwksUriValue !== undefined) {
    check('MANAGEMENT_JWKS_URI', () => parseHttpUrl(jwksUriValue, { httpsOnly: true }));
  }

  const secretsKeyValue =
    raw('SECRETS_KEY') ??
    (mode === 'local'
      ? check('SECRETS_KEY', () => localSecretsKey(options.localStateDir ?? path.join(process.cwd(), '.dev')))
      : undefined);
  if (secretsKeyValue === undefined && problems.SECRETS_KEY === undefined)
    problems.SECRETS_KEY = 'is required';
  const secretsKeys =
    secretsKeyValue === undefined ? undefined : check('SECRETS_KEY', () => parseSecretsKeys(secretsKeyValue));

  const smtpUrlValue = required('SMTP_URL');
  if (smtpUrlValue !== undefined) {
    check('SMTP_URL', () => {
      const url = new URL(smtpUrlValue);
      if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:')
        throw new Error('must be an smtp:// or smtps:// URL');
    });
  }
  const mailFrom = required('MAIL_FROM');
  if (mailFrom !== undefined) {
    check('MAIL_FROM', () => {
      if (!/^(?:[^<>]*<)?[^\s@<>]+@[^\s@<>]+>?$/.test(mailFrom)) {
        throw new Error('must be an address, optionally as "Name <address>"');
      }
    });
  }
  const syncSchedule = required('SYNC_SCHEDULE');
  if (syncSchedule !== undefined) check('SYNC_SCHEDULE', () => parseNcrontab(syncSchedule));

  const names = Object.keys(problems);
  if (names.length > 0) {
    const list = names.map((name) => `${name} ${problems[name]}`).join('; ');
    throw new AppError('config-invalid', `Invalid settings: ${list}`, { fields: problems });
  }
  return Object.freeze({
    mode,
    storage: storage!,
    port: port!,
    publicBaseUrl: publicBaseUrl!,
    redirectUri: `${publicBaseUrl!}/api/auth/callback`,
    management: Object.freeze({ issuer: issuer!, audience: audience!, jwksUri: jwksUriValue! }),
    secretsKeys: Object.freeze(secretsKeys!),
    smtpUrl: smtpUrlValue!,
    mailFrom: mailFrom!,
    syncSchedule: syncSchedule!,
  });
}

/**
 * NCRONTAB as the Functions host reads it: six fields, seconds first. croner accepts the same
 * six-field form; we insist on six so that a five-field Unix cron is not silently misread.
 */
export function parseNcrontab(expression: string): Cron {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 6) {
    throw new Error(
      'must be an NCRONTAB expression of 6 fields ({second} {minute} {hour} {day} {month} {day-of-week})',
    );
  }
  // The Functions host evaluates schedules in UTC unless WEBSITE_TIME_ZONE says otherwise.
  return new Cron(expression, { paused: true, mode: '6-part', timezone: 'Etc/UTC' });
}

let cached: Config | undefined;

/** The process-wide configuration, read on first use. */
export function getConfig(): Config {
  cached ??= loadConfig();
  return cached;
}

/** Tests and the local host replace the configuration before any service is built. */
export function setConfig(config: Config | undefined): void {
  cached = config;
}

/**
 * The console's `CONSOLE_CLIENT_ID` and `CONSOLE_SCOPE` as set (shaped and defaulted by
 * `shared/console/settings.ts`); kept apart from `loadConfig` until they join the typed config.
 */
export function consoleEnv(env: Env = process.env): Env {
  return { CONSOLE_CLIENT_ID: env.CONSOLE_CLIENT_ID, CONSOLE_SCOPE: env.CONSOLE_SCOPE };
}
