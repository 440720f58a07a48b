import { forEachLimited } from '../concurrency.js';
import { accessPartitionOf, userPartitionOf } from '../users/entities.js';
import type { AccessPatch, Identity } from '../users/model.js';
import type { UsersRepository } from '../users/repository.js';
import type { Plan } from './planner.js';

/** Azure Tables: a transaction holds at most 100 entities of one partition. */
export const BATCH_SIZE = 100;

export interface BatchInfo {
  readonly table: 'users' | 'access';
  readonly partition: string;
  readonly size: number;
  /** Batches completed so far in this execution, this one included. */
  readonly completed: number;
}

export interface ExecuteOptions {
  /** Batches in flight at once (each is one request to one partition). */
  readonly concurrency?: number;
  /** Called after every batch: the worker renews its lease here; tests stop a run here. */
  readonly afterBatch?: (info: BatchInfo) => Promise<void>;
}

/** Writes the user rows and the access rows of a plan. */
export interface PlanWriter {
  writeUsers(directoryId: string, rows: readonly Identity[]): Promise<void>;
  writeAccess(environmentId: string, rows: readonly AccessPatch[]): Promise<void>;
}

/** The writer of the real tables. */
export function planWriterOf(
  users: Pick<UsersRepository, 'writeUserBatch' | 'writeAccessBatch'>,
): PlanWriter {
  return { writeUsers: users.writeUserBatch, writeAccess: users.writeAccessBatch };
}

/** Rows grouped by partition, then cut into transactions of at most `size`. */
function batches<T>(items: readonly T[], partitionOf: (item: T) => string, size: number): [string, T[]][] {
  const byPartition = new Map<string, T[]>();
  for (const item of items) {
    const partition = partitionOf(item);
    let group = byPartition.get(partition);
    if (!group) byPartition.set(partition, (group = []));
    group.push(item);
  }
  const result: [string, T[]][] = [];
  for (const [partition, group] of [...byPartition].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    for (let start = 0; start < group.length; start += size) {
      result.push([partition, group.slice(start, start + size)]);
    }
  }
  return result;
}

/**
 * Applies a plan: the shared user rows first, then this environment's access rows, each in
 * transactions of ≤ 100 rows of one partition (partition by partition, `concurrency` in flight).
 * Every write is an upsert of the desired state, so running it again after a crash at any point
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
  const step = async (table: BatchInfo['table'], partition: string, size: number): Promise<void> => {
    completed++;
    await options.afterBatch?.({ table, partition, size, completed });
  };
  const userBatches = batches(
    plan.userWrites,
    (row) => userPartitionOf(directoryId, row.objectId),
    BATCH_SIZE,
  );
  await forEachLimited(userBatches, concurrency, async ([partition, rows]) => {
    await writer.writeUsers(directoryId, rows);
    await step('users', partition, rows.length);
  });
  const accessBatches = batches(
    plan.accessWrites,
    (row) => accessPartitionOf(environmentId, row.userId),
    BATCH_SIZE,
  );
  await forEachLimited(accessBatches, concurrency, async ([partition, rows]) => {
    await writer.writeAccess(environmentId, rows);
    await step('access', partition, rows.length);
  });
  return completed;
}
