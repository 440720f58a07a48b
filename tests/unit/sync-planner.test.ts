import { describe, expect, it } from 'vitest';
import { DIR, OTHER_DIR, G1, G2, G3, NOW, dirUser, oid } from '../support/planning.js';
import {
  collectListedUsers,
  emailOf,
  identitiesNeeded,
  planSync,
  type DirectoryUser,
  type ListedUser,
  type PlanInput,
} from '../../shared/sync/planner.js';
import { userIdOf } from '../../shared/users/identity.js';
import type { AccessRecord, EnvironmentUser, Identity } from '../../shared/users/model.js';

const BEFORE = '2026-11-01T00:00:00.000Z';

function listedOf(groups: Record<string, DirectoryUser[]>): Map<string, ListedUser> {
  const listed = new Map<string, ListedUser>();
  for (const [group, users] of Object.entries(groups)) collectListedUsers(listed, DIR, group, users);
  return listed;
}

function record(n: number, overrides: Partial<EnvironmentUser> = {}): EnvironmentUser {
  return {
    id: userIdOf(overrides.directoryId ?? DIR, oid(n)),
    source: 'external',
    directoryId: DIR,
    objectId: oid(n),
    displayName: `User ${n}`,
    email: `u${n}@example.com`,
    active: true,
    menus: ['Custom'],
    groups: [G1],
    ...overrides,
  };
}

function identity(n: number, overrides: Partial<Identity> = {}): Identity {
  return {
    userId: userIdOf(DIR, oid(n)),
    objectId: oid(n),
    displayName: `User ${n}`,
    email: `u${n}@example.com`,
    ...overrides,
  };
}

function plan(
  partial: Partial<Omit<PlanInput, 'identities' | 'access'>> & {
    access?: AccessRecord[];
    identities?: Identity[];
    groupsToSync?: string[];
    limit?: number;
  },
) {
  const identities = new Map((partial.identities ?? []).map((i) => [i.objectId, i]));
  return planSync({
    directoryId: DIR,
    settings: {
      groupsToSync: partial.groupsToSync ?? [G1, G2],
      defaultMenus: ['Home', 'Projects'],
      deactivationLimit: partial.limit ?? 50,
    },
    confirmDeactivations: partial.confirmDeactivations ?? false,
    listed: partial.listed ?? new Map(),
    access: new Map((partial.access ?? []).map((row) => [row.id, row])),
    identities,
    now: NOW,
  });
}

const ZERO = { added: 0, granted: 0, updated: 0, deactivated: 0, reactivated: 0, unchanged: 0 };

describe('rule 6: the email of a directory user', () => {
  it.each([
    ['mail wins', { mail: 'm@x.com', otherMails: ['o@x.com'], userPrincipalName: 'u@x.com' }, 'm@x.com'],
    [
      'empty mail falls to the first otherMails',
      { mail: '', otherMails: ['o1@x.com', 'o2@x.com'], userPrincipalName: 'u@x.com' },
      'o1@x.com',
    ],
    ['null mail falls to otherMails', { mail: null, otherMails: ['o@x.com'] }, 'o@x.com'],
    [
      'no mail, no otherMails: the UPN',
      { mail: null, otherMails: [], userPrincipalName: 'u@x.com' },
      'u@x.com',
    ],
    [
      'a guest UPN is never an email',
      { mail: null, otherMails: [], userPrincipalName: 'g_ext.com#EXT#@x.onmicrosoft.com' },
      '',
    ],
    ['a guest UPN, lower case #ext#', { userPrincipalName: 'g_ext.com#ext#@x.onmicrosoft.com' }, ''],
    [
      'a guest with otherMails',
      {
        mail: null,
        otherMails: ['guest@ext.com'],
        userPrincipalName: 'guest_ext.com#EXT#@x.onmicrosoft.com',
      },
      'guest@ext.com',
    ],
    ['blank mail is empty', { mail: '  ', userPrincipalName: 'u@x.com' }, 'u@x.com'],
  ])('%s', (_name, user, expected) => {
    expect(emailOf(user)).toBe(expected);
  });
});

describe('collecting listed users (rule 1)', () => {
  it('merges a user listed by several groups (nested or overlapping) into one, with both groups', () => {
    const listed = listedOf({ [G1]: [dirUser(1), dirUser(2)], [G2]: [dirUser(2), dirUser(3)] });
    expect([...listed.keys()]).toEqual([oid(1), oid(2), oid(3)]);
    expect(listed.get(oid(2))!.groups).toEqual([G1, G2]);
  });

  it('lower-cases object ids and does not repeat a group listed on two pages', () => {
    const listed = new Map<string, ListedUser>();
    collectListedUsers(listed, DIR, G1, [dirUser(1, { objectId: oid(1).toUpperCase() })]);
    collectListedUsers(listed, DIR, G1, [dirUser(1)]);
    expect(listed.get(oid(1))!.groups).toEqual([G1]);
  });
});

