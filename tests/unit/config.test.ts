import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors.js';
import { loadConfig, parseNcrontab, parseSecretsKeys, type Env } from '../../shared/config.js';
import { checkDirectoryOrigin } from '../../shared/directory/hosts.js';

const KEY = Buffer.alloc(32, 7).toString('base64');
const stateDir = () => mkdtempSync(path.join(tmpdir(), 'config-test-'));

const AZURE_OK: Env = {
  AZURE_FUNCTIONS_ENVIRONMENT: 'Production',
  AzureWebJobsStorage__accountName: 'bizzstreamusers',
  PUBLIC_BASE_URL: 'https://users.example.com',
  MANAGEMENT_ISSUER: 'https://login.example.com/issuer',
  MANAGEMENT_AUDIENCE: 'api://external-users',
  MANAGEMENT_JWKS_URI: 'https://login.example.com/keys',
  SECRETS_KEY: KEY,
  SMTP_URL: 'smtps://mail.example.com:465',
  MAIL_FROM: 'BizzStream <no-reply@example.com>',
  SYNC_SCHEDULE: '0 */15 * * * *',
  CONSOLE_CLIENT_ID: '00000000-0000-0000-0000-0000000000c1',
  CONSOLE_SCOPE: 'api://external-users/manage',
};

function failure(env: Env): Record<string, string> {
  try {
    loadConfig(env, { localStateDir: stateDir() });
  } catch (error) {
    if (error instanceof AppError && error.code === 'config-invalid') return { ...error.fields };
    throw error;
  }
  throw new Error('expected the configuration to be refused');
}

describe('loadConfig', () => {
  it('runs on embedded defaults locally, generating and keeping a secrets key', () => {
    const dir = stateDir();
    const config = loadConfig({}, { localStateDir: dir });
    expect(config).toMatchObject({
      mode: 'local',
      port: 7071,
      publicBaseUrl: 'http://localhost:7071',
      redirectUri: 'http://localhost:7071/api/auth/callback',
      storage: { kind: 'connection-string', connectionString: 'UseDevelopmentStorage=true' },
      syncSchedule: '0 */15 * * * *',
      smtpUrl: 'smtp://localhost:2525',
    });
    expect(config.secretsKeys[0]!.key).toHaveLength(32);
    expect(Object.isFrozen(config)).toBe(true);
    const again = loadConfig({}, { localStateDir: dir });
    expect(again.secretsKeys[0]!.key.equals(config.secretsKeys[0]!.key)).toBe(true);
    expect(readFileSync(path.join(dir, 'secrets.key'), 'utf8').trim()).toBe(
      config.secretsKeys[0]!.key.toString('base64'),
    );
  });

  it('accepts a complete Azure configuration with managed-identity storage', () => {
    const config = loadConfig(AZURE_OK);
    expect(config.mode).toBe('azure');
    expect(config.storage).toEqual({
      kind: 'identity',
      tableServiceUrl: 'https://bizzstreamusers.table.core.windows.net',
      queueServiceUrl: 'https://bizzstreamusers.queue.core.windows.net',
      managedIdentityClientId: undefined,
    });
  });

  it('treats App Service without AZURE_FUNCTIONS_ENVIRONMENT as Azure', () => {
    const fields = failure({ WEBSITE_INSTANCE_ID: 'abc' });
    expect(Object.keys(fields).sort()).toEqual(
      [
        'AzureWebJobsStorage',
        'CONSOLE_CLIENT_ID',
        'CONSOLE_SCOPE',
        'MAIL_FROM',
        'MANAGEMENT_AUDIENCE',
        'MANAGEMENT_ISSUER',
        'MANAGEMENT_JWKS_URI',
        'PUBLIC_BASE_URL',
        'SECRETS_KEY',
        'SMTP_URL',
        'SYNC_SCHEDULE',
      ].sort(),
    );
  });

  it('names every malformed setting at once', () => {
    const fields = failure({
      ...AZURE_OK,
      PORT: '70000',
      PUBLIC_BASE_URL: 'http://users.example.com',
      MANAGEMENT_JWKS_URI: 'not a url',
      SECRETS_KEY: 'c2hvcnQ=',
      SMTP_URL: 'https://mail.example.com',
      MAIL_FROM: 'nobody',
      SYNC_SCHEDULE: '*/15 * * * *',
    });
    expect(Object.keys(fields).sort()).toEqual(
      [
        'MAIL_FROM',
        'MANAGEMENT_JWKS_URI',
        'PORT',
        'PUBLIC_BASE_URL',
        'SECRETS_KEY',
        'SMTP_URL',
        'SYNC_SCHEDULE',
      ].sort(),
    );
    expect(fields.SYNC_SCHEDULE).toMatch(/6 fields/);
    expect(fields.PUBLIC_BASE_URL).toMatch(/https/);
  });

  it('refuses a public base URL with a path', () => {
    expect(failure({ PUBLIC_BASE_URL: 'http://localhost:7071/app' })).toHaveProperty('PUBLIC_BASE_URL');
  });

  it('message names each bad setting', () => {
    const load = () => loadConfig({ ...AZURE_OK, MAIL_FROM: undefined, SMTP_URL: 'ftp://x' });
    expect(load).toThrow(/MAIL_FROM is required/);
    expect(load).toThrow(/SMTP_URL must be an smtp/);
  });
});

