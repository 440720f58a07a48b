import { odata, type TableClient } from '@azure/data-tables';
import { AppError } from '../errors.js';
import { forEachLimited } from '../concurrency.js';
import type { StorageAccount } from '../storage/account.js';
import { writeRows, type BatchMode } from '../storage/batch.js';
import { fromApiContinuation, toApiContinuation } from '../storage/continuation.js';
import { getEntityOrNone } from '../storage/entities.js';
import { forEachRow } from '../storage/query.js';
import { statusOf, storageError } from '../storage/errors.js';
import { allBucketsFilter, bucketPartitions } from '../storage/partitions.js';
import {
  ACCESS_RECORD_COLUMNS,
  ACCESS_TABLE,
  accessPartitionOf,
  fromAccessEntity,
  fromAccessRecordRow,
  toAccessEntity,
  type AccessEntity,
} from './entities.js';
import { createEmailIndex, type IndexEntry, type IndexedAddress } from './email-index.js';
import { createEmailIndexBackfill } from './email-index-backfill.js';
import type { AccessPatch, AccessRecord, EnvironmentUser, UserPage } from './model.js';

/** Per-partition queries of one environment in flight at once (see `forEachAccessRow`). */
const PARTITION_READS = 4;
/** Access rows read at once while confirming the candidates of an address. */
const CONFIRMS_IN_FLIGHT = 4;
/** Attempts of an optimistic menus change before the caller is told to try again. */
const MENU_ATTEMPTS = 5;

/** The `useraccess` rows: one per (environment, user). */
export interface AccessRows {
  getEnvironmentUser(environmentId: string, userId: string): Promise<EnvironmentUser | undefined>;
  /** Users of the environment with active access whose email is `email` (case-insensitive). */
  findActiveUsersByEmail(environmentId: string, email: string): Promise<EnvironmentUser[]>;
  /** One page of an environment's users, in user id order. */
  listEnvironmentUsers(
    environmentId: string,
    options?: { continuationToken?: string; pageSize?: number },
  ): Promise<UserPage>;
  /**
   * Every access row of an environment (the sync's view of it), in no particular order. The first
   * read of an environment whose address index is not complete (rows stored before the index
   * existed) completes it, once (see email-index-backfill.ts), unless `completeEmailIndex` is
   * false (a dry run, which writes nothing of the kind).
   */
  forEachAccessRow(
    environmentId: string,
    visit: (record: AccessRecord) => void,
    options?: { completeEmailIndex?: boolean },
  ): Promise<void>;
  /**
   * Completes the environment's address index from its access rows unless it is marked complete
   * (`force`: even then). Returns the entries written, or `undefined` when it was complete already.
   */
  completeEmailIndex(environmentId: string, options?: { force?: boolean }): Promise<number | undefined>;
  /**
   * Sets the menus of a user's access here (the only thing an administrator may change).
   * Optimistic concurrency: a sync that writes the row meanwhile never loses the change.
   */
  setUserMenus(
    environmentId: string,
    userId: string,
    menus: readonly string[],
  ): Promise<EnvironmentUser | undefined>;
  /**
   * One transaction of ≤ 100 access rows of one partition (merge: menus survive unless given).
   * `insert` for rows the caller believes new: a transaction that meets an existing row (written
   * meanwhile by a concurrent or an earlier run) is sent again as a merge, which converges. The
   * rows' address entries are written first, unless the caller wrote them already (`indexed`).
   */
  writeAccessBatch(
    environmentId: string,
    patches: readonly AccessPatch[],
    mode?: BatchMode,
    options?: { readonly indexed?: boolean },
  ): Promise<void>;
  /** One transaction of ≤ 100 address index entries of one partition (see email-index.ts). */
  writeEmailIndexBatch(entries: readonly IndexEntry[], mode: BatchMode): Promise<void>;
}

