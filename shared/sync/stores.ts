import type { Clock } from '../clock.js';
import type { StorageAccount } from '../storage/account.js';
import type { RunFinishedHandler } from './deps.js';
import { createUsersRepository, type UsersRepository } from '../users/repository.js';
import { createChangesStore, type ChangesStore } from './changes.js';
import { createLeases, type Leases } from './lease.js';
import { createRunsRepository, type RunsRepository } from './runs.js';

/** The tables a sync reads and writes, over one storage account. */
export interface SyncStores {
  readonly leases: Leases;
  readonly runs: RunsRepository;
  readonly changes: ChangesStore;
  readonly users: UsersRepository;
}

export function createSyncStores(
  storage: StorageAccount,
  clock: Clock,
  onRunFinished?: RunFinishedHandler,
): SyncStores {
  const leases = createLeases(storage);
  return {
    leases,
    runs: createRunsRepository({ storage, clock, leases, onRunFinished }),
    changes: createChangesStore(storage),
    users: createUsersRepository(storage),
  };
}