describe('directory hosts and console', () => {
  it('defaults locally to the dev directory and its console registration', () => {
    const config = loadConfig({}, { localStateDir: stateDir() });
    expect(config.directoryHosts).toEqual(['localhost:7443']);
    expect(config.console).toEqual({
      clientId: 'bizzstream-console',
      scope: 'api://bizzstream-external-users/manage',
    });
  });

  it('reads DIRECTORY_HOSTS as host or host:port, lower-cased, and allows none in Azure', () => {
    expect(loadConfig(AZURE_OK).directoryHosts).toEqual([]);
    const config = loadConfig({ ...AZURE_OK, DIRECTORY_HOSTS: ' Login.Example.com, dir.test:8443,,' });
    expect(config.directoryHosts).toEqual(['login.example.com', 'dir.test:8443']);
  });

  it('lists DIRECTORY_HOSTS as tenant URLs name them: the https port dropped, IP literals allowed', () => {
    const config = loadConfig({ ...AZURE_OK, DIRECTORY_HOSTS: 'login.example.test:443, [::1]:8443' });
    expect(config.directoryHosts).toEqual(['login.example.test', '[::1]:8443']);
    for (const url of ['https://login.example.test', 'https://login.example.test:443']) {
      expect(checkDirectoryOrigin(url, 'authorityHost', config.directoryHosts)).toMatchObject({ ok: true });
    }
  });

  it.each([['https://login.example.com'], ['host:99999'], ['a b'], ['host:1:2'], ['host:0']])(
    'refuses DIRECTORY_HOSTS %j',
    (value) => {
      expect(failure({ ...AZURE_OK, DIRECTORY_HOSTS: value })).toHaveProperty('DIRECTORY_HOSTS');
    },
  );

  it('requires the console settings in Azure', () => {
    const fields = failure({ ...AZURE_OK, CONSOLE_CLIENT_ID: undefined, CONSOLE_SCOPE: 'two scopes' });
    expect(fields.CONSOLE_CLIENT_ID).toBe('is required');
    expect(fields.CONSOLE_SCOPE).toMatch(/spaces/);
    expect(Object.keys(fields).sort()).toEqual(['CONSOLE_CLIENT_ID', 'CONSOLE_SCOPE']);
  });
});

describe('SECRETS_KEY', () => {
  it('takes several keys, the first encrypting, with explicit or derived ids', () => {
    const other = Buffer.alloc(32, 9).toString('base64');
    const keys = parseSecretsKeys(`k2:${other}, ${KEY}`);
    expect(keys.map((k) => k.id)).toEqual(['k2', expect.stringMatching(/^[0-9a-f]{12}$/)]);
  });
  it.each([[''], ['k1:' + KEY + ',k1:' + KEY], ['!!!'], [Buffer.alloc(16).toString('base64')]])(
    'refuses %j',
    (value) => {
      expect(() => parseSecretsKeys(value)).toThrow();
    },
  );
});

describe('NCRONTAB', () => {
  it('reads six fields, seconds first, in UTC', () => {
    const cron = parseNcrontab('0 */15 * * * *');
    expect(cron.nextRun(new Date('2026-01-01T10:01:30Z'))?.toISOString()).toBe('2026-01-01T10:15:00.000Z');
    expect(parseNcrontab('30 0 3 * * 1').nextRun(new Date('2026-11-28T00:00:00Z'))?.toISOString()).toBe(
      '2026-11-30T03:00:30.000Z',
    );
  });
  it.each([['*/15 * * * *'], ['0 0 0 0 0 0 0'], ['x * * * * *']])('refuses %j', (expression) => {
    expect(() => parseNcrontab(expression)).toThrow();
  });
});
