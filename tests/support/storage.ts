import { inject } from 'vitest';
import { loadConfig, setConfig, type Config } from '../../shared/config.js';
import { setStorage, StorageAccount } from '../../shared/storage/account.js';
import { accountConnectionString, TEST_ACCOUNTS } from '../../scripts/azurite.js';

/**
 * The Azurite account of this test worker. Workers run files one at a time, so a worker's account
 * is never shared with a file running at the same time; tests still use unique ids for their data.
 */
export function testAccountName(): string {
  const poolId = Number(process.env.VITEST_POOL_ID ?? '1');
  return TEST_ACCOUNTS[(poolId - 1) % TEST_ACCOUNTS.length]!;
}

export function testConnectionString(): string {
  return accountConnectionString(testAccountName(), inject('azurite'));
}

/**
 * Points the process's configuration and storage at this worker's Azurite account, with local
 * defaults for everything else (overridable). Returns the config in force.
 */
export function useTestEnvironment(overrides: Record<string, string | undefined> = {}): Config {
  const config = loadConfig(
    {
      AZURE_FUNCTIONS_ENVIRONMENT: 'Development',
      AzureWebJobsStorage: testConnectionString(),
      SECRETS_KEY: 'dGVzdC1vbmx5LXNlY3JldHMta2V5LTMyLWJ5dGVzISE=',
      ...overrides,
    },
    { localStateDir: '.dev/test' },
  );
  setConfig(config);
  const account = new StorageAccount(config.storage);
  setStorage(account);
  return config;
}
