import type { DirectoryReader } from '../directory/reader.js';
import { InterningCache } from '../interning.js';
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
 * Folds one page of a group's members into the listed users (docs/sync-rules.md, "Members":
 * nested members arrive through `transitiveMembers`; a user listed by several groups is one user
 * with several groups). Mutates and returns `listed`, so the caller keeps one compact map instead
 * of every page.
 */
export function collectListedUsers(
  listed: Map<string, ListedUser>,
  directoryId: string,
  groupId: string,
  users: Iterable<DirectoryUser>,
): Map<string, ListedUser> {
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
        groups: sharedList([groupId]),
      });
    } else if (!previous.groups.includes(groupId)) {
      listed.set(objectId, { ...previous, groups: sharedList([...previous.groups, groupId]) });
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
): Promise<Map<string, ListedUser>> {
  const listed = new Map<string, ListedUser>();
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