// Long only as a factory: its body is the short functions below, closed over the deps.
export function createAccessRows(storage: StorageAccount): AccessRows {
  const table = (): Promise<TableClient> => storage.table(ACCESS_TABLE);
  const emailIndex = createEmailIndex(storage);
  const backfill = createEmailIndexBackfill(storage);

  async function getEnvironmentUser(
    environmentId: string,
    userId: string,
  ): Promise<EnvironmentUser | undefined> {
    const entity = await getEntityOrNone<AccessEntity>(
      await table(),
      accessPartitionOf(environmentId, userId),
      userId,
      'Users could not be read.',
    );
    return entity && fromAccessEntity(entity);
  }

  /**
   * By key, never by scanning the environment: the address's index entries (one query, however
   * many pages), then each candidate's access row (a point read), which alone decides. Found in
   * the index's order, whatever order the reads complete in.
   */
  async function findActiveUsersByEmail(environmentId: string, email: string): Promise<EnvironmentUser[]> {
    const wanted = email.trim().toLowerCase();
    if (wanted === '') return [];
    const found: EnvironmentUser[] = [];
    for await (const userIds of emailIndex.candidates(environmentId, wanted)) {
      const confirmed: Array<EnvironmentUser | undefined> = Array.from({ length: userIds.length });
      await forEachLimited([...userIds.keys()], CONFIRMS_IN_FLIGHT, async (position) => {
        const user = await getEnvironmentUser(environmentId, userIds[position]!);
        if (user?.active === true && user.email.toLowerCase() === wanted) confirmed[position] = user;
      });
      for (const user of confirmed) if (user) found.push(user);
    }
    return found;
  }

  async function listEnvironmentUsers(
    environmentId: string,
    options: { continuationToken?: string; pageSize?: number } = {},
  ): Promise<UserPage> {
    const client = await table();
    const continuationToken =
      options.continuationToken === undefined ? undefined : fromApiContinuation(options.continuationToken);
    try {
      const pages = client
        .listEntities<AccessEntity>({ queryOptions: { filter: allBucketsFilter(environmentId) } })
        .byPage({
          maxPageSize: options.pageSize ?? 100,
          ...(continuationToken ? { continuationToken } : {}),
        });
      const page = await pages.next();
      if (page.done === true) return { users: [] };
      const users = page.value.map((entity) => fromAccessEntity(entity));
      const next = page.value.continuationToken;
      return next ? { users, continuationToken: toApiContinuation(next) } : { users };
    } catch (error) {
      throw storageError('Users could not be listed.', error);
    }
  }

  /**
   * One query per partition, a few at a time: per-partition queries are served by each partition's
   * own server in Azure (a range query walks them one after another), and Azurite answers a
   * partition query from its index instead of filtering the whole table per page. Only the columns
   * a sync compares, read past the SDK's entity mapping (see storage/query.ts).
   */
  async function readAccessRows(environmentId: string, visit: (record: AccessRecord) => void): Promise<void> {
    const client = await table();
    try {
      await forEachLimited(bucketPartitions(environmentId), PARTITION_READS, (partitionKey) =>
        forEachRow(
          client,
          { filter: odata`PartitionKey eq ${partitionKey}`, select: ACCESS_RECORD_COLUMNS },
          (row) => visit(fromAccessRecordRow(row)),
        ),
      );
    } catch (error) {
      throw storageError('Users could not be read.', error);
    }
  }

  async function forEachAccessRow(
    environmentId: string,
    visit: (record: AccessRecord) => void,
    options: { completeEmailIndex?: boolean } = {},
  ): Promise<void> {
    if (options.completeEmailIndex === false || (await backfill.isComplete(environmentId))) {
      return readAccessRows(environmentId, visit);
    }
    // The sync reads every row anyway: the one read serves both.
    const addresses: IndexedAddress[] = [];
    await readAccessRows(environmentId, (record) => {
      addresses.push({ userId: record.id, email: record.email });
      visit(record);
    });
    await backfill.complete(environmentId, addresses);
  }

  async function completeEmailIndex(
    environmentId: string,
    options: { force?: boolean } = {},
  ): Promise<number | undefined> {
    if (options.force !== true && (await backfill.isComplete(environmentId))) return undefined;
    const addresses: IndexedAddress[] = [];
    await readAccessRows(environmentId, (user) => addresses.push({ userId: user.id, email: user.email }));
    return backfill.complete(environmentId, addresses);
  }

  /** One optimistic attempt: 'retry' when the row changed between the read and the write. */
  async function trySetMenus(
    client: TableClient,
    environmentId: string,
    userId: string,
    menus: readonly string[],
  ): Promise<'done' | 'missing' | 'retry'> {
    const partitionKey = accessPartitionOf(environmentId, userId);
    let etag: string;
    try {
      etag = (await client.getEntity<AccessEntity>(partitionKey, userId)).etag;
    } catch (error) {
      if (statusOf(error) === 404) return 'missing';
      throw storageError('Users could not be read.', error);
    }
    try {
      await client.updateEntity({ partitionKey, rowKey: userId, menus: JSON.stringify(menus) }, 'Merge', {
        etag,
      });
      return 'done';
    } catch (error) {
      if (statusOf(error) === 412) return 'retry';
      if (statusOf(error) === 404) return 'missing';
      throw storageError('The user could not be stored.', error);
    }
  }

  async function setUserMenus(
    environmentId: string,
    userId: string,
    menus: readonly string[],
  ): Promise<EnvironmentUser | undefined> {
    const client = await table();
    for (let attempt = 0; attempt < MENU_ATTEMPTS; attempt++) {
      const outcome = await trySetMenus(client, environmentId, userId, menus);
      if (outcome === 'missing') return undefined;
      if (outcome === 'done') return getEnvironmentUser(environmentId, userId);
    }
    throw new AppError('conflict', 'The user was changed concurrently; try again.');
  }

  async function writeAccessBatch(
    environmentId: string,
    patches: readonly AccessPatch[],
    mode: BatchMode = 'merge',
    options: { readonly indexed?: boolean } = {},
  ): Promise<void> {
    if (patches.length === 0) return;
    // The index first: an access row is never findable by address later than it exists.
    if (options.indexed !== true) await emailIndex.record(environmentId, patches);
    const client = await table();
    const entities = patches.map((patch) => toAccessEntity(environmentId, patch));
    await writeRows(client, mode, entities, 'Access could not be stored.');
  }

  return {
    getEnvironmentUser,
    findActiveUsersByEmail,
    listEnvironmentUsers,
    forEachAccessRow,
    completeEmailIndex,
    setUserMenus,
    writeAccessBatch,
    writeEmailIndexBatch: (entries, mode) => emailIndex.writeEntries(entries, mode),
  };
}
