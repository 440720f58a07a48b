import { createHash } from 'node:crypto';
import type { ListedUser } from './members.js';

/**
 * What the last completed run left in storage, as a digest of the directory listing it applied
 * (docs/sync-rules.md, "A periodic run with nothing new reads no access rows"). After a run has
 * applied a listing, the environment's active access is exactly that listing: only a sync writes
 * access, names, addresses and groups, and one run at a time. So a periodic run whose listing has
 * the same digest has nothing to do, and need not read the environment's access rows (at 100,000
 * users, most of such a run). It is kept in the environment's lease row (lease.ts): cleared when a
 * run takes the lease, stored again when it releases it, so a run that stops halfway leaves none;
 * and it is trusted for a day at most: a full read then checks every row.
 */
/** How long an applied listing spares periodic runs the full read. */
export const FULL_READ_EVERY_MS = 24 * 60 * 60_000;

/** Lines hashed per update: a few hundred bytes each, so batches stay well under 128 KiB of text. */
const DIGEST_BATCH = 200;

export interface AppliedListing {
  /** The digest of the listing (see `listingDigest`). */
  readonly digest: string;
  /** Access rows of the environment after the run: a run that skips the read counts them unchanged. */
  readonly rows: number;
  /** When a run last read every access row and found them matching this listing. */
  readonly checkedAt: string;
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
  // A user's groups are one of a few shared lists: each is ordered and joined once.
  const joinedGroups = new Map<readonly string[], string>();
  const lines: string[] = [];
  for (const user of listed.values()) {
    if (!user.accountEnabled) continue;
    let groups = joinedGroups.get(user.groups);
    if (groups === undefined) {
      groups = groupsToSync.filter((group) => user.groups.includes(group)).join('\u0001');
      joinedGroups.set(user.groups, groups);
    }
    lines.push(`${user.userId}\u0000${user.displayName}\u0000${user.email}\u0000${groups}\u0000`);
  }
  // Each line starts with its user id and NUL, the least character: lines sort as their user ids.
  lines.sort();
  const hash = createHash('sha256');
  // Fields joined by a character no id, name or address holds, so that no two listings join alike.
  hash.update(`${directoryId}\u0000${groupsToSync.join('\u0001')}\u0000`);
  // Lines fed in batches: the digest is the same, and 100,000 calls into the hash cost more than it.
  for (let start = 0; start < lines.length; start += DIGEST_BATCH) {
    hash.update(lines.slice(start, start + DIGEST_BATCH).join(''));
  }
  return hash.digest('hex');
}

/** Whether a periodic run may trust `applied` instead of reading every access row. */
export function isFresh(applied: AppliedListing, now: Date): boolean {
  const checkedAt = Date.parse(applied.checkedAt);
  return Number.isFinite(checkedAt) && now.getTime() - checkedAt < FULL_READ_EVERY_MS;
}

/** The listing as the lease row keeps it. */
export function toStoredListing(applied: AppliedListing): string {
  return JSON.stringify({ digest: applied.digest, rows: applied.rows, checkedAt: applied.checkedAt });
}

/** The listing kept in the lease row, if any (anything unreadable counts as none). */
export function fromStoredListing(text: string): AppliedListing | undefined {
  if (text === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not ours to repair: without a listing, the next run reads every row and stores a new one.
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { digest, rows, checkedAt } = parsed as Record<string, unknown>;
  if (typeof digest !== 'string' || typeof rows !== 'number' || typeof checkedAt !== 'string')
    return undefined;
  return { digest, rows, checkedAt };
}
