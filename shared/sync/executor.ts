import { forEachLimited } from '../concurrency.js';
import type { BatchMode } from '../storage/batch.js';
import { entryTransactions, type IndexEntry } from '../users/email-index.js';
import { accessPartitionOf, userPartitionOfId } from '../users/entities.js';
import type { AccessPatch, Identity } from '../users/model.js';
import type { UsersRepository } from '../users/repository.js';
import type { Plan } from './planner.js';

/** Azure Tables: a transaction holds at most 100 entities of one partition. */
export const BATCH_SIZE = 100;

export interface BatchInfo {
  readonly table: 'users' | 'email-index' | 'access';
  readonly partition: string;
  readonly size: number;
  readonly mode: BatchMode;
  /** Batches completed so far in this execution, this one included. */
  readonly completed: number;
}

export interface ExecuteOptions {
  /** Batches in flight at once (each is one request to one partition). */
  readonly concurrency?: number;
  /** Called after every batch: the worker renews its lease here; tests stop a run here. */
  readonly afterBatch?: (info: BatchInfo) => Promise<void>;
}

/** Writes the user rows, the address index entries and the access rows of a plan. */
export interface PlanWriter {
  writeUsers(directoryId: string, rows: readonly Identity[], mode: BatchMode): Promise<void>;
  writeEmailIndex(entries: readonly IndexEntry[], mode: BatchMode): Promise<void>;
  /** Access rows whose index entries are written already. */
  writeAccess(environmentId: string, rows: readonly AccessPatch[], mode: BatchMode): Promise<void>;
}

/** The writer of the real tables. */
export function planWriterOf(
  users: Pick<UsersRepository, 'writeUserBatch' | 'writeAccessBatch' | 'writeEmailIndexBatch'>,
): PlanWriter {
  return {
    writeUsers: users.writeUserBatch,
    writeEmailIndex: users.writeEmailIndexBatch,
    writeAccess: (environmentId, rows, mode) =>
      users.writeAccessBatch(environmentId, rows, mode, { indexed: true }),
  };
}

interface Batch<T> {
  readonly partition: string;
  readonly size: number;
  readonly mode: BatchMode;
  /** The batch's rows, sliced only when it is written. */
  rows(): T[];
}

/**
 * Rows grouped by partition, then cut into transactions of at most `size`. New rows come first in
 * their partition, so that every transaction of new rows only is an insert; a transaction that
 * mixes them with others stays one upsert-merge (as many transactions as before, never more).
 */
function batches<T extends { readonly isNew?: true }>(
  items: readonly T[],
  partitionOf: (item: T) => string,
  size: number,
): Batch<T>[] {
  const byPartition = new Map<string, { fresh: T[]; known: T[] }>();
  for (const item of items) {
    const partition = partitionOf(item);
    let group = byPartition.get(partition);
    if (!group) byPartition.set(partition, (group = { fresh: [], known: [] }));
    (item.isNew === true ? group.fresh : group.known).push(item);
  }
  const result: Batch<T>[] = [];
  for (const [partition, { fresh, known }] of [...byPartition].sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  )) {
    // The partition's rows as fresh followed by known, without copying them into one list.
    const total = fresh.length + known.length;
    const slice = (start: number, end: number): T[] =>
      start >= fresh.length
        ? known.slice(start - fresh.length, end - fresh.length)
        : end <= fresh.length
          ? fresh.slice(start, end)
          : fresh.slice(start).concat(known.slice(0, end - fresh.length));
    for (let start = 0; start < total; start += size) {
      const end = Math.min(start + size, total);
      const mode: BatchMode = end <= fresh.length ? 'insert' : 'merge';
      result.push({ partition, size: end - start, mode, rows: () => slice(start, end) });
    }
  }
  return result;
}

/**
 * Applies a plan: the shared user rows first, then the address index entries of the access rows,
 * then this environment's access rows, each in
 * transactions of ≤ 100 rows of one partition (partition by partition, `concurrency` in flight).
 * Every write is an upsert of the desired state (a row the run did not read is inserted, and merged
 * instead when it was written meanwhile), so running it again after a crash at any point
 * converges: the rerun plans only what is still missing, and an identity's row is written before
 * any access that points at it.
 */
export async function executePlan(
  environmentId: string,
  directoryId: string,
  plan: Pick<Plan, 'userWrites' | 'accessWrites' | 'halted'>,
  options: ExecuteOptions,
  writer: PlanWriter,
): Promise<number> {
  if (plan.halted) return 0;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  let completed = 0;
  const step = async (
    table: BatchInfo['table'],
    { partition, size, mode }: Pick<Batch<unknown>, 'partition' | 'size' | 'mode'>,
  ): Promise<void> => {
    completed++;
    await options.afterBatch?.({ table, partition, size, mode, completed });
  };
  const writeAll = async <Row extends { readonly isNew?: true }>(
    table: BatchInfo['table'],
    rows: readonly Row[],
    partitionOf: (row: Row) => string,
    write: (batch: Batch<Row>) => Promise<void>,
  ): Promise<void> => {
    await forEachLimited(batches(rows, partitionOf, BATCH_SIZE), concurrency, async (batch) => {
      await write(batch);
      await step(table, batch);
    });
  };
  // Identities before access: an access row never points at a user row that is not there yet.
  await writeAll(
    'users',
    plan.userWrites,
    (row) => userPartitionOfId(directoryId, row.userId),
    (batch) => writer.writeUsers(directoryId, batch.rows(), batch.mode),
  );
  // The index before access: an access row is never findable by address later than it exists.
  // Only active rows: a password reset looks for active access, and a reactivation writes again.
  // New access inserts its entries (the cheaper write); a changed one may meet its entry, so merges.
  const indexTransactions = entryTransactions(environmentId, plan.accessWrites, (row) =>
    row.active ? (row.isNew === true ? 'insert' : 'merge') : undefined,
  );
  await forEachLimited(indexTransactions, concurrency, async (transaction) => {
    await writer.writeEmailIndex(transaction.entries(), transaction.mode);
    await step('email-index', transaction);
  });
  await writeAll(
    'access',
    plan.accessWrites,
    (row) => accessPartitionOf(environmentId, row.userId),
    (batch) => writer.writeAccess(environmentId, batch.rows(), batch.mode),
  );
  return completed;
}
