import { describe, expect, it } from 'vitest';
import { DIR, OTHER_DIR, G1, G2, NOW, dirUser, oid } from '../support/planning.js';
import { ArrivingAccess } from '../../shared/sync/arriving-access.js';
import {
  collectListedUsers,
  identitiesNeeded,
  ListedUsers,
  planSync,
  type Plan,
} from '../../shared/sync/planner.js';
import { StoredAccess } from '../../shared/sync/stored-access.js';
import { userIdOf } from '../../shared/users/identity.js';
import type { AccessRecord } from '../../shared/users/model.js';

const GROUPS = [G1, G2];

/** The access row a past run left for user n (as the listing below makes it, unless overridden). */
function row(n: number, overrides: Partial<AccessRecord> = {}): AccessRecord {
  const directoryId = overrides.directoryId ?? DIR;
  return {
    id: userIdOf(directoryId, oid(n)),
    directoryId,
    objectId: oid(n),
    displayName: `User ${n}`,
    email: `u${n}@example.com`,
    active: true,
    groups: n === 2 ? [G1, G2] : [G1],
    ...overrides,
  };
}

/** Members 1–9 (2 in both groups, 6 disabled, 1 renamed since, 3 with a new address). */
function listing(): ListedUsers {
  const listed = new ListedUsers();
  const inG1 = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) =>
    dirUser(n, {
      ...(n === 1 ? { displayName: 'Renamed 1' } : {}),
      ...(n === 3 ? { email: 'new3@example.com' } : {}),
      ...(n === 6 ? { accountEnabled: false } : {}),
    }),
  );
  collectListedUsers(listed, DIR, G1, inG1);
  collectListedUsers(listed, DIR, G2, [dirUser(2), dirUser(4)]);
  return listed;
}

/** Rows of every kind: changed ones, unchanged ones, non-members, another directory's. */
const ROWS: readonly AccessRecord[] = [
  row(1), // renamed in the directory
  row(2), // unchanged, two groups
  row(3), // new address
  row(4), // now in G2 too
  row(5, { active: false }), // to reactivate
  row(6), // account disabled
  row(7), // unchanged
  row(8), // unchanged
  row(10), // no longer a member
  row(11, { active: false }), // a non-member already inactive
  row(9, { directoryId: OTHER_DIR }), // another directory's user of the same object id
];

function planOf(listed: ListedUsers, access: ReadonlyMap<string, AccessRecord>): Plan {
  return planSync({
    directoryId: DIR,
    settings: { groupsToSync: GROUPS, defaultMenus: ['Home'], deactivationLimit: 50 },
    confirmDeactivations: false,
    listed,
    access,
    identities: new Map(),
    now: NOW,
  });
}

describe('access rows settled as they arrive', () => {
  it('settles, once the directory is read, exactly the rows the listing leaves unchanged', () => {
    const listed = listing();
    const arriving = new ArrivingAccess();
    arriving.add(row(8)); // before the directory is complete: kept, unchanged or not
    arriving.directoryRead(listed, DIR, GROUPS);
    for (const record of ROWS.filter((r) => r.objectId !== oid(8))) arriving.add(record);
    expect(arriving.settled).toBe(2);
    expect([...listed.values()].filter((u) => u.settled).map((u) => u.objectId)).toEqual([oid(2), oid(7)]);
    expect(arriving.rows.size).toBe(ROWS.length - 2);
    expect(arriving.rows.has(row(8).id)).toBe(true);
    expect(arriving.rows.has(row(2).id)).toBe(false);
  });

  it.each([
    ['all rows before the directory', ROWS.length],
    ['half before', 5],
    ['all rows after the directory', 0],
  ])('plans what the rows read whole would plan: %s', (_, before) => {
    const whole = new StoredAccess();
    for (const record of ROWS) whole.add(record);
    const expected = planOf(listing(), whole);

    const listed = listing();
    const arriving = new ArrivingAccess();
    ROWS.slice(0, before).forEach((record) => arriving.add(record));
    arriving.directoryRead(listed, DIR, GROUPS);
    ROWS.slice(before).forEach((record) => arriving.add(record));
    const plan = planOf(listed, arriving.rows);

    expect(plan).toEqual(expected);
    expect(identitiesNeeded(listed, arriving.rows)).toEqual(identitiesNeeded(listing(), whole));
    expect(arriving.rows.size + arriving.settled).toBe(ROWS.length);
    expect(plan.counts.unchanged).toBe(4); // 2, 7, 8 and the inactive non-member 11
  });
});
