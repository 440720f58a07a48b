import { odata, type TableClient, type TableEntity } from '@azure/data-tables';
import type { StorageAccount } from '../storage/account.js';
import { getEntityOrNone } from '../storage/entities.js';
import { deleteEntityIfPresent } from '../storage/deletes.js';
import { storageError } from '../storage/errors.js';

/**
 * Sessions at rest. The table never holds a session id, only its SHA-256, so reading storage does
 * not let anyone act as a user. Two kinds of rows share the table:
 * - the session, PartitionKey = id hash, RowKey = 'session';
 * - an index row per session, PartitionKey = 'user|<environment>|<user>', RowKey = id hash, so a
 *   user's sessions in an environment are one partition query away when their access ends.
 * Both carry `expiresAt`, which the purge uses.
 */
export const SESSIONS_TABLE = 'sessions';
const SESSION_ROW = 'session';

export interface StoredSession {
  readonly idHash: string;
  readonly environmentId: string;
  readonly userId: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

interface SessionEntity extends TableEntity {
  environmentId: string;
  userId: string;
  createdAt: Date;
  expiresAt: Date;
}

interface IndexEntity extends TableEntity {
  expiresAt: Date;
}

/** Keys may not hold '/', '\', '#', '?' or control characters; ids of others are not ours to trust. */
function keyPart(value: string): string {
  return encodeURIComponent(value);
}

function userPartition(environmentId: string, userId: string): string {
  return `user|${keyPart(environmentId)}|${keyPart(userId)}`;
}

function fromSessionEntity(entity: SessionEntity): StoredSession {
  return {
    idHash: entity.partitionKey,
    environmentId: entity.environmentId,
    userId: entity.userId,
    createdAt: new Date(entity.createdAt),
    expiresAt: new Date(entity.expiresAt),
  };
}

export interface SessionStore {
  /** The index row goes first: a session that exists is always findable for revocation. */
  insert(session: StoredSession): Promise<void>;
  read(idHash: string): Promise<StoredSession | undefined>;
  delete(session: StoredSession): Promise<void>;
  /** Deletes every session of the user in the environment; returns how many there were. */
  deleteUserSessions(environmentId: string, userId: string): Promise<number>;
  /** Deletes every row whose `expiresAt` has passed; returns how many rows went. */
  deleteExpired(now: Date): Promise<number>;
}

// Long only as a factory: its body is the short functions below, closed over the deps.
export function createSessionStore(storage: StorageAccount): SessionStore {
  const table = (): Promise<TableClient> => storage.table(SESSIONS_TABLE);

  async function deleteIgnoringMissing(partitionKey: string, rowKey: string): Promise<void> {
    await deleteEntityIfPresent(await table(), partitionKey, rowKey, 'A session could not be deleted.');
  }

  async function listKeys(
    filter: string,
    what: string,
  ): Promise<Array<{ partitionKey: string; rowKey: string }>> {
    const client = await table();
    const keys: Array<{ partitionKey: string; rowKey: string }> = [];
    try {
      const rows = client.listEntities<IndexEntity>({
        queryOptions: { filter, select: ['PartitionKey', 'RowKey'] },
      });
      for await (const row of rows) keys.push({ partitionKey: row.partitionKey, rowKey: row.rowKey });
    } catch (error) {
      throw storageError(`${what} could not be listed.`, error);
    }
    return keys;
  }

  return {
    async insert(session) {
      const client = await table();
      try {
        await client.upsertEntity<IndexEntity>(
          {
            partitionKey: userPartition(session.environmentId, session.userId),
            rowKey: session.idHash,
            expiresAt: session.expiresAt,
          },
          'Replace',
        );
        await client.createEntity<SessionEntity>({
          partitionKey: session.idHash,
          rowKey: SESSION_ROW,
          environmentId: session.environmentId,
          userId: session.userId,
          createdAt: session.createdAt,
          expiresAt: session.expiresAt,
        });
      } catch (error) {
        throw storageError('The session could not be stored.', error);
      }
    },

    async read(idHash) {
      const entity = await getEntityOrNone<SessionEntity>(
        await table(),
        idHash,
        SESSION_ROW,
        'The session could not be read.',
      );
      return entity && fromSessionEntity(entity);
    },

    async delete(session) {
      await deleteIgnoringMissing(session.idHash, SESSION_ROW);
      await deleteIgnoringMissing(userPartition(session.environmentId, session.userId), session.idHash);
    },

    async deleteUserSessions(environmentId, userId) {
      const partition = userPartition(environmentId, userId);
      const rows = await listKeys(odata`PartitionKey eq ${partition}`, 'Sessions');
      for (const { rowKey: hash } of rows) {
        await deleteIgnoringMissing(hash, SESSION_ROW);
        await deleteIgnoringMissing(partition, hash);
      }
      return rows.length;
    },

    async deleteExpired(now) {
      const expired = await listKeys(odata`expiresAt le ${now}`, 'Expired sessions');
      for (const row of expired) await deleteIgnoringMissing(row.partitionKey, row.rowKey);
      return expired.length;
    },
  };
}
