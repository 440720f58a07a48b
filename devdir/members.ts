import { blockMemberIds } from './generated.js';
import type { StoredGroup } from './records.js';

/** Listings kept for paging; each is an id array (100k members ≈ 7 MB), so only a few. */
const SNAPSHOT_LIMIT = 8;

interface Snapshot {
  readonly version: number;
  readonly groupId: string;
  readonly ids: string[];
}

export interface MemberListing {
  readonly snapshotId: string;
  readonly ids: readonly string[];
}

/**
 * Member listings kept per state version, so that paging through 100k members does not recompute
 * them for every page and a listing stays consistent while it is paged.
 */
export class MemberSnapshots {
  private readonly snapshots = new Map<string, Snapshot>();
  private counter = 0;

  /** The listing a page link names, else one computed at `version`, if kept. */
  find(groupId: string, version: number, snapshotId: string | undefined): MemberListing | undefined {
    if (snapshotId !== undefined) {
      const snapshot = this.snapshots.get(snapshotId);
      if (snapshot !== undefined && snapshot.groupId === groupId) return { snapshotId, ids: snapshot.ids };
    }
    for (const [id, snapshot] of this.snapshots) {
      if (snapshot.groupId === groupId && snapshot.version === version)
        return { snapshotId: id, ids: snapshot.ids };
    }
    return undefined;
  }

  keep(groupId: string, version: number, ids: string[]): MemberListing {
    const id = `${(this.counter += 1).toString(36)}`;
    this.snapshots.set(id, { version, groupId, ids });
    if (this.snapshots.size > SNAPSHOT_LIMIT) {
      const oldest = this.snapshots.keys().next().value;
      if (oldest !== undefined) this.snapshots.delete(oldest);
    }
    return { snapshotId: id, ids };
  }
}

/** Transitive members of a group, deduplicated, nested groups included (as Graph lists them). */
export function transitiveMemberIds(
  root: StoredGroup,
  groups: ReadonlyMap<string, StoredGroup>,
  deleted: ReadonlySet<string>,
): string[] {
  const ids: string[] = [];
  const seen = new Set<string>();
  const visited = new Set<string>();
  const add = (id: string): void => {
    if (seen.has(id)) return;
    seen.add(id);
    ids.push(id);
  };
  const visit = (group: StoredGroup): void => {
    visited.add(group.id);
    for (const member of group.members) {
      add(member);
      const nested = groups.get(member);
      if (nested !== undefined && !visited.has(nested.id)) visit(nested);
    }
    for (const block of group.blocks) for (const id of blockMemberIds(block, deleted)) add(id);
  };
  visit(root);
  return ids;
}

/** Direct members of a group: stored members first, then its generated users. */
export function directMemberIds(group: StoredGroup, deleted: ReadonlySet<string>): string[] {
  const ids = [...group.members];
  for (const block of group.blocks) for (const id of blockMemberIds(block, deleted)) ids.push(id);
  return ids;
}
