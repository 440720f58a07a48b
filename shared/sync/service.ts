import { AppError } from '../errors.js';
import type { ChangesPage } from './changes.js';
import type { SyncDeps } from './deps.js';
import { createRunRequests, type RunRequests } from './requests.js';
import { toPublicRun, type SyncRun } from './runs.js';
import { createSyncStores } from './stores.js';
import { createSyncWorker, type SyncWorker } from './worker.js';

/** Reading runs and what they changed. */
export interface RunReads {
  getSyncRun(environmentId: string, runId: string): Promise<SyncRun>;
  listSyncRuns(environmentId: string, limit: number): Promise<SyncRun[]>;
  /** The environment's newest run, or null (shown as the environment's `latestRun`). */
  getLatestRun(environmentId: string): Promise<SyncRun | null>;
  getRunChanges(
    environmentId: string,
    runId: string,
    continuationToken: string | undefined,
  ): Promise<ChangesPage>;
}

/** The sync of one environment's users with its directory: requesting, reading and executing runs. */
export type SyncService = RunRequests & RunReads & SyncWorker;

function runNotFound(runId: string): AppError {
  return new AppError('not-found', `Sync run "${runId}" does not exist.`);
}

export function createSyncService(deps: SyncDeps): SyncService {
  const stores = createSyncStores(deps.storage, deps.clock, deps.onRunFinished);
  const { runs, changes } = stores;

  const reads: RunReads = {
    async getSyncRun(environmentId, runId) {
      const run = await runs.getStoredRun(environmentId, runId);
      if (!run) throw runNotFound(runId);
      return toPublicRun(await runs.settleRun(run));
    },
    async listSyncRuns(environmentId, limit) {
      if (!(await deps.environments.get(environmentId))) {
        throw new AppError('not-found', `Environment "${environmentId}" does not exist.`);
      }
      return runs.listRuns(environmentId, limit);
    },
    getLatestRun: (environmentId) => runs.getLatestRun(environmentId),
    async getRunChanges(environmentId, runId, continuationToken) {
      if (!(await runs.getStoredRun(environmentId, runId))) throw runNotFound(runId);
      return changes.readChanges(runId, continuationToken);
    },
  };

  return { ...createRunRequests(deps, stores), ...reads, ...createSyncWorker(deps, stores) };
}

export type { AccessDeactivatedHandler, SyncDeps, SyncEnvironmentsPort, SyncTenantsPort } from './deps.js';
export type { RequestSyncInput } from './requests.js';
export type { WorkerOptions, WorkerOutcome } from './worker.js';
export { encodeSyncMessage, parseSyncMessage, SYNC_POISON_QUEUE, SYNC_QUEUE } from './messages.js';
export type { SyncMessage } from './messages.js';
