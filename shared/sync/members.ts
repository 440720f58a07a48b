import { InterningCache } from '../interning.js';

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

/** A user listed by at least one configured group, with the groups that list it. */
export interface ListedUser extends DirectoryUser {
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
  groupId: string,
  users: Iterable<DirectoryUser>,
): Map<string, ListedUser> {
  for (const user of users) {
    const objectId = user.objectId.toLowerCase();
    const previous = listed.get(objectId);
    if (previous === undefined) {
      listed.set(objectId, { ...user, objectId, groups: sharedList([groupId]) });
    } else if (!previous.groups.includes(groupId)) {
      listed.set(objectId, { ...previous, groups: sharedList([...previous.groups, groupId]) });
    }
  }
  return listed;
}
