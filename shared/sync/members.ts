import { ColumnMap } from '../columns.js';
import type { DirectoryReader } from '../directory/reader.js';
import { IdColumn, IdIndex, InterningCache, ValueNumbers } from '../interning.js';
import { userIdOf } from '../users/identity.js';

/**
 * The directory's side of a sync: the users its groups list, folded into one entry per user.
 */

/** A user as one group of the directory lists it, already mapped from Graph. */
export interface DirectoryUser {
  readonly objectId: string;
  readonly displayName: string;
  readonly email: string;
  readonly accountEnabled: boolean;
}

/**
 * A user listed by at least one configured group, with the groups that list it and its user id
 * (a SHA-1: computed once here, not again by each step that needs it).
 */
export interface ListedUser extends DirectoryUser {
  readonly userId: string;
  readonly groups: readonly string[];
  /**
   * Its access row was read and found exactly as this listing makes it, and was not kept with the
   * rows the planner gets (see `ArrivingAccess`): the member is unchanged.
   */
  readonly settled?: boolean;
}

/**
 * docs/sync-rules.md, "Updated, and the email address": `email` is `mail`; where that is empty,
 * the first of `otherMails`; where that is empty too, `userPrincipalName` unless it is a guest's
 * (`#EXT#`).
 */
export function emailOf(user: {
  mail?: string | null;
  otherMails?: readonly (string | null)[] | null;
  userPrincipalName?: string | null;
}): string {
  const mail = user.mail?.trim();
  if (mail) return mail;
  const other = user.otherMails?.[0]?.trim();
  if (other) return other;
  const upn = user.userPrincipalName?.trim();
  if (upn && !upn.toUpperCase().includes('#EXT#')) return upn;
  return '';
}

/**
 * Group lists are few distinct values shared by many users (at 100,000 users, one array each would
 * be megabytes): equal lists are one frozen array.
 */
const sharedLists = new InterningCache<readonly string[]>();

export function sharedList(items: readonly string[]): readonly string[] {
  return sharedLists.get(items.join('\u0000'), () => Object.freeze([...items]));
}

/**
 * The listed users as columns: ids as 16 bytes each (`IdIndex`, `IdColumn`), names and addresses as
 * the strings the directory sent, the group list as a number. At 100,000 members that is about a
 * third of a map of objects; a `ListedUser` is made only when asked for (and is equal, not
 * identical, to the one stored).
 */
export class ListedUsers extends ColumnMap<ListedUser> {
  private objectIds = new IdIndex();
  private userIds = new IdColumn();
  private displayNames: string[] = [];
  private emails: string[] = [];
  /** Per user: its group list's number times 4, plus 2 when settled, plus 1 when the account is enabled. */
  private flags: number[] = [];
  private readonly groupLists = new ValueNumbers<readonly string[]>();

  get size(): number {
    return this.objectIds.size;
  }

  /** Adds or replaces the user listed under `objectId` (its user id stays the one first stored). */
  set(objectId: string, user: ListedUser): this {
    const position = this.objectIds.intern(objectId);
    if (position === this.userIds.size) this.userIds.push(user.userId);
    this.displayNames[position] = user.displayName;
    this.emails[position] = user.email;
    // Folded users carry shared lists already: found by identity, without joining the list again.
    const groups =
      this.groupLists.numberIfKnown(user.groups) ?? this.groupLists.numberOf(sharedList(user.groups));
    this.flags[position] = groups * 4 + (user.settled === true ? 2 : 0) + (user.accountEnabled ? 1 : 0);
    return this;
  }

  /** Marks the user listed under `objectId` settled (see `ListedUser.settled`), if there is one. */
  markSettled(objectId: string): void {
    const position = this.objectIds.find(objectId);
    if (position !== undefined) this.flags[position] = this.flags[position]! | 2;
  }

