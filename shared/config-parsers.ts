import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Cron } from 'croner';

/**
 * One parser per kind of setting. Each throws an Error whose message completes the sentence
 * "<SETTING> …", so the loader can name every bad setting in one message.
 */
export type Env = Readonly<Record<string, string | undefined>>;

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

export function parseHttpUrl(value: string, { httpsOnly }: { httpsOnly: boolean }): URL {
  const url = new URL(value);
  if (url.protocol !== 'https:' && (httpsOnly || url.protocol !== 'http:')) {
    throw new Error(httpsOnly ? 'must be an https URL' : 'must be an http(s) URL');
  }
  return url;
}

export function parseOrigin(value: string, { httpsOnly }: { httpsOnly: boolean }): string {
  const url = parseHttpUrl(value, { httpsOnly });
  if (url.pathname !== '/' || url.search || url.hash) throw new Error('must be an origin, without a path');
  return url.origin;
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535) throw new Error('must be a port number (1-65535)');
  return n;
}

export function parseSmtpUrl(value: string): string {
  const url = new URL(value);
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new Error('must be an smtp:// or smtps:// URL');
  }
  return value;
}

export function parseMailFrom(value: string): string {
  if (!/^(?:[^<>]*<)?[^\s@<>]+@[^\s@<>]+>?$/.test(value)) {
    throw new Error('must be an address, optionally as "Name <address>"');
  }
  return value;
}

/** A single token without whitespace (a client id, a scope). */
export function parseToken(value: string): string {
  if (/\s/.test(value) || value.length > 256) throw new Error('must be one value without spaces');
  return value;
}

function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}

function parseSecretsKey(part: string): SecretsKey {
  const colon = part.indexOf(':');
  const explicitId = colon > 0 ? part.slice(0, colon) : undefined;
  const encoded = colon > 0 ? part.slice(colon + 1) : part;
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded)) throw new Error('a key is not base64');
  const key = Buffer.from(encoded, 'base64');
  if (key.length !== 32) throw new Error('each key must be 32 bytes (base64 of 256 bits)');
  if (explicitId !== undefined && !/^[A-Za-z0-9._-]{1,32}$/.test(explicitId)) {
    throw new Error('a key id may hold only A-Z a-z 0-9 . _ - (at most 32)');
  }
  return { id: explicitId ?? keyIdOf(key), key };
}

/** `SECRETS_KEY`: comma-separated keys, each base64 of 32 bytes, optionally `id:` prefixed. */
export function parseSecretsKeys(value: string): SecretsKey[] {
  const keys = value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map(parseSecretsKey);
  if (keys.length === 0) throw new Error('no key given');
  if (new Set(keys.map((k) => k.id)).size !== keys.length) throw new Error('key ids must be unique');
  return keys;
}

/** A key generated once per machine for local use, kept beside the other local state. */
export function localSecretsKey(stateDir: string): string {
  const file = path.join(stateDir, 'secrets.key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(stateDir, { recursive: true });
  const generated = randomBytes(32).toString('base64');
  writeFileSync(file, `${generated}\n`, { mode: 0o600, flag: 'wx' });
  return generated;
}

function identityStorage(env: Env): StorageSettings | undefined {
  const accountName = env.AzureWebJobsStorage__accountName;
  const tableServiceUri = env.AzureWebJobsStorage__tableServiceUri;
  const queueServiceUri = env.AzureWebJobsStorage__queueServiceUri;
  const managedIdentityClientId = env.AzureWebJobsStorage__clientId || undefined;
  if (tableServiceUri && queueServiceUri) {
    return {
      kind: 'identity',
      tableServiceUrl: parseHttpUrl(tableServiceUri, { httpsOnly: true }).toString(),
      queueServiceUrl: parseHttpUrl(queueServiceUri, { httpsOnly: true }).toString(),
      managedIdentityClientId,
    };
  }
  if (!accountName) return undefined;
  if (!/^[a-z0-9]{3,24}$/.test(accountName)) throw new Error('AzureWebJobsStorage__accountName is malformed');
  return {
    kind: 'identity',
    tableServiceUrl: `https://${accountName}.table.core.windows.net`,
    queueServiceUrl: `https://${accountName}.queue.core.windows.net`,
    managedIdentityClientId,
  };
}

/** A connection string, or the managed-identity form the Functions host also reads. */
export function parseStorage(env: Env, connectionString: string | undefined): StorageSettings {
  if (connectionString !== undefined) {
    if (
      connectionString !== 'UseDevelopmentStorage=true' &&
      !/AccountName=|Endpoint=/i.test(connectionString)
    ) {
      throw new Error('is not a storage connection string');
    }
    return { kind: 'connection-string', connectionString };
  }
  const identity = identityStorage(env);
  if (identity) return identity;
  throw new Error(
    'is required (a connection string, or AzureWebJobsStorage__accountName for managed identity)',
  );
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
