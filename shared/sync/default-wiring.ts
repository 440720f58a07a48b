import { clock, type Clock } from '../clock.js';
import { revokeSessionsOfUsers } from '../auth/sessions.js';
import { createDirectoryReader } from '../directory/reader.js';
import { getEnvironment, listEnvironments } from '../environments/repository.js';
import { storage, type StorageAccount } from '../storage/account.js';
import { getTenantConnection } from '../tenants/repository.js';
import { createUsersRepository, type UsersRepository } from '../users/repository.js';
import { createUsersService, type UsersService } from '../users/service.js';
import type { RunsRepository, StoredRun, SyncRun } from './runs.js';
import { createSyncStores } from './stores.js';
import type { RequestSyncInput } from './requests.js';
import { createSyncService, type SyncService } from './service.js';
import type { EnvironmentUser, IdentityUser } from '../users/model.js';

/**
 * TEMPORARY wiring of the sync and users services to today's process-wide globals (`storage()`,
 * `clock()`, the environments and tenants repositories, session revocation). It exists only until
 * the composition root builds these services with their ports; nothing else in shared/sync or
 * shared/users reads a global. The services are rebuilt whenever the global storage account or
 * clock is swapped (tests do), so they always see the current ones.
 */

interface DefaultServices {
  readonly storage: StorageAccount;
  readonly clock: Clock;
  readonly sync: SyncService;
  readonly users: UsersService;
  readonly usersRepository: UsersRepository;
  readonly runs: RunsRepository;
}

let current: DefaultServices | undefined;

function defaults(): DefaultServices {
  const account = storage();
  const time = clock();
  if (current?.storage === account && current.clock === time) return current;
  const environments = { get: getEnvironment, list: listEnvironments };
  current = {
    storage: account,
    clock: time,
    sync: createSyncService({
      storage: account,
      clock: time,
      environments,
      tenants: { getConnection: getTenantConnection },
      openDirectory: (connection) => createDirectoryReader(connection),
      onAccessDeactivated: revokeSessionsOfUsers,
    }),
    users: createUsersService({ storage: account, environments }),
    usersRepository: createUsersRepository(account),
    runs: createSyncStores(account, time).runs,
  };
  return current;
}

export function defaultSyncService(): SyncService {
  return defaults().sync;
}

export function defaultUsersService(): UsersService {
  return defaults().users;
}

// Free functions for callers outside the sync and users domains that do not take services yet.

export function getEnvironmentUser(
  environmentId: string,
  userId: string,
): Promise<EnvironmentUser | undefined> {
  return defaults().usersRepository.getEnvironmentUser(environmentId, userId);
}

export function findUserByIdentity(directoryId: string, objectId: string): Promise<IdentityUser | undefined> {
  return defaults().usersRepository.findUserByIdentity(directoryId, objectId);
}

export function findActiveUsersByEmail(environmentId: string, email: string): Promise<EnvironmentUser[]> {
  return defaults().usersRepository.findActiveUsersByEmail(environmentId, email);
}

export function getLatestRun(environmentId: string): Promise<SyncRun | null> {
  return defaults().sync.getLatestRun(environmentId);
}

export function requestSync(input: RequestSyncInput): Promise<SyncRun> {
  return defaults().sync.requestSync(input);
}

export function createRun(run: StoredRun): Promise<void> {
  return defaults().runs.createRun(run);
}
