import { odata, type TableClient } from '@azure/data-tables';
import { forEachLimited } from '../concurrency.js';
import type { StorageAccount } from '../storage/account.js';
import { writeRows } from '../storage/batch.js';
import { getEntityOrNone } from '../storage/entities.js';
import { storageError } from '../storage/errors.js';
import {
  EMAIL_INDEX_TABLE,
  entriesByPartition,
  inTransactions,
  type IndexedAddress,
  type IndexEntry,
} from './email-index.js';

/**
 * Access rows stored before the address index existed have no entries, so a password reset would
 * not find their users. Each environment's index is completed once from its access rows, and then
 * marked with the version of its contents: later reads see the mark and write nothing. Raising
 * `EMAIL_INDEX_VERSION` (a new way of keying entries) completes every environment once more.
 *
 * The mark is a row of the index table whose PartitionKey has no `~`, so it is never one of an
 * environment's bucket partitions.
 */
export const EMAIL_INDEX_VERSION = 1;
const MARK_PARTITION = 'index-version';
/** Partition queries of one environment's index in flight at once. */
const PARTITION_READS = 4;

interface MarkEntity {
  partitionKey: string;
  rowKey: string;
  version: number;
}

export interface EmailIndexBackfill {
  /** Whether the environment's index holds every access row's address (its mark is current). */
  isComplete(environmentId: string): Promise<boolean>;
  /**
   * Writes the entries of `addresses` that the index lacks (only those), then marks the
   * environment complete. Returns the number of entries written.
   */
  complete(environmentId: string, addresses: Iterable<IndexedAddress>): Promise<number>;
}

export function createEmailIndexBackfill(storage: StorageAccount): EmailIndexBackfill {
  const table = (): Promise<TableClient> => storage.table(EMAIL_INDEX_TABLE);

  /** The entries the partition lacks: entries are written only where missing. */
  async function missingOf(client: TableClient, entries: readonly IndexEntry[]): Promise<IndexEntry[]> {
    const partitionKey = entries[0]?.partitionKey;
    if (partitionKey === undefined) return [];
    const present = new Set<string>();
    const rows = client.listEntities({
      queryOptions: { filter: odata`PartitionKey eq ${partitionKey}`, select: ['RowKey'] },
    });
    for await (const entity of rows) present.add(String(entity.rowKey));
    return entries.filter((entry) => !present.has(entry.rowKey));
  }

  return {
    async isComplete(environmentId) {
      const mark = await getEntityOrNone<MarkEntity>(
        await table(),
        MARK_PARTITION,
        environmentId,
        'The address index could not be read.',
      );
      return typeof mark?.version === 'number' && mark.version >= EMAIL_INDEX_VERSION;
    },

    async complete(environmentId, addresses) {
      const wanted = entriesByPartition(environmentId, addresses);
      const client = await table();
      let written = 0;
      try {
        await forEachLimited([...wanted.values()], PARTITION_READS, async (entries) => {
          const missing = await missingOf(client, entries);
          // Insert: the cheaper write; an entry recorded meanwhile by a run turns it into a merge.
          for (const batch of inTransactions(missing)) {
            await writeRows(client, 'insert', batch, 'The address index could not be stored.');
          }
          written += missing.length;
        });
        // Last: an interrupted completion leaves no mark, so the next read completes it again.
        await client.upsertEntity<MarkEntity>(
          { partitionKey: MARK_PARTITION, rowKey: environmentId, version: EMAIL_INDEX_VERSION },
          'Replace',
        );
      } catch (error) {
        throw storageError('The address index could not be stored.', error);
      }
      return written;
    },
  };
}
