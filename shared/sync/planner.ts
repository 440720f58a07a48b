import type { AccessPatch, DeactivationReason, EnvironmentUser, Identity } from '../users/repository.js';
import { userIdOf } from '../users/identity.js';
import type { RunCounts } from './runs.js';

/**
 * The functional core of a sync (contract §7): from what the directory lists and what storage
 * holds, decide every write. No I/O, no clock, no randomness: everything arrives as arguments.
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

export type ChangeAction = 'added' | 'granted' | 'updated' | 'deactivated' | 'reactivated';
export type ChangedField = 'displayName' | 'email' | 'groups';

export interface Change {
  readonly userId: string;
  readonly objectId: string;
  readonly displayName: string;
  readonly action: ChangeAction;
  readonly reason?: DeactivationReason;
  readonly fields?: readonly ChangedField[];
}

export interface PlanSettings {
  readonly groupsToSync: readonly string[];
  readonly defaultMenus: readonly string[];
  readonly deactivationLimit: number;
}

export interface PlanInput {
  readonly directoryId: string;
  readonly settings: PlanSettings;
  readonly confirmDeactivations: boolean;
  /** Every user listed by a configured group, by objectId (see `collectListedUsers`). */
  readonly listed: ReadonlyMap<string, ListedUser>;
  /** Every access row of the environment. */
  readonly access: Iterable<EnvironmentUser>;
  /** Stored identities of (at least) the users `identitiesNeeded` names, by objectId. */
  readonly identities: ReadonlyMap<string, Identity>;
  readonly now: Date;
}

export interface Plan {
  /** Rows of the directory-wide `users` table to upsert (empty when halted). */
  readonly userWrites: readonly Identity[];
  /** Access rows of this environment to merge (empty when halted). */
  readonly accessWrites: readonly AccessPatch[];
  /** What the run changes (or, halted, would change), user by user. */
  readonly changes: readonly Change[];
  readonly counts: RunCounts;
  readonly deactivatedUserIds: readonly string[];
  readonly halted: boolean;
}

/**
 * Rule 6: `email` is `mail`; where that is empty, the first of `otherMails`; where that is empty
 * too, `userPrincipalName` unless it is a guest's (`#EXT#`).
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
const sharedLists = new Map<string, readonly string[]>();

export function sharedList(items: readonly string[]): readonly string[] {
  const key = items.join('\u0000');
  let shared = sharedLists.get(key);
  if (shared === undefined) {
    if (sharedLists.size > 10_000) sharedLists.clear();
    shared = Object.freeze([...items]);
    sharedLists.set(key, shared);
  }
  return shared;
}

/**
 * Folds one page of a group's members into the listed users (rule 1: nested members arrive
 * through `transitiveMembers`; a user listed by several groups is one user with several groups).
 * Mutates and returns `listed`, so the caller keeps one compact map instead of every page.
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

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

/** Groups in the order of the settings, so that equal sets compare equal. */
function orderedGroups(groups: readonly string[], groupsToSync: readonly string[]): string[] {
  return groupsToSync.filter((group) => groups.includes(group));
}

/**
 * The listed, enabled users whose stored identity the planner must see: those without access here,
 * or whose access row no longer matches the directory. Everyone else is settled by the access row
 * alone, which keeps a no-op run from reading the whole directory partition.
 */
export function identitiesNeeded(
  directoryId: string,
  listed: ReadonlyMap<string, ListedUser>,
  access: ReadonlyMap<string, EnvironmentUser>,
): string[] {
  const needed: string[] = [];
  for (const user of listed.values()) {
    if (!user.accountEnabled) continue;
    const record = access.get(userIdOf(directoryId, user.objectId));
    if (!record || record.displayName !== user.displayName || record.email !== user.email) {
      needed.push(user.objectId);
    }
  }
  return needed;
}

function deactivationReason(
  record: EnvironmentUser,
  listed: ListedUser | undefined,
  groupsToSync: readonly string[],
): DeactivationReason {
  if (listed !== undefined && !listed.accountEnabled) return 'account-disabled';
  if (record.groups.length === 0 || record.groups.some((group) => groupsToSync.includes(group))) {
    return 'removed-from-group';
  }
  return 'group-removed';
}

