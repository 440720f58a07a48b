import { randomBytes } from 'node:crypto';
import { odata, type TableClient, type TableEntity } from '@azure/data-tables';
import { AppError, isAppError, type ErrorCode } from '../errors.js';
import type { Clock } from '../clock.js';
import type { StorageAccount } from '../storage/account.js';
import { statusOf, storageError } from '../storage/errors.js';
import { isExpired, type Leases } from './lease.js';

/**
 * Sync runs, as the management API lists them. Table `syncruns`: PartitionKey = environmentId, RowKey = runId. Run ids
 * begin with the inverted queue time, so a partition lists newest first without sorting.
 */
export const RUNS_TABLE = 'syncruns';

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'halted';
export type RunTrigger = 'manual' | 'periodic';

export interface RunCounts {
  added: number;
  granted: number;
  updated: number;
  deactivated: number;
  reactivated: number;
  unchanged: number;
}

/** A run exactly as the management API shows it. */
export interface SyncRun {
  readonly runId: string;
  readonly environment: string;
  readonly trigger: RunTrigger;
  readonly requestedBy: string;
  readonly status: RunStatus;
  readonly queuedAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly counts: RunCounts;
  readonly error?: { readonly code: string; readonly message: string };
  readonly haltReason?: 'deactivation-limit';
  /** Present (true) only on a dry run: it listed what a run would change and changed nothing. */
  readonly dryRun?: true;
  /** A dry run where a real run would have halted. */
  readonly wouldHalt?: boolean;
}

/** The settings a dry run tries instead of the stored ones. */
export interface RunPreview {
  readonly tenant?: string;
  readonly groupsToSync?: readonly string[];
}

/** A run with what only the worker needs. */
export interface StoredRun extends SyncRun {
  readonly confirmDeactivations: boolean;
  /** A dry run's proposed settings (absent: the stored ones). */
  readonly preview?: RunPreview;
  /** The tenant the run used, once it has opened it (for health, mails and the run's summary). */
  readonly tenant?: string;
  /** Number of change pages written (see changes.ts). */
  readonly changePages: number;
  /** The record's version as read: a save with it fails if anyone wrote the run since. */
  readonly etag?: string;
}

export const ZERO_COUNTS: Readonly<RunCounts> = Object.freeze({
  added: 0,
  granted: 0,
  updated: 0,
  deactivated: 0,
  reactivated: 0,
  unchanged: 0,
});

interface RunEntity extends TableEntity {
  trigger: string;
  requestedBy: string;
  status: string;
  queuedAt: string;
  startedAt?: string;
  finishedAt?: string;
  counts: string;
  errorCode?: string;
  errorMessage?: string;
  haltReason?: string;
  confirmDeactivations: boolean;
  changePages?: number;
  dryRun?: boolean;
  wouldHalt?: boolean;
  /** JSON of the RunPreview. */
  preview?: string;
  tenant?: string;
}

const MAX_TIME = 9_999_999_999_999;
/** Runs read a page at a time while looking for the latest one that is not a dry run. */
const LATEST_RUN_PAGE = 20;

/** A new run id: sorts newest first within an environment, unique by its random tail. */
export function newRunId(queuedAt: Date, random: Buffer = randomBytes(6)): string {
  const inverted = String(MAX_TIME - queuedAt.getTime()).padStart(13, '0');
  return `${inverted}-${random.toString('hex')}`;
}

export function isRunId(value: string): boolean {
  return /^\d{13}-[0-9a-f]{12}$/.test(value);
}

function parseCounts(value: unknown): RunCounts {
  const counts = { ...ZERO_COUNTS };
  if (typeof value !== 'string' || value === '') return counts;
  const parsed = JSON.parse(value) as Partial<Record<keyof RunCounts, unknown>>;
  for (const key of Object.keys(counts) as (keyof RunCounts)[]) {
    const n = parsed[key];
    if (typeof n === 'number') counts[key] = n;
  }
  return counts;
}

function parsePreview(value: unknown): RunPreview | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const parsed = JSON.parse(value) as { tenant?: unknown; groupsToSync?: unknown };
  return {
    ...(typeof parsed.tenant === 'string' ? { tenant: parsed.tenant } : {}),
    ...(Array.isArray(parsed.groupsToSync)
      ? { groupsToSync: parsed.groupsToSync.filter((id): id is string => typeof id === 'string') }
      : {}),
  };
}

function fromRunEntity(entity: RunEntity & { etag?: unknown }): StoredRun {
  const preview = parsePreview(entity.preview);
  return {
    runId: entity.rowKey,
    environment: entity.partitionKey,
    trigger: entity.trigger === 'periodic' ? 'periodic' : 'manual',
    requestedBy: entity.requestedBy,
    status: entity.status as RunStatus,
    queuedAt: entity.queuedAt,
    ...(entity.startedAt ? { startedAt: entity.startedAt } : {}),
    ...(entity.finishedAt ? { finishedAt: entity.finishedAt } : {}),
    counts: parseCounts(entity.counts),
    ...(entity.errorCode ? { error: { code: entity.errorCode, message: entity.errorMessage ?? '' } } : {}),
    ...(entity.haltReason === 'deactivation-limit' ? { haltReason: 'deactivation-limit' as const } : {}),
    ...(entity.dryRun === true ? { dryRun: true as const, wouldHalt: entity.wouldHalt === true } : {}),
    confirmDeactivations: entity.confirmDeactivations === true,
    changePages: typeof entity.changePages === 'number' ? entity.changePages : 0,
    ...(preview ? { preview } : {}),
    ...(entity.tenant ? { tenant: entity.tenant } : {}),
    ...(typeof entity.etag === 'string' ? { etag: entity.etag } : {}),
  };
}

function toRunEntity(run: StoredRun): RunEntity {
  return {
    partitionKey: run.environment,
    rowKey: run.runId,
    trigger: run.trigger,
    requestedBy: run.requestedBy,
    status: run.status,
    queuedAt: run.queuedAt,
    startedAt: run.startedAt ?? '',
    finishedAt: run.finishedAt ?? '',
    counts: JSON.stringify(run.counts),
    errorCode: run.error?.code ?? '',
    errorMessage: run.error?.message ?? '',
    haltReason: run.haltReason ?? '',
    confirmDeactivations: run.confirmDeactivations,
    changePages: run.changePages,
    dryRun: run.dryRun === true,
    wouldHalt: run.wouldHalt === true,
    preview: run.preview ? JSON.stringify(run.preview) : '',
    tenant: run.tenant ?? '',
  };
}

/** The public shape: what the API answers (internal fields dropped). */
export function toPublicRun(run: StoredRun | SyncRun): SyncRun {
  return {
    runId: run.runId,
    environment: run.environment,
    trigger: run.trigger,
    requestedBy: run.requestedBy,
    status: run.status,
    queuedAt: run.queuedAt,
    ...(run.startedAt ? { startedAt: run.startedAt } : {}),
    ...(run.finishedAt ? { finishedAt: run.finishedAt } : {}),
    counts: { ...run.counts },
    ...(run.error ? { error: { code: run.error.code, message: run.error.message } } : {}),
    ...(run.haltReason ? { haltReason: run.haltReason } : {}),
    ...(run.dryRun === true ? { dryRun: true as const, wouldHalt: run.wouldHalt === true } : {}),
  };
}

/** A run that ended in failure, with a code the API shows. */
export function failedRun(run: StoredRun, code: ErrorCode, message: string, at: Date): StoredRun {
  return {
    ...run,
    status: 'failed',
    finishedAt: at.toISOString(),
    error: { code, message },
  };
}

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
