import { describe, expect, it } from 'vitest';
import {
  fromStoredListing,
  isFresh,
  listingDigest,
  toStoredListing,
  FULL_READ_EVERY_MS,
} from '../../shared/sync/applied-listing.js';
import { sharedList, type ListedUser } from '../../shared/sync/planner.js';

const DIR = '11111111-1111-1111-1111-111111111111';
const G1 = 'aaaaaaaa-0000-0000-0000-000000000001';
const G2 = 'aaaaaaaa-0000-0000-0000-000000000002';

function user(n: number, overrides: Partial<ListedUser> = {}): ListedUser {
  return {
    objectId: `00000000-0000-0000-0000-${String(n).padStart(12, '0')}`,
    userId: `10000000-0000-0000-0000-${String(n).padStart(12, '0')}`,
    displayName: `User ${n}`,
    email: `u${n}@example.com`,
    accountEnabled: true,
    groups: sharedList([G1]),
    ...overrides,
  };
}

function digestOf(users: ListedUser[], groupsToSync = [G1, G2], directoryId = DIR): string {
  return listingDigest(directoryId, groupsToSync, new Map(users.map((u) => [u.objectId, u])));
}

describe('listingDigest: what a listing makes of the active access', () => {
  const base = digestOf([user(1), user(2), user(3)]);

  it('does not depend on the order the pages listed the users in', () => {
    expect(digestOf([user(3), user(1), user(2)])).toBe(base);
  });

  it('nor on the order a user’s groups were listed in (access keeps the settings’ order)', () => {
    const a = digestOf([user(1, { groups: sharedList([G1, G2]) })]);
    expect(digestOf([user(1, { groups: sharedList([G2, G1]) })])).toBe(a);
  });

  it('nor on disabled accounts, which have no active access', () => {
    expect(digestOf([user(1), user(2), user(3), user(4, { accountEnabled: false })])).toBe(base);
  });

  it.each([
    ['a new member', [user(1), user(2), user(3), user(4)]],
    ['a member gone', [user(1), user(2)]],
    ['a member disabled', [user(1), user(2), user(3, { accountEnabled: false })]],
    ['a new name', [user(1), user(2, { displayName: 'Renamed' }), user(3)]],
    ['a new address', [user(1), user(2, { email: 'new@example.com' }), user(3)]],
    ['another group', [user(1), user(2, { groups: sharedList([G1, G2]) }), user(3)]],
    [
      'a name moved into the address',
      [user(1), user(2, { displayName: 'User 2u2@example.com', email: '' }), user(3)],
    ],
  ])('changes with %s', (_name, users) => {
    expect(digestOf(users)).not.toBe(base);
  });

  it('changes with the directory or the settings’ groups', () => {
    const users = [user(1), user(2), user(3)];
    expect(digestOf(users, [G1, G2], '22222222-2222-2222-2222-222222222222')).not.toBe(base);
    expect(digestOf(users, [G2, G1])).not.toBe(base);
    expect(digestOf(users, [G1])).not.toBe(base);
  });
});

describe('isFresh: a listing is trusted for a day after its last full read', () => {
  const checkedAt = '2026-11-28T10:00:00.000Z';
  it.each([
    [0, true],
    [FULL_READ_EVERY_MS - 1, true],
    [FULL_READ_EVERY_MS, false],
  ])('%i ms later: %s', (later, fresh) => {
    const now = new Date(Date.parse(checkedAt) + later);
    expect(isFresh({ digest: 'd', rows: 1, checkedAt }, now)).toBe(fresh);
  });

  it('an unreadable time is never fresh', () => {
    expect(isFresh({ digest: 'd', rows: 1, checkedAt: '' }, new Date())).toBe(false);
  });
});

describe('the listing as the lease row keeps it', () => {
  it('comes back as it was stored', () => {
    const applied = { digest: 'abc', rows: 100_000, checkedAt: '2026-11-28T10:00:00.000Z' };
    expect(fromStoredListing(toStoredListing(applied))).toEqual(applied);
  });

  it.each([
    ['nothing stored', ''],
    ['not JSON', '{digest'],
    ['not an object', '"abc"'],
    ['a field missing', '{"digest":"abc","rows":1}'],
    ['a field of another type', '{"digest":"abc","rows":"1","checkedAt":"x"}'],
  ])('is none when %s', (_name, text) => {
    expect(fromStoredListing(text)).toBeUndefined();
  });
});
