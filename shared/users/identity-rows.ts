import type { TableClient } from '@azure/data-tables';
import { forEachLimited } from '../concurrency.js';
import type { StorageAccount } from '../storage/account.js';
import { submitBatch, writeRows, type BatchMode } from '../storage/batch.js';
import { getEntityOrNone } from '../storage/entities.js';
import { statusOf, storageError } from '../storage/errors.js';
import { allBucketsFilter } from '../storage/partitions.js';
import { fromUserEntity, toUserEntity, USERS_TABLE, userPartitionOf, type UserEntity } from './entities.js';
import type { Identity, IdentityUser } from './model.js';

/**
 * A point read costs one request per identity, a scan one per 1,000 rows of the directory (which
 * may hold many more users than the run needs, all of them parsed): scan only when the identities
 * needed are many, as in an initial sync.
 */
const POINT_READ_LIMIT = 2000;
const POINT_READS_IN_FLIGHT = 8;
/** Azure Tables: a transaction holds at most 100 entities of one partition. */
const CREATE_BATCH = 100;

/** The `users` rows: one per identity (directoryId, objectId), shared by every environment. */
export interface IdentityRows {
  /** The user of an identity (sign-in finds users by (tid, oid), never by email). */
  findUserByIdentity(directoryId: string, objectId: string): Promise<IdentityUser | undefined>;
  /** The stored identities among `objectIds` of a directory, by objectId. */
  readIdentities(directoryId: string, objectIds: readonly string[]): Promise<Map<string, Identity>>;
  /**
   * One transaction of ≤ 100 user rows of one partition of a directory (upserts: reruns converge).
   * `insert` for identities the caller believes new; a transaction that meets an existing row is
   * sent again as a merge.
   */
  writeUserBatch(directoryId: string, identities: readonly Identity[], mode?: BatchMode): Promise<void>;
  /**
   * Creates user rows that must not exist yet (insert only): returns the objectIds whose row
   * someone else created first (docs/sync-rules.md, "One `added` per identity"). Each row created
   * names `createdBy` (a run), so that a retry of that run can tell its creations from another's.
   */
  createUsers(directoryId: string, identities: readonly Identity[], createdBy: string): Promise<Set<string>>;
  /** The run that created each stored identity among `objectIds`, by objectId ('' when unknown). */
  creatorsOf(directoryId: string, objectIds: readonly string[]): Promise<Map<string, string>>;
}

// Long only as a factory: its body is the short functions below, closed over the deps.
export function createIdentityRows(storage: StorageAccount): IdentityRows {
  const table = (): Promise<TableClient> => storage.table(USERS_TABLE);

  async function findUserByIdentity(
    directoryId: string,
    objectId: string,
  ): Promise<IdentityUser | undefined> {
    const entity = await getEntityOrNone<UserEntity>(
      await table(),
      userPartitionOf(directoryId, objectId),
      objectId.toLowerCase(),
      'Users could not be read.',
    );
    return entity && { id: entity.userId, displayName: entity.displayName, email: entity.email };
  }

  async function scanIdentities(
    client: TableClient,
    directoryId: string,
    objectIds: readonly string[],
    found: Map<string, Identity>,
  ): Promise<void> {
    const wanted = new Set(objectIds);
    const entities = client.listEntities<UserEntity>({
      queryOptions: {
        filter: allBucketsFilter(directoryId),
        select: ['RowKey', 'userId', 'displayName', 'email'],
      },
    });
    for await (const entity of entities) {
      if (wanted.has(entity.rowKey)) found.set(entity.rowKey, fromUserEntity(entity));
    }
  }

  async function pointReadIdentities(
    client: TableClient,
    directoryId: string,
    objectIds: readonly string[],
    found: Map<string, Identity>,
  ): Promise<void> {
    await forEachLimited(objectIds, POINT_READS_IN_FLIGHT, async (objectId) => {
      try {
        const entity = await client.getEntity<UserEntity>(userPartitionOf(directoryId, objectId), objectId);
        found.set(objectId, fromUserEntity(entity));
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
      }
    });
  }

  async function readIdentities(
    directoryId: string,
    objectIds: readonly string[],
  ): Promise<Map<string, Identity>> {
    const found = new Map<string, Identity>();
    if (objectIds.length === 0) return found;
    const client = await table();
    try {
      if (objectIds.length > POINT_READ_LIMIT) await scanIdentities(client, directoryId, objectIds, found);
      else await pointReadIdentities(client, directoryId, objectIds, found);
    } catch (error) {
      throw storageError('Users could not be read.', error);
    }
    return found;
  }

  async function writeUserBatch(
    directoryId: string,
    identities: readonly Identity[],
    mode: BatchMode = 'merge',
  ): Promise<void> {
    if (identities.length === 0) return;
    const client = await table();
    const entities = identities.map((identity) => toUserEntity(directoryId, identity));
    await writeRows(client, mode, entities, 'Users could not be stored.');
  }

  /** One partition's rows in one transaction; row by row only when one of them exists already. */
  async function createPartition(
    client: TableClient,
    directoryId: string,
    rows: readonly Identity[],
    created: { readonly by: string; readonly lost: Set<string> },
  ): Promise<void> {
    const entities = rows.map((identity) => ({
      ...toUserEntity(directoryId, identity),
      createdBy: created.by,
    }));
    try {
      await submitBatch(client, 'insert', entities);
      return;
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
    }
    for (const entity of entities) {
      try {
        await client.createEntity(entity);
      } catch (error) {
        if (statusOf(error) !== 409) throw error;
        created.lost.add(entity.rowKey);
      }
    }
  }

  async function createUsers(
    directoryId: string,
    identities: readonly Identity[],
    createdBy: string,
  ): Promise<Set<string>> {
    const lost = new Set<string>();
    if (identities.length === 0) return lost;
    const client = await table();
    const byPartition = new Map<string, Identity[]>();
    for (const identity of identities) {
      const partition = userPartitionOf(directoryId, identity.objectId);
      const rows = byPartition.get(partition) ?? [];
      if (rows.length === 0) byPartition.set(partition, rows);
      rows.push(identity);
    }
    const chunks = [...byPartition.values()].flatMap((rows) =>
      Array.from({ length: Math.ceil(rows.length / CREATE_BATCH) }, (_, i) =>
        rows.slice(i * CREATE_BATCH, (i + 1) * CREATE_BATCH),
      ),
    );
    try {
      await forEachLimited(chunks, POINT_READS_IN_FLIGHT, (rows) =>
        createPartition(client, directoryId, rows, { by: createdBy, lost }),
      );
    } catch (error) {
      throw storageError('Users could not be stored.', error);
    }
    return lost;
  }

  async function creatorsOf(directoryId: string, objectIds: readonly string[]): Promise<Map<string, string>> {
    const creators = new Map<string, string>();
    if (objectIds.length === 0) return creators;
    const client = await table();
    try {
      await forEachLimited(objectIds, POINT_READS_IN_FLIGHT, async (objectId) => {
        const rowKey = objectId.toLowerCase();
        try {
          const entity = await client.getEntity<{ createdBy?: string }>(
            userPartitionOf(directoryId, objectId),
            rowKey,
            { queryOptions: { select: ['createdBy'] } },
          );
          creators.set(rowKey, entity.createdBy ?? '');
        } catch (error) {
          if (statusOf(error) !== 404) throw error;
        }
      });
    } catch (error) {
      throw storageError('Users could not be read.', error);
    }
    return creators;
  }

  return { findUserByIdentity, readIdentities, writeUserBatch, createUsers, creatorsOf };
}
