import { createHash } from 'node:crypto';
import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import type { StorageAccount } from '../storage/account.js';
import { storageError } from '../storage/errors.js';
import { bucketPartition } from '../storage/partitions.js';

/**
 * `useraccessemail`: which users of an environment have had an address, so that a password reset
 * finds the user by key instead of scanning the environment's access rows. PartitionKey =
 * `environmentId~<first hex digit of the address's hash>`, RowKey = `<hash>~<userId>`, hash =
 * SHA-256 of the lower-cased address (addresses may hold characters a key may not).
 *
 * Written with every access row the sync writes, before it. An entry left behind by a changed
 * address is harmless: readers confirm each candidate on its access row. Rows stored before the
 * index existed get their entries once per environment (email-index-backfill.ts).
 */
export const EMAIL_INDEX_TABLE = 'useraccessemail';
/** Candidates read for one address; more users than this sharing an address are not looked at. */
export const MAX_CANDIDATES = 10;
const BATCH = 100;

function addressHash(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase()).digest('hex');
}

function partitionOf(environmentId: string, hash: string): string {
  return bucketPartition(environmentId, hash);
}

/** What an entry is made of: a user and the address it has. */
export interface IndexedAddress {
  readonly userId: string;
  readonly email: string;
}

/** A type, not an interface: transactions take it as a table entity. */
export type IndexEntry = { readonly partitionKey: string; readonly rowKey: string };

/** The entry of a user's address in an environment; none for an empty address. */
export function indexEntryOf(environmentId: string, address: IndexedAddress): IndexEntry | undefined {
  if (address.email.trim() === '') return undefined;
  const hash = addressHash(address.email);
  return { partitionKey: partitionOf(environmentId, hash), rowKey: `${hash}~${address.userId}` };
}

export interface EmailIndex {
  /** Ids of users of the environment that had this address (case-insensitive): one query. */
  candidates(environmentId: string, email: string): Promise<string[]>;
  /** Records each (address, user) pair. */
  record(environmentId: string, addresses: readonly IndexedAddress[]): Promise<void>;
}

export function createEmailIndex(storage: StorageAccount): EmailIndex {
  const table = (): Promise<TableClient> => storage.table(EMAIL_INDEX_TABLE);

  return {
    async candidates(environmentId, email) {
      if (email.trim() === '') return [];
      const hash = addressHash(email);
      const client = await table();
      const ids: string[] = [];
      try {
        const pages = client
          .listEntities({
            queryOptions: {
              filter: odata`PartitionKey eq ${partitionOf(environmentId, hash)} and RowKey gt ${`${hash}~`} and RowKey lt ${`${hash}~~`}`,
              select: ['RowKey'],
            },
          })
          .byPage({ maxPageSize: MAX_CANDIDATES });
        const page = await pages.next();
        if (page.done !== true) {
          for (const entity of page.value) ids.push(String(entity.rowKey).slice(hash.length + 1));
        }
      } catch (error) {
        throw storageError('Users could not be read.', error);
      }
      return ids;
    },

    async record(environmentId, addresses) {
      const byPartition = new Map<string, TransactionAction[]>();
      for (const address of addresses) {
        const entry = indexEntryOf(environmentId, address);
        if (entry === undefined) continue;
        const actions = byPartition.get(entry.partitionKey) ?? [];
        actions.push(['upsert', entry, 'Replace']);
        byPartition.set(entry.partitionKey, actions);
      }
      if (byPartition.size === 0) return;
      const client = await table();
      try {
        for (const actions of byPartition.values()) {
          for (let i = 0; i < actions.length; i += BATCH) {
            await client.submitTransaction(actions.slice(i, i + BATCH));
          }
        }
      } catch (error) {
        throw storageError('Access could not be stored.', error);
      }
    },
  };
}