describe('planSync: one rule at a time', () => {
  it('rule 3: a member with no user is added, active, with the default menus', () => {
    const result = plan({ listed: listedOf({ [G1]: [dirUser(1)] }) });
    expect(result.counts).toEqual({ ...ZERO, added: 1 });
    expect(result.changes).toEqual([
      { userId: userIdOf(DIR, oid(1)), objectId: oid(1), displayName: 'User 1', action: 'added' },
    ]);
    // Neither row was read: both can be inserted.
    expect(result.userWrites).toEqual([{ ...identity(1), isNew: true }]);
    expect(result.accessWrites).toEqual([
      {
        userId: userIdOf(DIR, oid(1)),
        directoryId: DIR,
        objectId: oid(1),
        displayName: 'User 1',
        email: 'u1@example.com',
        groups: [G1],
        active: true,
        menus: ['Home', 'Projects'],
        isNew: true,
      },
    ]);
    expect(result.halted).toBe(false);
  });

  it('rule 4: a member whose user exists (another environment) is granted access, user row untouched', () => {
    const result = plan({ listed: listedOf({ [G1]: [dirUser(1)] }), identities: [identity(1)] });
    expect(result.counts).toEqual({ ...ZERO, granted: 1 });
    expect(result.changes[0]).toMatchObject({ action: 'granted' });
    expect(result.userWrites).toEqual([]);
    expect(result.accessWrites[0]).toMatchObject({ active: true, menus: ['Home', 'Projects'] });
  });

  it('rule 4 + 6: granted with a changed name also refreshes the shared user row', () => {
    const result = plan({
      listed: listedOf({ [G1]: [dirUser(1, { displayName: 'Renamed' })] }),
      identities: [identity(1)],
    });
    expect(result.counts).toEqual({ ...ZERO, granted: 1 });
    expect(result.userWrites).toEqual([identity(1, { displayName: 'Renamed' })]);
  });

  it('rule 5: a deactivated member is reactivated and keeps its menus (no menus in the write)', () => {
    const result = plan({
      listed: listedOf({ [G1]: [dirUser(1)] }),
      access: [record(1, { active: false, deactivatedAt: BEFORE, deactivationReason: 'removed-from-group' })],
    });
    expect(result.counts).toEqual({ ...ZERO, reactivated: 1 });
    expect(result.changes[0]).toEqual({
      userId: userIdOf(DIR, oid(1)),
      objectId: oid(1),
      displayName: 'User 1',
      action: 'reactivated',
    });
    expect(result.accessWrites).toHaveLength(1);
    expect(result.accessWrites[0]).not.toHaveProperty('menus');
    expect(result.accessWrites[0]).toMatchObject({ active: true });
    expect(result.accessWrites[0]!.deactivatedAt).toBeUndefined();
  });

  it.each([
    ['displayName', { displayName: 'New Name' }, ['displayName']],
    ['email', { email: 'new@example.com' }, ['email']],
    ['both', { displayName: 'N', email: 'n@example.com' }, ['displayName', 'email']],
  ] as const)('rule 6: a changed %s is updated, in the user row and the access row', (_n, change, fields) => {
    const result = plan({
      listed: listedOf({ [G1]: [dirUser(1, change)] }),
      access: [record(1)],
      identities: [identity(1)],
    });
    expect(result.counts).toEqual({ ...ZERO, updated: 1 });
    expect(result.changes[0]).toMatchObject({ action: 'updated', fields });
    expect(result.userWrites).toEqual([identity(1, change)]);
    expect(result.accessWrites[0]).toMatchObject({ ...change, active: true });
    expect(result.accessWrites[0]).not.toHaveProperty('menus');
  });

  it('rule 6: the user row already refreshed by another environment is not written again', () => {
    const result = plan({
      listed: listedOf({ [G1]: [dirUser(1, { displayName: 'New' })] }),
      access: [record(1)],
      identities: [identity(1, { displayName: 'New' })],
    });
    expect(result.counts.updated).toBe(1);
    expect(result.userWrites).toEqual([]);
    expect(result.accessWrites).toHaveLength(1);
  });

  it('a member newly listed through a second group has its groups updated', () => {
    const result = plan({
      listed: listedOf({ [G1]: [dirUser(1)], [G2]: [dirUser(1)] }),
      access: [record(1)],
    });
    expect(result.counts).toEqual({ ...ZERO, updated: 1 });
    expect(result.changes[0]).toMatchObject({ action: 'updated', fields: ['groups'] });
    expect(result.accessWrites[0]).toMatchObject({ groups: [G1, G2] });
    expect(result.userWrites).toEqual([]);
  });

  it('groups are compared in settings order, so listing order does not make a change', () => {
    const result = plan({
      listed: listedOf({ [G2]: [dirUser(1)], [G1]: [dirUser(1)] }),
      access: [record(1, { groups: [G1, G2] })],
    });
    expect(result.counts).toEqual({ ...ZERO, unchanged: 1 });
  });

  it('rule 11: an unchanged member writes nothing', () => {
    const result = plan({ listed: listedOf({ [G1]: [dirUser(1)] }), access: [record(1)] });
    expect(result.counts).toEqual({ ...ZERO, unchanged: 1 });
    expect(result.userWrites).toEqual([]);
    expect(result.accessWrites).toEqual([]);
    expect(result.changes).toEqual([]);
  });

  it('rule 7: a user removed from its group is deactivated (removed-from-group), nothing deleted', () => {
    const result = plan({ listed: listedOf({ [G1]: [] }), access: [record(1)] });
    expect(result.counts).toEqual({ ...ZERO, deactivated: 1 });
    expect(result.changes[0]).toMatchObject({ action: 'deactivated', reason: 'removed-from-group' });
    expect(result.accessWrites[0]).toMatchObject({
      active: false,
      deactivatedAt: NOW.toISOString(),
      deactivationReason: 'removed-from-group',
      displayName: 'User 1',
      // A member through no configured group any more: the reason says why, the groups are none.
      groups: [],
    });
    expect(result.accessWrites[0]).not.toHaveProperty('menus');
    expect(result.deactivatedUserIds).toEqual([userIdOf(DIR, oid(1))]);
  });

  it('rule 7: a user whose only group left the settings is deactivated (group-removed)', () => {
    const result = plan({
      groupsToSync: [G2],
      listed: listedOf({ [G2]: [] }),
      access: [record(1, { groups: [G1] })],
    });
    expect(result.changes[0]).toMatchObject({ action: 'deactivated', reason: 'group-removed' });
  });

  it('rule 7: a user in a removed group and removed from a still configured one: removed-from-group', () => {
    const result = plan({
      groupsToSync: [G2],
      listed: listedOf({ [G2]: [] }),
      access: [record(1, { groups: [G1, G2] })],
    });
    expect(result.changes[0]).toMatchObject({ reason: 'removed-from-group' });
  });

  it('rule 7: a member still in a remaining group stays active when another group leaves the settings', () => {
    const result = plan({
      groupsToSync: [G2],
      listed: listedOf({ [G2]: [dirUser(1)] }),
      access: [record(1, { groups: [G1, G2] })],
    });
    expect(result.counts).toEqual({ ...ZERO, updated: 1 });
    expect(result.changes[0]).toMatchObject({ action: 'updated', fields: ['groups'] });
  });

  it('rules 1 + 7: a disabled account is not a member and is deactivated (account-disabled)', () => {
    const result = plan({
      listed: listedOf({ [G1]: [dirUser(1, { accountEnabled: false })] }),
      access: [record(1)],
    });
    expect(result.counts).toEqual({ ...ZERO, deactivated: 1 });
    expect(result.changes[0]).toMatchObject({ action: 'deactivated', reason: 'account-disabled' });
  });

  it('rule 1: a disabled account with no user is not created', () => {
    const result = plan({ listed: listedOf({ [G1]: [dirUser(1, { accountEnabled: false })] }) });
    expect(result.counts).toEqual(ZERO);
    expect(result.userWrites).toEqual([]);
    expect(result.accessWrites).toEqual([]);
  });

  it('a deactivated non-member stays as it is: no write, its reason and time kept', () => {
    const result = plan({
      listed: listedOf({ [G1]: [dirUser(1, { accountEnabled: false })] }),
      access: [record(1, { active: false, deactivatedAt: BEFORE, deactivationReason: 'removed-from-group' })],
    });
    expect(result.counts).toEqual({ ...ZERO, unchanged: 1 });
    expect(result.accessWrites).toEqual([]);
  });

  it('rule 2: the same identity in another directory is another user', () => {
    const other = record(1, { directoryId: OTHER_DIR, id: userIdOf(OTHER_DIR, oid(1)) });
    const result = plan({ listed: listedOf({ [G1]: [dirUser(1)] }), access: [other] });
    expect(result.counts).toEqual({ ...ZERO, added: 1, deactivated: 1 });
    expect(new Set(result.changes.map((c) => c.userId)).size).toBe(2);
  });

  it('rule 9: more deactivations than the limit halts and applies nothing, listing what it would do', () => {
    const access = [record(1), record(2), record(3)];
    const result = plan({ limit: 2, listed: listedOf({ [G1]: [dirUser(4)] }), access });
    expect(result.halted).toBe(true);
    expect(result.counts).toEqual({ ...ZERO, added: 1, deactivated: 3 });
    expect(result.changes).toHaveLength(4);
    expect(result.userWrites).toEqual([]);
    expect(result.accessWrites).toEqual([]);
    expect(result.deactivatedUserIds).toEqual([]);
  });

  it('rule 9: exactly the limit goes ahead', () => {
    const result = plan({
      limit: 3,
      listed: listedOf({ [G1]: [] }),
      access: [record(1), record(2), record(3)],
    });
    expect(result.halted).toBe(false);
    expect(result.accessWrites).toHaveLength(3);
  });

  it('rule 9: a limit of 0 halts on any deactivation', () => {
    expect(plan({ limit: 0, listed: listedOf({ [G1]: [] }), access: [record(1)] }).halted).toBe(true);
    expect(plan({ limit: 0, listed: listedOf({ [G1]: [dirUser(1)] }), access: [record(1)] }).halted).toBe(
      false,
    );
  });

  it('rule 9: confirmDeactivations lets it go ahead', () => {
    const result = plan({
      limit: 1,
      confirmDeactivations: true,
      listed: listedOf({ [G1]: [] }),
      access: [record(1), record(2)],
    });
    expect(result.halted).toBe(false);
    expect(result.deactivatedUserIds).toHaveLength(2);
  });
});

