import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import type { JWTVerifyGetKey } from 'jose';
import { buildServices, defaultPorts, type Ports, type Services } from '../../shared/app/services.js';
import { systemClock, type Clock } from '../../shared/clock.js';
import { loadConfig, type Config } from '../../shared/config.js';
import {
  createEnvironmentsRepository,
  type EnvironmentsRepository,
} from '../../shared/environments/repository.js';
import { StorageAccount } from '../../shared/storage/account.js';
import { createTenantsRepository, type TenantsRepository } from '../../shared/tenants/repository.js';
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

/** The time every test service reads: the system's, unless a test moves it. */
export interface TestClock extends Clock {
  /** Reads time from `clock` from now on; `undefined` goes back to the system clock. */
  use(clock: Clock | undefined): void;
}

let currentClock: Clock = systemClock;
export const testClock: TestClock = {
  now: () => currentClock.now(),
  use(clock) {
    currentClock = clock ?? systemClock;
  },
};

interface TestWorld {
  readonly config: Config;
  readonly storage: StorageAccount;
  managementKeys: JWTVerifyGetKey | undefined;
  services: Services | undefined;
}

let world: TestWorld | undefined;
let installedKeys: JWTVerifyGetKey | undefined;

/**
 * Configuration for this worker's Azurite account, with local defaults for everything else
 * (overridable). The services of `testServices()` are built from it.
 */
export function useTestEnvironment(overrides: Record<string, string | undefined> = {}): Config {
  const config = loadConfig(
    {
      AZURE_FUNCTIONS_ENVIRONMENT: 'Development',
      AzureWebJobsStorage: testConnectionString(),
      SECRETS_KEY: 'dGVzdC1vbmx5LXNlY3JldHMta2V5LTMyLWJ5dGVzISE=',
      // This run's dev directory listens on a free port, not the local default's.
      DIRECTORY_HOSTS: new URL(inject('devDirectory').origin).host,
      ...overrides,
    },
    { localStateDir: '.dev/test' },
  );
  const storage = new StorageAccount(config.storage);
  world = { config, storage, managementKeys: installedKeys, services: undefined };
  return config;
}

/** Management tokens are verified against `keys` (or, with `undefined`, MANAGEMENT_JWKS_URI). */
export function useManagementKeySource(keys: JWTVerifyGetKey | undefined): void {
  installedKeys = keys;
  if (world) {
    world.managementKeys = keys;
    world.services = undefined;
  }
}

/** The test environment's ports; `overrides` replaces some (e.g. a storage account that is down). */
export function testPorts(overrides: Partial<Ports> = {}): Ports {
  if (!world) throw new Error('call useTestEnvironment() first');
  return {
    ...defaultPorts(world.config),
    storage: world.storage,
    clock: testClock,
    managementKeys: world.managementKeys,
    ...overrides,
  };
}

/** The services of the current test environment, built on first use. */
export function testServices(): Services {
  if (!world) throw new Error('call useTestEnvironment() first');
  world.services ??= buildServices(world.config, testPorts());
  return world.services;
}

/** Repositories over the test environment's storage, for tests that put data in place directly. */
export function testRepositories(): { tenants: TenantsRepository; environments: EnvironmentsRepository } {
  const { storage, clock, config } = testServices();
  return {
    tenants: createTenantsRepository({ storage, clock, secretsKeys: config.secretsKeys }),
    environments: createEnvironmentsRepository({ storage, clock }),
  };
}

export interface ConfiguredEnvironmentInput {
  readonly id: string;
  /** The tenant its settings name. */
  readonly tenant: string;
  /** The environment's name; its id when absent. */
  readonly name?: string;
  /** One random group when absent. */
  readonly groupsToSync?: readonly string[];
}

/** Stores an environment with the integration on and settings naming its tenant: no menus, no periodic sync. */
export async function saveConfiguredEnvironment(input: ConfiguredEnvironmentInput): Promise<void> {
  const { environments } = testRepositories();
  await environments.save({ id: input.id, name: input.name ?? input.id, externalUsersIntegration: true });
  await environments.saveSettings(input.id, {
    tenant: input.tenant,
    groupsToSync: [...(input.groupsToSync ?? [randomUUID()])],
    defaultMenus: [],
    periodicSync: false,
    deactivationLimit: 50,
  });
}
