import type { AccessPatch, AccessRecord, DeactivationReason, Identity } from '../users/model.js';
import { sharedList, type ListedUser } from './members.js';
import type { RunCounts } from './runs.js';

/**
 * The functional core of a sync (docs/sync-rules.md): from what the directory lists and what
 * storage holds, decide every write. No I/O, no clock, no randomness: everything arrives as
 * arguments.
 */

export {
  collectListedUsers,
  emailOf,
  ListedUsers,
  readListedUsers,
  sharedList,
  type DirectoryUser,
  type ListedSink,
  type ListedUser,
} from './members.js';

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
  /**
   * Every access row of the environment, by user id (see `StoredAccess`), but those of members
   * marked `settled`, whose rows were found unchanged as they arrived.
   */
  readonly access: ReadonlyMap<string, AccessRecord>;
  /** Stored identities of (at least) the users `identitiesNeeded` names, by objectId. */
  readonly identities: ReadonlyMap<string, Identity>;
  readonly now: Date;
}

/**
 * `isNew`: the row was not among the rows read, so it can be inserted (cheaper for the store than
 * an upsert); the writer falls back to a merge when it was written meanwhile.
 */
export interface UserWrite extends Identity {
  readonly isNew?: true;
}

export interface AccessWrite extends AccessPatch {
  readonly isNew?: true;
}

export interface Plan {
  /** Rows of the directory-wide `users` table to upsert (empty when halted). */
  readonly userWrites: readonly UserWrite[];
  /** Access rows of this environment to merge (empty when halted). */
  readonly accessWrites: readonly AccessWrite[];
  /** What the run changes (or, halted, would change), user by user. */
  readonly changes: readonly Change[];
  readonly counts: RunCounts;
  readonly deactivatedUserIds: readonly string[];
  readonly halted: boolean;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

/** Groups in the order of the settings, so that equal sets compare equal. */
function orderedGroups(groups: readonly string[], groupsToSync: readonly string[]): string[] {
  return groupsToSync.filter((group) => groups.includes(group));
}

/**
 * The settings' order of each of the few group lists users share (by identity: listed users'
 * lists are shared ones), made once per list instead of once per member.
 */
export class OrderedGroupLists {
  private readonly ordered = new Map<readonly string[], readonly string[]>();

  constructor(private readonly groupsToSync: readonly string[]) {}

