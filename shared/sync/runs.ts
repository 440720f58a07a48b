import { odata, type TableClient } from '@azure/data-tables';
import { AppError, isAppError, toAppError } from '../errors.js';
import type { Clock } from '../clock.js';
import type { StorageAccount } from '../storage/account.js';
import { getEntityOrNone } from '../storage/entities.js';
import { statusOf, storageError } from '../storage/errors.js';
import type { RunFinishedHandler, RunLog } from './deps.js';
import { isExpired, type Leases } from './lease.js';
import { fromRunEntity, toRunEntity, type RunEntity } from './run-entities.js';
import { failedRun, isLive, isRunId, toPublicRun, type StoredRun, type SyncRun } from './run-model.js';

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
   *
   * Every run ends here, however it ends (its worker, a reader or a new request finding its lease
   * expired, the poison queue), so this is where what follows its end happens: `onRunFinished`,
   * before the ended run is written, so whoever sees it ended sees its tenant's health too. With
   * `log`, trouble there is told to it and the run is saved anyway; without, it is thrown and
   * nothing is written, so whoever settles the run next tries again.
   */
  saveRun(run: StoredRun, options?: SaveRunOptions): Promise<StoredRun>;
}

export interface SaveRunOptions {
  readonly log?: RunLog;
}

export interface RunsDeps {
  readonly storage: StorageAccount;
  readonly clock: Clock;
  readonly leases: Leases;
  /** What follows a run's end: its tenant's health, its failure mails. */
  readonly onRunFinished?: RunFinishedHandler | undefined;
}

// Long only as a factory: its body is the short functions below, closed over the deps.
export function createRunsRepository(deps: RunsDeps): RunsRepository {
  const table = (): Promise<TableClient> => deps.storage.table(RUNS_TABLE);

  async function getStoredRun(environmentId: string, runId: string): Promise<StoredRun | undefined> {
    if (!isRunId(runId)) return undefined;
    const entity = await getEntityOrNone<RunEntity>(
      await table(),
      environmentId,
      runId,
      'Sync runs could not be read.',
    );
    return entity && fromRunEntity(entity);
  }

  async function getRun(environmentId: string, runId: string): Promise<SyncRun | undefined> {
    const run = await getStoredRun(environmentId, runId);
    return run && toPublicRun(run);
  }

  /** The environment's run rows, newest first, read `pageSize` at a time. */
  async function* runEntities(environmentId: string, pageSize: number): AsyncGenerator<RunEntity> {
    const client = await table();
    const pages = client
      .listEntities<RunEntity>({ queryOptions: { filter: odata`PartitionKey eq ${environmentId}` } })
      .byPage({ maxPageSize: pageSize });
    try {
      for await (const page of pages) yield* page;
    } catch (error) {
      throw storageError('Sync runs could not be listed.', error);
    }
  }

  /** The newest runs of an environment, newest first. */
  async function listRuns(environmentId: string, limit: number): Promise<SyncRun[]> {
    const runs: SyncRun[] = [];
    for await (const entity of runEntities(environmentId, limit)) {
      runs.push(toPublicRun(await settleRun(fromRunEntity(entity))));
      if (runs.length >= limit) break;
    }
    return runs;
  }

  /**
   * The environment's newest run that is not a dry run, or null (shown as `latestRun`): a preview
   * says nothing about the state of the environment's users.
   */
  async function getLatestRun(environmentId: string): Promise<SyncRun | null> {
    for await (const entity of runEntities(environmentId, LATEST_RUN_PAGE)) {
      if (entity.dryRun !== true) return toPublicRun(await settleRun(fromRunEntity(entity)));
    }
    return null;
  }

  /**
   * On every read (docs/sync-rules.md, "One run per environment at a time"): a queued or running
   * run whose lease is gone (its worker died) is shown, and stored, as failed, so the list and
   * `latestRun` never show a dead run as in flight.
   */
  async function settleRun(run: StoredRun): Promise<StoredRun> {
    if (!isLive(run)) return run;
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

  async function followUp(run: StoredRun, log: RunLog | undefined): Promise<void> {
    if (!deps.onRunFinished || isLive(run)) return;
    try {
      await deps.onRunFinished(run);
    } catch (error) {
      if (!log) throw error;
      log('sync run follow-up failed', { runId: run.runId, code: toAppError(error).code });
    }
  }

  async function saveRun(run: StoredRun, options: SaveRunOptions = {}): Promise<StoredRun> {
    await followUp(run, options.log);
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