  /** Forgets every user, so that the columns can be collected while the set is still referenced. */
  clear(): void {
    this.objectIds = new IdIndex();
    this.userIds = new IdColumn();
    this.displayNames = [];
    this.emails = [];
    this.flags = [];
  }

  protected positionOf(objectId: string): number | undefined {
    return this.objectIds.find(objectId);
  }

  protected keyAt(position: number): string {
    return this.objectIds.at(position);
  }

  protected valueAt(position: number, objectId = this.objectIds.at(position)): ListedUser {
    const flags = this.flags[position]!;
    const user: ListedUser = {
      objectId,
      userId: this.userIds.at(position),
      displayName: this.displayNames[position]!,
      email: this.emails[position]!,
      accountEnabled: (flags & 1) === 1,
      groups: this.groupLists.valueOf(flags >> 2),
    };
    // Only when set, so that a user equals the one stored.
    return (flags & 2) === 2 ? { ...user, settled: true } : user;
  }
}

/** Where listed users are folded: a plain map, or the compact `ListedUsers`. */
export interface ListedSink {
  get(objectId: string): ListedUser | undefined;
  set(objectId: string, user: ListedUser): unknown;
}

/**
 * Folds one page of a group's members into the listed users (docs/sync-rules.md, "Members":
 * nested members arrive through `transitiveMembers`; a user listed by several groups is one user
 * with several groups). Mutates and returns `listed`, so the caller keeps one compact set instead
 * of every page.
 */
export function collectListedUsers<Sink extends ListedSink>(
  listed: Sink,
  directoryId: string,
  groupId: string,
  users: Iterable<DirectoryUser>,
): Sink {
  const onlyThisGroup = sharedList([groupId]);
  for (const user of users) {
    const objectId = user.objectId.toLowerCase();
    const previous = listed.get(objectId);
    if (previous === undefined) {
      const { displayName, email, accountEnabled } = user;
      const userId = userIdOf(directoryId, objectId);
      listed.set(objectId, {
        objectId,
        userId,
        displayName,
        email,
        accountEnabled,
        groups: onlyThisGroup,
      });
    } else if (!previous.groups.includes(groupId)) {
      // A literal, not a spread: V8 lays a spread copy out about three times as large.
      const { userId, displayName, email, accountEnabled } = previous;
      const groups = sharedList([...previous.groups, groupId]);
      listed.set(objectId, { objectId, userId, displayName, email, accountEnabled, groups });
    }
  }
  return listed;
}

/**
 * Every user the configured groups list, folded page by page as they arrive. The groups' page
 * chains run side by side (each page of a chain needs the previous one's link, so one chain at a
 * time leaves both ends idle); the first group is opened alone so that the run's token is
 * acquired once. The first failure fails the whole read once the other chains have stopped (at
 * their next page): nothing reads as an empty group.
 */
export async function readListedUsers(
  reader: DirectoryReader,
  directoryId: string,
  groups: readonly string[],
  afterPage: () => Promise<void>,
  onGroupRead: (group: { readonly id: string; readonly displayName: string }) => void = () => undefined,
): Promise<ListedUsers> {
  const listed = new ListedUsers();
  let failure: { readonly error: unknown } | undefined;
  const readChain = async (group: string, opened: boolean): Promise<void> => {
    try {
      if (!opened) onGroupRead({ id: group, displayName: (await reader.readGroup(group)).displayName });
      for await (const page of reader.listGroupUsers(group)) {
        if (failure) return;
        collectListedUsers(listed, directoryId, group, page);
        await afterPage();
      }
    } catch (error) {
      failure ??= { error };
    }
  };
  const [first] = groups;
  if (first === undefined) return listed;
  onGroupRead({ id: first, displayName: (await reader.readGroup(first)).displayName });
  // Every chain settles before the run goes on, so none is still reading when it fails or writes.
  await Promise.all(groups.map((group, i) => readChain(group, i === 0)));
  if (failure) throw failure.error;
  return listed;
}
