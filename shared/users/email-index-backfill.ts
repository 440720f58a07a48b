import { odata, type TableClient } from '@azure/data-tables';
import { forEachLimited } from '../concurrency.js';
import type { StorageAccount } from '../storage/account.js';
import { MAX_BATCH_ROWS, writeRows } from '../storage/batch.js';
import { getEntityOrNone } from '../storage/entities.js';
import { storageError } from '../storage/errors.js';
import { EMAIL_INDEX_TABLE, indexEntryOf, type IndexedAddress, type IndexEntry } from './email-index.js';

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

/** The entries wanted, by partition: each holds the RowKeys the index must have. */
function entriesByPartition(
  environmentId: string,
  addresses: Iterable<IndexedAddress>,
): Map<string, Set<string>> {
  const wanted = new Map<string, Set<string>>();
  for (const address of addresses) {
    const entry = indexEntryOf(environmentId, address);
    if (entry === undefined) continue;
    let rows = wanted.get(entry.partitionKey);
    if (!rows) wanted.set(entry.partitionKey, (rows = new Set()));
    rows.add(entry.rowKey);
  }
  return wanted;
}

export function createEmailIndexBackfill(storage: StorageAccount): EmailIndexBackfill {
  const table = (): Promise<TableClient> => storage.table(EMAIL_INDEX_TABLE);

  /** Removes from `rows` those the partition already has: entries are written only where missing. */
  async function dropPresent(client: TableClient, partitionKey: string, rows: Set<string>): Promise<void> {
    const present = client.listEntities({
      queryOptions: { filter: odata`PartitionKey eq ${partitionKey}`, select: ['RowKey'] },
    });
    for await (const entity of present) rows.delete(String(entity.rowKey));
  }

  async function writeMissing(client: TableClient, partitionKey: string, rows: Set<string>): Promise<void> {
    const entries: IndexEntry[] = [...rows].map((rowKey) => ({ partitionKey, rowKey }));
    for (let start = 0; start < entries.length; start += MAX_BATCH_ROWS) {
      // Insert: the cheaper write; an entry recorded meanwhile by a run turns it into a merge.
      await writeRows(
        client,
        'insert',
        entries.slice(start, start + MAX_BATCH_ROWS),
        'The address index could not be stored.',
      );
    }
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
        await forEachLimited([...wanted], PARTITION_READS, async ([partitionKey, rows]) => {
          await dropPresent(client, partitionKey, rows);
          await writeMissing(client, partitionKey, rows);
          written += rows.size;
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
