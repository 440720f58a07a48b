import { odata, type TableClient } from '@azure/data-tables';
import { AppError } from '../errors.js';
import type { StorageAccount } from '../storage/account.js';
import { statusOf, storageError } from '../storage/errors.js';
import { fromStoredListing, toStoredListing, type AppliedListing } from './applied-listing.js';

/**
 * One sync at a time per environment (docs/sync-rules.md, "One run per environment at a time").
 * Table `syncstate`: PartitionKey = environmentId, RowKey = 'state'. The row names the run in
 * flight and until when it may block others, and keeps the listing the last run applied
 * (applied-listing.ts): taking the lease to run clears it, releasing it stores what the run leaves,
 * so a run that dies halfway leaves none, at no write of its own. Every
 * change is conditional on the ETag read, so two claimants never both win.
 *
 * A queued run holds the environment for QUEUED_LEASE_MS (its message may wait in the queue); a
 * running one for RUNNING_LEASE_MS, renewed while it works, so a dead worker stops blocking soon.
 */
export const STATE_TABLE = 'syncstate';
const ROW = 'state';
export const QUEUED_LEASE_MS = 10 * 60_000;
export const RUNNING_LEASE_MS = 5 * 60_000;
/** A running lease is renewed this often, on a timer, for as long as its worker runs. */
export const RENEW_EVERY_MS = 60_000;

export type LeaseStatus = 'queued' | 'running';

export interface LeaseState {
  readonly runId: string;
  readonly status: LeaseStatus;
  readonly owner: string;
  readonly expiresAt: string;
}

interface StateEntity {
  partitionKey: string;
  rowKey: string;
  runId: string;
  status: string;
  owner: string;
  expiresAt: string;
  /** The schedule slot of the last periodic run queued here ('' before the first). */
  periodicSlot?: string;
  /** The listing the last run applied, as JSON ('' while a run may be writing, or none). */
  applied?: string;
}

type Read = {
  state: LeaseState | undefined;
  etag: string | undefined;
  /** Kept through every write of the row, whoever holds the lease. */
  periodicSlot: string;
  /** Kept through every write of the row unless the writer sets it. */
  applied: string;
};

async function read(client: TableClient, environmentId: string): Promise<Read> {
  try {
    const entity = await client.getEntity<StateEntity>(environmentId, ROW);
    const status = entity.status;
    const state: LeaseState | undefined =
      entity.runId && (status === 'queued' || status === 'running')
        ? { runId: entity.runId, status, owner: entity.owner, expiresAt: entity.expiresAt }
        : undefined;
    return {
      state,
      etag: entity.etag,
      periodicSlot: entity.periodicSlot ?? '',
      applied: entity.applied ?? '',
    };
  } catch (error) {
    if (statusOf(error) === 404) return { state: undefined, etag: undefined, periodicSlot: '', applied: '' };
    throw storageError('The sync state could not be read.', error);
  }
}

/** Writes the state if nobody wrote the row since it was read (its ETag); false when someone did. */
async function write(
  client: TableClient,
  environmentId: string,
  { etag, periodicSlot, applied }: Pick<Read, 'etag' | 'periodicSlot' | 'applied'>,
  state: LeaseState | undefined,
): Promise<boolean> {
  const entity: StateEntity = {
    partitionKey: environmentId,
    rowKey: ROW,
    runId: state?.runId ?? '',
    status: state?.status ?? '',
    owner: state?.owner ?? '',
    expiresAt: state?.expiresAt ?? '',
    periodicSlot,
    applied,
  };
  try {
    if (etag === undefined) await client.createEntity(entity);
    else await client.updateEntity(entity, 'Replace', { etag });
    return true;
  } catch (error) {
    const status = statusOf(error);
    if (status === 409 || status === 412) return false;
    throw storageError('The sync state could not be stored.', error);
  }
}

export function isExpired(state: LeaseState, now: Date): boolean {
  return Date.parse(state.expiresAt) <= now.getTime();
}

export type ClaimResult =
  | { readonly kind: 'claimed'; readonly staleRunId?: string }
  | { readonly kind: 'busy'; readonly runId: string }
  /** A periodic run of this schedule slot was queued already (by this instance or another). */
  | { readonly kind: 'slot-taken' };

export interface ReleaseOptions {
  readonly owner?: string;
  readonly requeueAt?: Date;
  readonly applied?: AppliedListing | null;
}

export type StartResult =
  /** The worker holds the lease and may run; `applied`: the listing the last run left, now cleared. */
  | { readonly kind: 'started'; readonly applied: AppliedListing | undefined }
  /** Another worker is running this run now: drop the duplicate message. */
  | { readonly kind: 'held' }
  /** The run no longer holds the environment (failed, expired or superseded). */
  | { readonly kind: 'lost'; readonly expired: boolean };

/** The `syncstate` rows: who holds each environment. */
export interface Leases {
  /**
   * Reserves the environment for a new queued run, unless a live run holds it. A periodic run
   * names its schedule slot: the claim and the slot are one conditional write, so the ticks of
   * several instances queue one periodic run per environment per slot, however fast it ends.
   */
  claimForQueuedRun(
    environmentId: string,
    runId: string,
    now: Date,
    periodicSlot?: string,
  ): Promise<ClaimResult>;
  /**
   * Moves the environment's lease from "queued" to "running" for this worker, for `durationMs`
   * from `now` (however long the message waited in the queue).
   */
  startLease(
    environmentId: string,
    runId: string,
    owner: string,
    now: Date,
    durationMs?: number,
  ): Promise<StartResult>;
  /** Extends a running lease to `now + durationMs`; AppError 'conflict' when the worker no longer holds it. */
  renewLease(
    environmentId: string,
    runId: string,
    owner: string,
    now: Date,
    durationMs?: number,
  ): Promise<Date>;
  /**
   * Frees the environment if `runId` still holds it (with `owner`, when given). `requeueAt` keeps it
   * reserved for the same run, queued, for the queue's next delivery of its message. `applied`:
   * the listing the environment's access is in now (`null`: none known); kept as it is unless given.
   */
  releaseLease(environmentId: string, runId: string, options?: ReleaseOptions): Promise<boolean>;
  getLeaseState(environmentId: string): Promise<LeaseState | undefined>;
  /** Environments that a live run holds now: one scan of a table with one row per environment. */
  listBusyEnvironments(now: Date): Promise<Set<string>>;
}

