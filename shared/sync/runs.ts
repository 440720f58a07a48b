import { odata, type TableClient } from '@azure/data-tables';
import { AppError, isAppError } from '../errors.js';
import type { Clock } from '../clock.js';
import type { StorageAccount } from '../storage/account.js';
import { statusOf, storageError } from '../storage/errors.js';
import { isExpired, type Leases } from './lease.js';
import { fromRunEntity, toRunEntity, type RunEntity } from './run-entities.js';
import { failedRun, isRunId, toPublicRun, type StoredRun, type SyncRun } from './run-model.js';

// The run's shape and its mapping to rows live apart; callers import all of it from here.
export * from './run-model.js';

/**
 * Sync runs, as the management API lists them. Table `syncruns`: PartitionKey = environmentId, RowKey = runId. Run ids
 * begin with the inverted queue time, so a partition lists newest first without sorting.
 */
export const RUNS_TABLE = 'syncruns';

/** Runs read a page at a time while looking for the latest one that is not a dry run. */
const LATEST_RUN_PAGE = 20;

/** The `syncruns` rows. */
export interface RunsRepository {
  getStoredRun(environmentId: string, runId: string): Promise<StoredRun | undefined>;
  getRun(environmentId: string, runId: string): Promise<SyncRun | undefined>;
  /** The newest runs of an environment, newest first. */
  listRuns(environmentId: string, limit: number): Promise<SyncRun[]>;
  /** The environment's newest run, or null (MGMT shows it as `latestRun`). */
  getLatestRun(environmentId: string): Promise<SyncRun | null>;
  /** A queued or running run whose lease is gone is stored, and answered, as failed. */
  settleRun(run: StoredRun): Promise<StoredRun>;
  createRun(run: StoredRun): Promise<void>;
  /**
   * Replaces the run record, only if nobody wrote it since `run.etag` was read (AppError
   * 'conflict' otherwise): a worker that lost its run never overwrites, or revives, what another
   * worker or a reader settled meanwhile. Returns the run with its new version.
   */
  saveRun(run: StoredRun): Promise<StoredRun>;
}

export interface RunsDeps {
  readonly storage: StorageAccount;
  readonly clock: Clock;
  readonly leases: Leases;
}

// Long only as a factory: its body is the short functions below, closed over the deps.
export function createRunsRepository(deps: RunsDeps): RunsRepository {
  const table = (): Promise<TableClient> => deps.storage.table(RUNS_TABLE);

  async function getStoredRun(environmentId: string, runId: string): Promise<StoredRun | undefined> {
    if (!isRunId(runId)) return undefined;
    const client = await table();
    try {
      return fromRunEntity(await client.getEntity<RunEntity>(environmentId, runId));
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw storageError('Sync runs could not be read.', error);
    }
  }

  async function getRun(environmentId: string, runId: string): Promise<SyncRun | undefined> {
    const run = await getStoredRun(environmentId, runId);
    return run && toPublicRun(run);
  }

  /** The newest runs of an environment, newest first. */
  async function listRuns(environmentId: string, limit: number): Promise<SyncRun[]> {
    const client = await table();
    const runs: SyncRun[] = [];
    try {
      const pages = client
        .listEntities<RunEntity>({ queryOptions: { filter: odata`PartitionKey eq ${environmentId}` } })
        .byPage({ maxPageSize: limit });
      for await (const page of pages) {
        for (const entity of page) {
          runs.push(toPublicRun(await settleRun(fromRunEntity(entity))));
          if (runs.length >= limit) return runs;
        }
      }
    } catch (error) {
      throw storageError('Sync runs could not be listed.', error);
    }
    return runs;
  }

  /**
   * The environment's newest run that is not a dry run, or null (shown as `latestRun`): a preview
   * says nothing about the state of the environment's users.
   */
  async function getLatestRun(environmentId: string): Promise<SyncRun | null> {
    const client = await table();
    try {
      const pages = client
        .listEntities<RunEntity>({ queryOptions: { filter: odata`PartitionKey eq ${environmentId}` } })
        .byPage({ maxPageSize: LATEST_RUN_PAGE });
      for await (const page of pages) {
        for (const entity of page) {
          if (entity.dryRun === true) continue;
          return toPublicRun(await settleRun(fromRunEntity(entity)));
        }
      }
    } catch (error) {
      throw storageError('Sync runs could not be listed.', error);
    }
    return null;
  }

  /**
   * On every read (docs/sync-rules.md, "One run per environment at a time"): a queued or running
   * run whose lease is gone (its worker died) is shown, and stored, as failed, so the list and
   * `latestRun` never show a dead run as in flight.
   */
  async function settleRun(run: StoredRun): Promise<StoredRun> {
    if (run.status !== 'queued' && run.status !== 'running') return run;
    const now = deps.clock.now();
    const state = await deps.leases.getLeaseState(run.environment);
    if (state?.runId === run.runId && !isExpired(state, now)) return run;
    if (state?.runId === run.runId) await deps.leases.releaseLease(run.environment, run.runId);
    const failed = failedRun(run, 'internal', 'The run stopped without finishing (its lease expired).', now);
    try {
      return await saveRun(failed);
    } catch (error) {
      if (!isAppError(error, 'conflict')) throw error;
      // Its worker wrote the run meanwhile (it finished, or renewed just in time): that write stands.
      return (await getStoredRun(run.environment, run.runId)) ?? run;
    }
  }

  async function createRun(run: StoredRun): Promise<void> {
    const client = await table();
    try {
      await client.createEntity(toRunEntity(run));
    } catch (error) {
      throw storageError('The sync run could not be stored.', error);
    }
  }

  async function saveRun(run: StoredRun): Promise<StoredRun> {
    const client = await table();
    try {
      const response =
        run.etag === undefined
          ? await client.upsertEntity(toRunEntity(run), 'Replace')
          : await client.updateEntity(toRunEntity(run), 'Replace', { etag: run.etag });
      return response.etag ? { ...run, etag: response.etag } : run;
    } catch (error) {
      const status = statusOf(error);
      if (status === 412 || status === 404) {
        throw new AppError('conflict', 'The sync run was changed by another worker.', { cause: error });
      }
      throw storageError('The sync run could not be stored.', error);
    }
  }

  return { getStoredRun, getRun, listRuns, getLatestRun, settleRun, createRun, saveRun };
}
