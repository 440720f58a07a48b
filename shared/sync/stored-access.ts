import { ColumnMap } from '../columns.js';
import { IdColumn, IdIndex, ValueNumbers } from '../interning.js';
import type { AccessRecord } from '../users/model.js';

/**
 * An environment's access rows as a sync holds them while it plans, by user id, in columns: ids as
 * 16 bytes each, names and addresses as the strings storage sent, the directory and the group list
 * as small numbers. At 100,000 rows that is about half a map of record objects, and nothing but
 * the strings is made per row while the rows arrive.
 */
export class StoredAccess extends ColumnMap<AccessRecord> {
  private ids = new IdIndex();
  private objectIds = new IdColumn();
  private displayNames: string[] = [];
  private emails: string[] = [];
  /** Per row: its group list's number, times 2, plus 1 when the access is active. */
  private flags: number[] = [];
  private directories: number[] = [];
  private readonly groupLists = new ValueNumbers<readonly string[]>();
  private readonly directoryIds = new ValueNumbers<string>();

  get size(): number {
    return this.ids.size;
  }

  /**
   * Adds the row, or replaces the one of the same user id. `record.groups` should be a shared list
   * (as read rows' are): equal lists that are distinct arrays are numbered apart.
   */
  add(record: AccessRecord): this {
    const position = this.ids.intern(record.id);
    if (position === this.objectIds.size) this.objectIds.push(record.objectId);
    else this.objectIds.replace(position, record.objectId);
    this.displayNames[position] = record.displayName;
    this.emails[position] = record.email;
    this.directories[position] = this.directoryIds.numberOf(record.directoryId);
    this.flags[position] = this.groupLists.numberOf(record.groups) * 2 + (record.active ? 1 : 0);
    return this;
  }

  /** Forgets every row, so that the columns can be collected while the set is still referenced. */
  clear(): void {
    this.ids = new IdIndex();
    this.objectIds = new IdColumn();
    this.displayNames = [];
    this.emails = [];
    this.flags = [];
    this.directories = [];
  }

  protected positionOf(userId: string): number | undefined {
    return this.ids.find(userId);
  }

  protected keyAt(position: number): string {
    return this.ids.at(position);
  }

  protected valueAt(position: number, id = this.ids.at(position)): AccessRecord {
    const flags = this.flags[position]!;
    return {
      id,
      directoryId: this.directoryIds.valueOf(this.directories[position]!),
      objectId: this.objectIds.at(position),
      displayName: this.displayNames[position]!,
      email: this.emails[position]!,
      active: (flags & 1) === 1,
      groups: this.groupLists.valueOf(flags >> 1),
    };
  }
}
