import type { AccessRecord } from '../users/model.js';
import type { ListedUsers } from './members.js';
import { OrderedGroupLists, rowIsUnchanged } from './planner.js';
import { StoredAccess } from './stored-access.js';

/** The listing rows are compared with, once the directory has been read completely. */
interface Listing {
  readonly listed: ListedUsers;
  readonly directoryId: string;
  readonly groupLists: OrderedGroupLists;
}

/**
 * An environment's access rows as a run reads them. Until the directory has been read completely
 * every row is kept; from then on, a row that is exactly what the listing makes of it is settled
 * as it arrives: its member is marked (the planner counts it unchanged) and the row is not kept.
 * The directory usually finishes before the last pages of rows: a run then compares those rows
 * while the rest are still coming, and holds only the rows that may change.
 */
export class ArrivingAccess {
  /** The rows kept for the planner. */
  readonly rows = new StoredAccess();
  private listing: Listing | undefined;
  private settledRows = 0;

  /** Rows settled on arrival (not among `rows`). */
  get settled(): number {
    return this.settledRows;
  }

  /** The directory's complete listing: rows arriving from now on are compared with it. */
  directoryRead(listed: ListedUsers, directoryId: string, groupsToSync: readonly string[]): void {
    this.listing = { listed, directoryId, groupLists: new OrderedGroupLists(groupsToSync) };
  }

  add(record: AccessRecord): void {
    const listing = this.listing;
    // A row of another directory cannot be a member's here: the user id stems from the directory.
    if (listing !== undefined && record.directoryId === listing.directoryId) {
      const user = listing.listed.get(record.objectId);
      if (user !== undefined && rowIsUnchanged(record, user, listing.groupLists)) {
        listing.listed.markSettled(record.objectId);
        this.settledRows++;
        return;
      }
    }
    this.rows.add(record);
  }
}
