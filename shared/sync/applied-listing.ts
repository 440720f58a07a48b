import { createHash } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import type { StorageAccount } from '../storage/account.js';
import { deleteEntityIfPresent } from '../storage/deletes.js';
import { getEntityOrNone } from '../storage/entities.js';
import { storageError } from '../storage/errors.js';
import { STATE_TABLE } from './lease.js';
import type { ListedUser } from './members.js';

/**
 * What the last completed run left in storage, as a digest of the directory listing it applied
 * (docs/sync-rules.md, "A periodic run with nothing new reads no access rows"). After a run has
 * applied a listing, the environment's active access is exactly that listing: only a sync writes
 * access, names, addresses and groups, and one run at a time. So a periodic run whose listing has
 * the same digest has nothing to do, and need not read the environment's access rows (at 100,000
 * users, most of such a run). The digest is removed before a run writes anything, so a run that
 * stops halfway leaves none, and is trusted for a day at most: a full read then checks every row.
 *
 * Table `syncstate`, PartitionKey = environmentId, RowKey = 'applied'.
 */
const ROW = 'applied';
/** How long an applied listing spares periodic runs the full read. */
export const FULL_READ_EVERY_MS = 24 * 60 * 60_000;

export interface AppliedListing {
  /** The digest of the listing (see `listingDigest`). */
  readonly digest: string;
  /** Access rows of the environment after the run: a run that skips the read counts them unchanged. */
  readonly rows: number;
  /** When a run last read every access row and found them matching this listing. */
  readonly checkedAt: string;
}

interface AppliedEntity {
  partitionKey: string;
  rowKey: string;
  digest: string;
  rows: number;
  checkedAt: string;
}

/**
 * The digest of what a listing makes of the environment's active access: every enabled member's user
 * id, name, address and groups (in the order of the settings, as access rows keep them), in user id
 * order (pages may list users in any order), with the directory and the settings' groups.
 */
export function listingDigest(
  directoryId: string,
  groupsToSync: readonly string[],
  listed: ReadonlyMap<string, ListedUser>,
): string {
  const members: ListedUser[] = [];
  for (const user of listed.values()) if (user.accountEnabled) members.push(user);
  members.sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
  const hash = createHash('sha256');
  // Fields joined by a character no id, name or address holds, so that no two listings join alike.
  hash.update(`${directoryId}\u0000${groupsToSync.join('\u0001')}\u0000`);
  for (const user of members) {
    const groups = groupsToSync.filter((group) => user.groups.includes(group)).join('\u0001');
    hash.update(`${user.userId}\u0000${user.displayName}\u0000${user.email}\u0000${groups}\u0000`);
  }
  return hash.digest('hex');
}

/** Whether a periodic run may trust `applied` instead of reading every access row. */
export function isFresh(applied: AppliedListing, now: Date): boolean {
  const checkedAt = Date.parse(applied.checkedAt);
  return Number.isFinite(checkedAt) && now.getTime() - checkedAt < FULL_READ_EVERY_MS;
}

export interface AppliedListings {
  get(environmentId: string): Promise<AppliedListing | undefined>;
  save(environmentId: string, applied: AppliedListing): Promise<void>;
  /** Before a run writes: whatever it leaves, the digest no longer describes storage. */
  remove(environmentId: string): Promise<void>;
}

export function createAppliedListings(storage: StorageAccount): AppliedListings {
  const table = (): Promise<TableClient> => storage.table(STATE_TABLE);
  return {
    async get(environmentId) {
      const entity = await getEntityOrNone<AppliedEntity>(
        await table(),
        environmentId,
        ROW,
        'The sync state could not be read.',
      );
      if (!entity || typeof entity.digest !== 'string' || typeof entity.rows !== 'number') return undefined;
      return { digest: entity.digest, rows: entity.rows, checkedAt: String(entity.checkedAt ?? '') };
    },
    async save(environmentId, applied) {
      try {
        await (
          await table()
        ).upsertEntity<AppliedEntity>({ partitionKey: environmentId, rowKey: ROW, ...applied }, 'Replace');
      } catch (error) {
        throw storageError('The sync state could not be stored.', error);
      }
    },
    async remove(environmentId) {
      await deleteEntityIfPresent(await table(), environmentId, ROW, 'The sync state could not be stored.');
    },
  };
}