  of(groups: readonly string[]): readonly string[] {
    let list = this.ordered.get(groups);
    if (list === undefined) {
      list = sharedList(orderedGroups(groups, this.groupsToSync));
      this.ordered.set(groups, list);
    }
    return list;
  }
}

/**
 * The listed, enabled users whose stored identity the planner must see: those without access here,
 * or whose access row no longer matches the directory. Everyone else is settled by the access row
 * alone, which keeps a no-op run from reading the whole directory partition.
 */
export function identitiesNeeded(
  listed: ReadonlyMap<string, ListedUser>,
  access: ReadonlyMap<string, AccessRecord>,
): string[] {
  const needed: string[] = [];
  for (const user of listed.values()) {
    if (!user.accountEnabled || user.settled === true) continue;
    const record = access.get(user.userId);
    if (!record || record.displayName !== user.displayName || record.email !== user.email) {
      needed.push(user.objectId);
    }
  }
  return needed;
}

/**
 * Whether a member's access row is exactly what the listing makes of it: planned, the member counts
 * unchanged and nothing is written for it (not its identity either: the row matches the directory,
 * so the identity is never read; see `identitiesNeeded`).
 */
export function rowIsUnchanged(
  record: AccessRecord,
  user: ListedUser,
  groupLists: OrderedGroupLists,
): boolean {
  return (
    user.accountEnabled &&
    record.active &&
    record.id === user.userId &&
    changedFields(record, user, groupLists.of(user.groups)).length === 0
  );
}

function deactivationReason(
  record: AccessRecord,
  listed: ListedUser | undefined,
  groupsToSync: readonly string[],
): DeactivationReason {
  if (listed !== undefined && !listed.accountEnabled) return 'account-disabled';
  if (record.groups.length === 0 || record.groups.some((group) => groupsToSync.includes(group))) {
    return 'removed-from-group';
  }
  return 'group-removed';
}

/** The plan as it grows, member by member. */
interface Draft {
  readonly counts: RunCounts;
  readonly userWrites: UserWrite[];
  readonly accessWrites: AccessWrite[];
  readonly changes: Change[];
  readonly deactivatedUserIds: string[];
}

/** What every member's planning shares. */
interface MemberContext {
  readonly directoryId: string;
  readonly settings: PlanSettings;
  readonly defaultMenus: readonly string[];
  readonly accessById: ReadonlyMap<string, AccessRecord>;
  readonly identities: ReadonlyMap<string, Identity>;
  readonly groupLists: OrderedGroupLists;
}

function emptyDraft(): Draft {
  return {
    counts: { added: 0, granted: 0, updated: 0, deactivated: 0, reactivated: 0, unchanged: 0 },
    userWrites: [],
    accessWrites: [],
    changes: [],
    deactivatedUserIds: [],
  };
}

/**
 * The member's identity row is written when it is missing or differs from the directory. A missing
 * one is written too when it was not read: the shell reads every one that may differ, so a missing
 * one here means its row is missing, and writing it restores it.
 */
function needsIdentityWrite(
  user: ListedUser,
  identity: Identity | undefined,
  record: AccessRecord | undefined,
): boolean {
  if (identity?.displayName === user.displayName && identity.email === user.email) return false;
  const recordMatches = record?.displayName === user.displayName && record.email === user.email;
  return identity !== undefined || !recordMatches;
}

/** Fields of the access row that the directory changed. */
function changedFields(record: AccessRecord, user: ListedUser, groups: readonly string[]): ChangedField[] {
  const fields: ChangedField[] = [];
  if (record.displayName !== user.displayName) fields.push('displayName');
  if (record.email !== user.email) fields.push('email');
  if (!sameList(record.groups, groups)) fields.push('groups');
  return fields;
}

/**
 * One enabled member: added, granted, reactivated, updated or unchanged. Every row and change is one
 * object literal of a fixed shape: V8 gives a literal built by spreading another object a
 * dictionary-like layout about three times its size, and a plan holds three of them per member.
 * Returns the member's access row, if it had one.
 */
function planMember(user: ListedUser, context: MemberContext, draft: Draft): AccessRecord | undefined {
  const { directoryId } = context;
  const { objectId, userId, displayName, email } = user;
  const groups = context.groupLists.of(user.groups);
  const record = context.accessById.get(userId);
  const identity = context.identities.get(objectId);
  if (needsIdentityWrite(user, identity, record)) {
    draft.userWrites.push(
      identity === undefined
        ? { userId, objectId, displayName, email, isNew: true }
        : { userId, objectId, displayName, email },
    );
  }

  if (record === undefined) {
    const action: ChangeAction = identity === undefined ? 'added' : 'granted';
    draft.counts[action]++;
    const menus = context.defaultMenus;
    draft.accessWrites.push({
      userId,
      directoryId,
      objectId,
      displayName,
      email,
      groups,
      active: true,
      menus,
      isNew: true,
    });
    draft.changes.push({ userId, objectId, displayName, action });
    return undefined;
  }
  const fields = changedFields(record, user, groups);
  const reactivated = !record.active;
  if (!reactivated && fields.length === 0) {
    draft.counts.unchanged++;
    return record;
  }
  // No `menus`: the merge keeps the ones the user had (docs/sync-rules.md, "Reactivated access
  // keeps its menus").
  draft.accessWrites.push({ userId, directoryId, objectId, displayName, email, groups, active: true });
  if (reactivated) {
    draft.counts.reactivated++;
    const action = 'reactivated';
    draft.changes.push(
      fields.length > 0
        ? { userId, objectId, displayName, action, fields }
        : { userId, objectId, displayName, action },
    );
  } else {
    draft.counts.updated++;
    draft.changes.push({ userId, objectId, displayName, action: 'updated', fields });
  }
  return record;
}

/** Active access of a non-member is deactivated, with its reason; inactive access stays as it is. */
function planNonMember(
  record: AccessRecord,
  context: MemberContext,
  listed: ReadonlyMap<string, ListedUser>,
  now: string,
  draft: Draft,
): void {
  if (!record.active) {
    draft.counts.unchanged++;
    return;
  }
  const listedUser = record.directoryId === context.directoryId ? listed.get(record.objectId) : undefined;
  const reason = deactivationReason(record, listedUser, context.settings.groupsToSync);
  draft.counts.deactivated++;
  draft.deactivatedUserIds.push(record.id);
  draft.accessWrites.push({
    userId: record.id,
    directoryId: record.directoryId,
    objectId: record.objectId,
    displayName: record.displayName,
    email: record.email,
    // A member through none of the configured groups any more; the reason keeps why.
    groups: sharedList([]),
    active: false,
    deactivatedAt: now,
    deactivationReason: reason,
  });
  draft.changes.push({
    userId: record.id,
    objectId: record.objectId,
    displayName: record.displayName,
    action: 'deactivated',
    reason,
  });
}

/**
 * Whether a run that deactivates `deactivations` users halts: beyond the limit (exactly the limit
 * goes ahead), unless the run was confirmed. A retried run counts what its earlier attempts
 * deactivated too, so no run exceeds the limit by being retried.
 */
export function haltsAt(
  deactivations: number,
  settings: Pick<PlanSettings, 'deactivationLimit'>,
  confirmDeactivations: boolean,
): boolean {
  return deactivations > settings.deactivationLimit && !confirmDeactivations;
}

/**
 * Beyond the deactivation limit, unconfirmed, a run halts: it applies nothing, and still lists (and
 * counts) what it would have done.
 */
function settle(draft: Draft, settings: PlanSettings, confirmDeactivations: boolean): Plan {
  const halted = haltsAt(draft.counts.deactivated, settings, confirmDeactivations);
  return {
    userWrites: halted ? [] : draft.userWrites,
    accessWrites: halted ? [] : draft.accessWrites,
    changes: draft.changes,
    counts: draft.counts,
    deactivatedUserIds: halted ? [] : draft.deactivatedUserIds,
    halted,
  };
}

/** Every write of a run, decided from what the directory lists and what storage holds. */
export function planSync(input: PlanInput): Plan {
  const accessById = input.access;
  const context: MemberContext = {
    directoryId: input.directoryId,
    settings: input.settings,
    defaultMenus: sharedList(input.settings.defaultMenus),
    accessById,
    identities: input.identities,
    groupLists: new OrderedGroupLists(input.settings.groupsToSync),
  };
  const draft = emptyDraft();
  // Rows are unique by user id, and so are members: when every row was a member's, none is left.
  let rowsOfMembers = 0;
  for (const user of input.listed.values()) {
    if (!user.accountEnabled) continue;
    // Its row was settled as it arrived and is not among `access`.
    if (user.settled === true) draft.counts.unchanged++;
    else if (planMember(user, context, draft) !== undefined) rowsOfMembers++;
  }
  if (rowsOfMembers < accessById.size) {
    const now = input.now.toISOString();
    const members = new Set<string>();
    for (const user of input.listed.values()) if (user.accountEnabled) members.add(user.userId);
    // By key first: most rows are members, and a row is made only for the others.
    for (const userId of accessById.keys()) {
      const record = members.has(userId) ? undefined : accessById.get(userId);
      if (record !== undefined) planNonMember(record, context, input.listed, now, draft);
    }
  }
  return settle(draft, input.settings, input.confirmDeactivations);
}
