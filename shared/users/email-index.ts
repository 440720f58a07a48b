import { createHash } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import { forEachLimited } from '../concurrency.js';
import type { StorageAccount } from '../storage/account.js';
import { MAX_BATCH_ROWS, writeRows, type BatchMode } from '../storage/batch.js';
import { storageError } from '../storage/errors.js';
import { bucketPartition } from '../storage/partitions.js';

/**
 * `useraccessemail`: which users of an environment have had an address, so that a password reset
 * finds the user by key instead of scanning the environment's access rows. PartitionKey =
 * `environmentId~<first hex digit of the address's hash>`, RowKey = `<hash>~<userId>`, hash =
 * SHA-256 of the lower-cased address (addresses may hold characters a key may not).
 *
 * Written before the access rows that carry the addresses: a sync writes its whole plan's entries
 * first, in full transactions per partition, so the index costs about one transaction per 100
 * users rather than one per partition and access transaction. An entry left behind by a changed
 * address is harmless: readers confirm each candidate on its access row. Rows stored before the
 * index existed get their entries once per environment (email-index-backfill.ts).
 */
export const EMAIL_INDEX_TABLE = 'useraccessemail';
/**
 * Candidates read per request. One page holds every user of an ordinary address; an address many
 * users had (entries of past holders stay) takes more pages, all read.
 */
export const CANDIDATES_PER_PAGE = 100;
/** Transactions in flight at once while recording many entries. */
const WRITES_IN_FLIGHT = 4;

/** SHA-256 takes 32 bytes: an entry waiting for its transaction keeps its hash as these. */
const HASH_BYTES = 32;

function addressDigest(email: string): Buffer {
  return createHash('sha256').update(email.trim().toLowerCase()).digest();
}

function addressHash(email: string): string {
  return addressDigest(email).toString('hex');
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
  /**
   * Ids of every user of the environment that had this address (case-insensitive), page by page:
   * one query, one request per page.
   */
  candidates(environmentId: string, email: string): AsyncIterable<readonly string[]>;
  /** Records each (address, user) pair. */
  record(environmentId: string, addresses: readonly IndexedAddress[]): Promise<void>;
  /**
   * Writes ≤ 100 entries of one partition as one transaction: `insert` for entries believed new
   * (the cheaper write; sent again as a merge where one exists after all), else `merge`.
   */
  writeEntries(entries: readonly IndexEntry[], mode: BatchMode): Promise<void>;
}

/** The entries of these addresses (none for an empty address), by partition. */
export function entriesByPartition(
  environmentId: string,
  addresses: Iterable<IndexedAddress>,
): Map<string, IndexEntry[]> {
  const byPartition = new Map<string, IndexEntry[]>();
  for (const address of addresses) {
    const entry = indexEntryOf(environmentId, address);
    if (entry === undefined) continue;
    const entries = byPartition.get(entry.partitionKey);
    if (entries) entries.push(entry);
    else byPartition.set(entry.partitionKey, [entry]);
  }
  return byPartition;
}

/** One partition's entries cut into transactions of at most 100. */
export function inTransactions(entries: readonly IndexEntry[]): IndexEntry[][] {
  const batches: IndexEntry[][] = [];
  for (let start = 0; start < entries.length; start += MAX_BATCH_ROWS) {
    batches.push(entries.slice(start, start + MAX_BATCH_ROWS));
  }
  return batches;
}

/** One transaction of index entries, made only when it is sent. */
export interface EntryTransaction {
  readonly partition: string;
  readonly mode: BatchMode;
  readonly size: number;
  entries(): IndexEntry[];
}

/**
 * The entries of these addresses (none for an empty address or where `modeOf` gives none), by
 * mode and partition, in transactions of at most 100: every insert before any merge. Until a
 * transaction is sent, each of its entries is only the address's position and its hash's bytes, so
 * a plan's entries never exist as objects and key strings all at once.
 */
export function entryTransactions<A extends IndexedAddress>(
  environmentId: string,
  addresses: readonly A[],
  modeOf: (address: A) => BatchMode | undefined,
): EntryTransaction[] {
  const hashes = Buffer.allocUnsafe(addresses.length * HASH_BYTES);
  const groups = new Map<string, { mode: BatchMode; bucket: string; positions: number[] }>();
  addresses.forEach((address, position) => {
    const mode = modeOf(address);
    if (mode === undefined || address.email.trim() === '') return;
    addressDigest(address.email).copy(hashes, position * HASH_BYTES);
    // The first hex digit of the hash: its first byte's high half.
    const bucket = (hashes[position * HASH_BYTES]! >> 4).toString(16);
    const key = `${mode}${bucket}`;
    const group = groups.get(key);
    if (group) group.positions.push(position);
    else groups.set(key, { mode, bucket, positions: [position] });
  });
  const entryAt = (partitionKey: string, position: number): IndexEntry => {
    const hash = hashes.toString('hex', position * HASH_BYTES, (position + 1) * HASH_BYTES);
    return { partitionKey, rowKey: `${hash}~${addresses[position]!.userId}` };
  };
  const ordered = [...groups.values()].sort(
    (a, b) => Number(b.mode === 'insert') - Number(a.mode === 'insert') || (a.bucket < b.bucket ? -1 : 1),
  );
  return ordered.flatMap(({ mode, bucket, positions }) => {
    const partition = partitionOf(environmentId, bucket);
    return Array.from({ length: Math.ceil(positions.length / MAX_BATCH_ROWS) }, (_, i) => {
      const start = i * MAX_BATCH_ROWS;
      const end = Math.min(start + MAX_BATCH_ROWS, positions.length);
      return {
        partition,
        mode,
        size: end - start,
        entries: () => positions.slice(start, end).map((position) => entryAt(partition, position)),
      };
    });
  });
}

export function createEmailIndex(storage: StorageAccount): EmailIndex {
  const table = (): Promise<TableClient> => storage.table(EMAIL_INDEX_TABLE);

  return {
    async *candidates(environmentId, email) {
      if (email.trim() === '') return;
      const hash = addressHash(email);
      const client = await table();
      const pages = client
        .listEntities({
          queryOptions: {
            filter: odata`PartitionKey eq ${partitionOf(environmentId, hash)} and RowKey gt ${`${hash}~`} and RowKey lt ${`${hash}~~`}`,
            select: ['RowKey'],
          },
        })
        .byPage({ maxPageSize: CANDIDATES_PER_PAGE });
      for (;;) {
        let page: IteratorResult<Array<{ rowKey?: string }>>;
        try {
          page = await pages.next();
        } catch (error) {
          throw storageError('Users could not be read.', error);
        }
        if (page.done === true) return;
        yield page.value.map((entity) => String(entity.rowKey).slice(hash.length + 1));
      }
    },

    async writeEntries(entries, mode) {
      await writeRows(await table(), mode, entries, 'Access could not be stored.');
    },

    async record(environmentId, addresses) {
      const transactions = entryTransactions(environmentId, addresses, () => 'insert');
      if (transactions.length === 0) return;
      const client = await table();
      await forEachLimited(transactions, WRITES_IN_FLIGHT, (transaction) =>
        writeRows(client, 'insert', transaction.entries(), 'Access could not be stored.'),
      );
    },
  };
}
