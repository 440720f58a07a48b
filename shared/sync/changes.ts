import { odata, type TableClient } from '@azure/data-tables';
import type { StorageAccount } from '../storage/account.js';
import type { TransactionBody } from '../storage/batch-body.js';
import { submitBody, transactionBody } from '../storage/batch.js';
import { invalidContinuation } from '../storage/continuation.js';
import { deleteEntityIfPresent } from '../storage/deletes.js';
import { storageError } from '../storage/errors.js';
import type { Change } from './planner.js';
import { ZERO_COUNTS, type RunCounts } from './runs.js';

/**
 * The per-user changes of a run. Table `syncchanges`: PartitionKey = runId, RowKey = page number.
 * Changes are packed many to a row (a JSON array up to ~30,000 characters), so an initial sync of
 * 100,000 users costs a few dozen rows, not 100,000 writes.
 */
export const CHANGES_TABLE = 'syncchanges';

/** Azure Tables: a string property holds at most 32K UTF-16 characters. */
const MAX_PAGE_CHARS = 30_000;
/** A transaction carries at most 4 MiB: 50 full pages stay well below. */
const PAGES_PER_TRANSACTION = 50;

function pageKey(index: number): string {
  return String(index).padStart(6, '0');
}

/** Pure: splits changes into JSON pages that each fit one property, one page at a time. */
export function* packChangePages(changes: Iterable<Change>): Generator<string> {
  let current: string[] = [];
  let length = 2;
  for (const change of changes) {
    const json = JSON.stringify(change);
    if (current.length > 0 && length + json.length + 1 > MAX_PAGE_CHARS) {
      yield `[${current.join(',')}]`;
      current = [];
      length = 2;
    }
    current.push(json);
    length += json.length + 1;
  }
  if (current.length > 0) yield `[${current.join(',')}]`;
}

export function packChanges(changes: readonly Change[]): string[] {
  return [...packChangePages(changes)];
}

/** What a change does to a user's access here: a retry's `granted` is the same grant as an earlier `added`. */
function changeKey(change: Change): string {
  const kind = change.action === 'added' || change.action === 'granted' ? 'access' : change.action;
  return `${change.userId}|${kind}`;
}

/**
 * Pure: the history of a run that is retried (docs/sync-rules.md, "History of runs and changes").
 * What an earlier attempt recorded stays, in its order; the retry adds only what it changes that
 * was not recorded yet, so every applied change is listed exactly once. An update recorded twice
 * lists the fields of both.
 */
export function mergeChanges(recorded: readonly Change[], fresh: readonly Change[]): Change[] {
  // A first attempt has nothing to merge with, and one plan names each user once: no index of keys.
  if (recorded.length === 0) return [...fresh];
  const merged = [...recorded];
  const index = new Map(merged.map((change, i) => [changeKey(change), i]));
  for (const change of fresh) {
    const at = index.get(changeKey(change));
    if (at === undefined) {
      index.set(changeKey(change), merged.length);
      merged.push(change);
      continue;
    }
    const earlier = merged[at]!;
    if (change.fields && earlier.fields) {
      const fields = [...new Set([...earlier.fields, ...change.fields])];
      merged[at] = { ...earlier, fields };
    }
  }
  return merged;
}

/** Pure: a run's counts from its changes, with `unchanged` as the latest plan saw it. */
export function countChanges(changes: readonly Change[], unchanged: number): RunCounts {
  const counts = { ...ZERO_COUNTS, unchanged };
  for (const change of changes) counts[change.action]++;
  return counts;
}

export interface ChangesPage {
  readonly changes: Change[];
  readonly continuationToken?: string;
}

/** The `syncchanges` rows. */
export interface ChangesStore {
  /**
   * Stores a run's changes; returns how many pages were written. Rewrites converge (upserts), and
   * pages an earlier write had beyond the new ones (`previousPages`) are deleted.
   */
  writeChanges(runId: string, changes: readonly Change[], previousPages?: number): Promise<number>;
  /** One page of a run's changes; the token is the next page's number. */
  readChanges(runId: string, continuationToken: string | undefined): Promise<ChangesPage>;
  /** Every change a run recorded, in order. */
  readAllChanges(runId: string): Promise<Change[]>;
}

// Long only as a factory: its body is the short functions below, closed over the deps.
export function createChangesStore(storage: StorageAccount): ChangesStore {
  const table = (): Promise<TableClient> => storage.table(CHANGES_TABLE);

  /** See ChangesStore.writeChanges. */
  async function writeChanges(runId: string, changes: readonly Change[], previousPages = 0): Promise<number> {
    // Each page goes into its transaction's body as it is packed: 100,000 changes never exist as
    // JSON all at once, and a transaction's pages only as the bytes about to be sent.
    let written = 0;
    let client: TableClient | undefined;
    let body: TransactionBody | undefined;
    // The answered transaction: the next one is written into its buffer (one buffer for the log).
    let sent: TransactionBody | undefined;
    try {
      for (const items of packChangePages(changes)) {
        client ??= await table();
        // Upsert-merges of the page's one property: a rewrite converges on the latest pages.
        body ??= transactionBody(client, 'merge', sent);
        body.add({ partitionKey: runId, rowKey: pageKey(written++), items }, PAGES_PER_TRANSACTION);
        if (body.rows === PAGES_PER_TRANSACTION) {
          await submitBody(client, body);
          sent = body;
          body = undefined;
        }
      }
      if (client && body) await submitBody(client, body);
    } catch (error) {
      throw storageError('The changes of the run could not be stored.', error);
    }
    // A retry that lists less than an attempt before it (a dry run's plan may shrink): the pages
    // left over would be read as this run's changes.
    for (let page = written; page < previousPages; page++) {
      client ??= await table();
      await deleteEntityIfPresent(
        client,
        runId,
        pageKey(page),
        'The changes of the run could not be stored.',
      );
    }
    return written;
  }

  /** One page of a run's changes; the token is the next page's number. */
  async function readChanges(runId: string, continuationToken: string | undefined): Promise<ChangesPage> {
    let index = 0;
    if (continuationToken !== undefined) {
      if (!/^\d{1,6}$/.test(continuationToken)) {
        throw invalidContinuation();
      }
      index = Number(continuationToken);
    }
    const client = await table();
    try {
      const pages = client
        .listEntities<{ items: string }>({
          queryOptions: { filter: odata`PartitionKey eq ${runId} and RowKey ge ${pageKey(index)}` },
        })
        .byPage({ maxPageSize: 2 });
      const first = await pages.next();
      if (first.done === true || first.value.length === 0) return { changes: [] };
      const [current, following] = first.value;
      const changes = JSON.parse(current!.items) as Change[];
      return following ? { changes, continuationToken: String(Number(following.rowKey)) } : { changes };
    } catch (error) {
      throw storageError('The changes of the run could not be read.', error);
    }
  }

  async function readAllChanges(runId: string): Promise<Change[]> {
    const client = await table();
    const all: Change[] = [];
    try {
      const rows = client.listEntities<{ items: string }>({
        queryOptions: { filter: odata`PartitionKey eq ${runId}` },
      });
      for await (const row of rows) all.push(...(JSON.parse(row.items) as Change[]));
    } catch (error) {
      throw storageError('The changes of the run could not be read.', error);
    }
    return all;
  }

  return { writeChanges, readChanges, readAllChanges };
}