// Long only as a factory: its body is the short functions below, closed over the deps.
export function createLeases(storage: StorageAccount): Leases {
  const table = (): Promise<TableClient> => storage.table(STATE_TABLE);

  /** Reserves the environment for a new queued run, unless a live run holds it. */
  async function claimForQueuedRun(
    environmentId: string,
    runId: string,
    now: Date,
    periodicSlot?: string,
  ): Promise<ClaimResult> {
    const client = await table();
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await read(client, environmentId);
      const { state } = current;
      if (state && !isExpired(state, now)) return { kind: 'busy', runId: state.runId };
      if (periodicSlot !== undefined && current.periodicSlot === periodicSlot) return { kind: 'slot-taken' };
      const next: LeaseState = {
        runId,
        status: 'queued',
        owner: '',
        expiresAt: new Date(now.getTime() + QUEUED_LEASE_MS).toISOString(),
      };
      const written = { ...current, periodicSlot: periodicSlot ?? current.periodicSlot };
      if (await write(client, environmentId, written, next)) {
        return state ? { kind: 'claimed', staleRunId: state.runId } : { kind: 'claimed' };
      }
    }
    throw new AppError('conflict', 'The sync state changed concurrently; try again.');
  }

  /** Moves the environment's lease from "queued" to "running" for this worker. */
  async function startLease(
    environmentId: string,
    runId: string,
    owner: string,
    now: Date,
    durationMs = RUNNING_LEASE_MS,
  ): Promise<StartResult> {
    const client = await table();
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await read(client, environmentId);
      const { state } = current;
      if (state?.runId !== runId) {
        if (state === undefined || isExpired(state, now)) {
          // Nobody holds the environment: this run may still go (e.g. its claim was lost to a crash).
        } else {
          return { kind: 'lost', expired: false };
        }
      } else if (state.status === 'running') {
        return isExpired(state, now) ? { kind: 'lost', expired: true } : { kind: 'held' };
      }
      const next: LeaseState = {
        runId,
        status: 'running',
        owner,
        expiresAt: new Date(now.getTime() + durationMs).toISOString(),
      };
      // Cleared while the run may write; the worker hands back what it leaves when it releases.
      if (await write(client, environmentId, { ...current, applied: '' }, next)) {
        return { kind: 'started', applied: fromStoredListing(current.applied) };
      }
    }
    return { kind: 'lost', expired: false };
  }

  /** Extends a running lease; AppError 'conflict' when the worker no longer holds it. */
  async function renewLease(
    environmentId: string,
    runId: string,
    owner: string,
    now: Date,
    durationMs = RUNNING_LEASE_MS,
  ): Promise<Date> {
    const client = await table();
    const current = await read(client, environmentId);
    const { state } = current;
    if (state?.runId !== runId || state.owner !== owner || isExpired(state, now)) {
      throw new AppError('conflict', 'The sync lost its lease.');
    }
    const expiresAt = new Date(now.getTime() + durationMs);
    const next = { ...state, expiresAt: expiresAt.toISOString() };
    if (!(await write(client, environmentId, current, next)))
      throw new AppError('conflict', 'The sync lost its lease.');
    return expiresAt;
  }

  /**
   * Frees the environment if `runId` still holds it (with `owner`, when given). `requeue` keeps it
   * reserved for the same run, queued, for the queue's next delivery of its message.
   */
  async function releaseLease(
    environmentId: string,
    runId: string,
    options: ReleaseOptions = {},
  ): Promise<boolean> {
    const client = await table();
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await read(client, environmentId);
      const { state } = current;
      if (state?.runId !== runId) return false;
      if (options.owner !== undefined && state.owner !== options.owner) return false;
      const next: LeaseState | undefined = options.requeueAt
        ? {
            runId,
            status: 'queued',
            owner: '',
            expiresAt: new Date(options.requeueAt.getTime() + QUEUED_LEASE_MS).toISOString(),
          }
        : undefined;
      const applied =
        options.applied === undefined
          ? current.applied
          : options.applied === null
            ? ''
            : toStoredListing(options.applied);
      if (await write(client, environmentId, { ...current, applied }, next)) return true;
    }
    return false;
  }

  async function getLeaseState(environmentId: string): Promise<LeaseState | undefined> {
    return (await read(await table(), environmentId)).state;
  }

  /** Environments that a live run holds now: one scan of a table with one row per environment. */
  async function listBusyEnvironments(now: Date): Promise<Set<string>> {
    const client = await table();
    const busy = new Set<string>();
    try {
      const entities = client.listEntities<StateEntity>({
        queryOptions: {
          filter: odata`runId ne ${''}`,
          select: ['PartitionKey', 'runId', 'status', 'expiresAt'],
        },
      });
      for await (const entity of entities) {
        if (Date.parse(entity.expiresAt) > now.getTime()) busy.add(entity.partitionKey);
      }
    } catch (error) {
      throw storageError('The sync state could not be listed.', error);
    }
    return busy;
  }

  return { claimForQueuedRun, startLease, renewLease, releaseLease, getLeaseState, listBusyEnvironments };
}