describe('planSync: combinations', () => {
  it('one run adds, grants, updates, reactivates, deactivates and leaves others unchanged', () => {
    const listed = listedOf({
      [G1]: [dirUser(1), dirUser(2), dirUser(3, { email: 'changed@example.com' })],
      [G2]: [dirUser(4), dirUser(5), dirUser(7, { accountEnabled: false })],
    });
    const access = [
      record(3),
      record(4, {
        active: false,
        deactivatedAt: BEFORE,
        deactivationReason: 'group-removed',
        groups: [G2],
        menus: ['Kept'],
      }),
      record(5, { groups: [G2] }),
      record(6),
      record(7, { groups: [G2] }),
      record(8, { active: false, deactivatedAt: BEFORE, deactivationReason: 'account-disabled' }),
    ];
    const result = plan({ listed, access, identities: [identity(2), identity(3)] });
    expect(result.counts).toEqual({
      added: 1,
      granted: 1,
      updated: 1,
      reactivated: 1,
      deactivated: 2,
      unchanged: 2,
    });
    const byObject = new Map(result.changes.map((c) => [c.objectId, c]));
    expect(byObject.get(oid(1))!.action).toBe('added');
    expect(byObject.get(oid(2))!.action).toBe('granted');
    expect(byObject.get(oid(3))).toMatchObject({ action: 'updated', fields: ['email'] });
    expect(byObject.get(oid(4))).toMatchObject({ action: 'reactivated' });
    expect(byObject.get(oid(6))).toMatchObject({ action: 'deactivated', reason: 'removed-from-group' });
    expect(byObject.get(oid(7))).toMatchObject({ action: 'deactivated', reason: 'account-disabled' });
    expect(byObject.has(oid(5))).toBe(false);
    expect(byObject.has(oid(8))).toBe(false);
    expect(result.accessWrites).toHaveLength(6);
    expect(result.userWrites.map((u) => u.objectId).sort()).toEqual([oid(1), oid(3)]);
  });

  it('the plan is a pure function of its input: same input, same plan', () => {
    const input = { listed: listedOf({ [G1]: [dirUser(1), dirUser(2)] }), access: [record(2), record(3)] };
    expect(plan(input)).toEqual(plan(input));
  });

  it('reactivation with a changed email reports the field and refreshes the user row', () => {
    const result = plan({
      listed: listedOf({ [G3]: [dirUser(1, { email: 'x@example.com' })] }),
      groupsToSync: [G3],
      access: [
        record(1, {
          active: false,
          groups: [G3],
          deactivatedAt: BEFORE,
          deactivationReason: 'removed-from-group',
        }),
      ],
      identities: [identity(1)],
    });
    expect(result.changes[0]).toMatchObject({ action: 'reactivated', fields: ['email'] });
    expect(result.userWrites).toEqual([identity(1, { email: 'x@example.com' })]);
  });
});

describe('identitiesNeeded', () => {
  it('names only members without access here or whose access row differs from the directory', () => {
    const listed = listedOf({
      [G1]: [
        dirUser(1),
        dirUser(2, { displayName: 'Changed' }),
        dirUser(3),
        dirUser(4, { accountEnabled: false }),
      ],
    });
    const access = new Map([record(2), record(3)].map((r) => [r.id, r]));
    expect(identitiesNeeded(listed, access)).toEqual([oid(1), oid(2)]);
  });
});