export function planSync(input: PlanInput): Plan {
  const { directoryId, settings, listed, identities } = input;
  const now = input.now.toISOString();
  const counts: RunCounts = {
    added: 0,
    granted: 0,
    updated: 0,
    deactivated: 0,
    reactivated: 0,
    unchanged: 0,
  };
  const userWrites: Identity[] = [];
  const accessWrites: AccessPatch[] = [];
  const changes: Change[] = [];
  const deactivatedUserIds: string[] = [];

  const defaultMenus = sharedList(settings.defaultMenus);
  const accessById = new Map<string, EnvironmentUser>();
  for (const record of input.access) accessById.set(record.id, record);
  const seen = new Set<string>();

  for (const user of listed.values()) {
    if (!user.accountEnabled) continue;
    const userId = userIdOf(directoryId, user.objectId);
    seen.add(userId);
    const groups = sharedList(orderedGroups(user.groups, settings.groupsToSync));
    const record = accessById.get(userId);
    const identity = identities.get(user.objectId);
    const directoryIdentity: Identity = {
      userId,
      objectId: user.objectId,
      displayName: user.displayName,
      email: user.email,
    };
    if (!identity || identity.displayName !== user.displayName || identity.email !== user.email) {
      // Also when the identity was not read: the shell reads every one that may differ, so a missing
      // one here means its row is missing, and writing it restores it.
      const recordMatches = record?.displayName === user.displayName && record.email === user.email;
      if (identity !== undefined || !recordMatches) userWrites.push(directoryIdentity);
    }
    const base = {
      userId,
      directoryId,
      objectId: user.objectId,
      displayName: user.displayName,
      email: user.email,
      groups,
    };

    if (record === undefined) {
      const action: ChangeAction = identity === undefined ? 'added' : 'granted';
      counts[action]++;
      accessWrites.push({ ...base, active: true, menus: defaultMenus });
      changes.push({ userId, objectId: user.objectId, displayName: user.displayName, action });
      continue;
    }

    const fields: ChangedField[] = [];
    if (record.displayName !== user.displayName) fields.push('displayName');
    if (record.email !== user.email) fields.push('email');
    if (!sameList(record.groups, groups)) fields.push('groups');

    if (!record.active) {
      counts.reactivated++;
      // No `menus`: the merge keeps the ones the user had (rule 5).
      accessWrites.push({ ...base, active: true });
      changes.push({
        userId,
        objectId: user.objectId,
        displayName: user.displayName,
        action: 'reactivated',
        ...(fields.length > 0 ? { fields } : {}),
      });
    } else if (fields.length > 0) {
      counts.updated++;
      accessWrites.push({ ...base, active: true });
      changes.push({
        userId,
        objectId: user.objectId,
        displayName: user.displayName,
        action: 'updated',
        fields,
      });
    } else {
      counts.unchanged++;
    }
  }

  for (const record of accessById.values()) {
    if (seen.has(record.id)) continue;
    if (!record.active) {
      counts.unchanged++;
      continue;
    }
    const listedUser = record.directoryId === directoryId ? listed.get(record.objectId) : undefined;
    const reason = deactivationReason(record, listedUser, settings.groupsToSync);
    counts.deactivated++;
    deactivatedUserIds.push(record.id);
    accessWrites.push({
      userId: record.id,
      directoryId: record.directoryId,
      objectId: record.objectId,
      displayName: record.displayName,
      email: record.email,
      groups: record.groups,
      active: false,
      deactivatedAt: now,
      deactivationReason: reason,
    });
    changes.push({
      userId: record.id,
      objectId: record.objectId,
      displayName: record.displayName,
      action: 'deactivated',
      reason,
    });
  }

  const halted = counts.deactivated > settings.deactivationLimit && !input.confirmDeactivations;
  return {
    userWrites: halted ? [] : userWrites,
    accessWrites: halted ? [] : accessWrites,
    changes,
    counts,
    deactivatedUserIds: halted ? [] : deactivatedUserIds,
    halted,
  };
}
