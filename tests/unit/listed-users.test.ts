import { describe, expect, it } from 'vitest';
import { IdIndex } from '../../shared/interning.js';
import {
  collectListedUsers,
  ListedUsers,
  type DirectoryUser,
  type ListedUser,
} from '../../shared/sync/planner.js';

const DIR = '11111111-1111-1111-1111-111111111111';
const G1 = 'aaaaaaaa-0000-0000-0000-000000000001';
const G2 = 'aaaaaaaa-0000-0000-0000-000000000002';

function guid(n: number): string {
  return `${n.toString(16).padStart(8, '0')}-abcd-4ef0-8123-${String(n).padStart(12, '0')}`;
}

function dirUser(objectId: string, n: number, enabled = true): DirectoryUser {
  return { objectId, displayName: `User ${n}`, email: `u${n}@example.com`, accountEnabled: enabled };
}

describe('IdIndex: ids kept as bytes, found by value', () => {
  it.each([
    ['a lower-case GUID', guid(7)],
    ['an upper-case GUID (not canonical: kept as a string)', guid(7).toUpperCase()],
    ['a GUID without dashes', guid(7).replaceAll('-', '')],
    ['any other id', 'user@example.com'],
    ['an empty id', ''],
  ])('%s comes back equal', (_name, id) => {
    const index = new IdIndex();
    const position = index.intern(id);
    expect(index.at(position)).toBe(id);
    expect(index.find(id)).toBe(position);
    expect(index.intern(id)).toBe(position);
  });

  it('finds each of many ids (through every growth of its table) and nothing else', () => {
    const index = new IdIndex();
    const ids = Array.from({ length: 5000 }, (_, i) => (i % 100 === 0 ? `other-${i}` : guid(i)));
    ids.forEach((id, i) => expect(index.intern(id)).toBe(i));
    ids.forEach((id, i) => expect([index.find(id), index.at(i)]).toEqual([i, id]));
    expect(index.find(guid(5001))).toBeUndefined();
    expect(index.find('other-5001')).toBeUndefined();
    expect(index.size).toBe(5000);
  });
});

describe('ListedUsers: the compact set holds what a map of objects holds', () => {
  const pages: [string, DirectoryUser[]][] = [
    [G1, [dirUser(guid(1), 1), dirUser(guid(2), 2, false), dirUser('not-a-guid', 3)]],
    [G2, [dirUser(guid(2).toUpperCase(), 2, false), dirUser(guid(4), 4)]],
    [G2, [dirUser(guid(1), 1)]],
  ];

  it('folds the same pages into the same users, in the same order', () => {
    const map = new Map<string, ListedUser>();
    const compact = new ListedUsers();
    for (const [group, users] of pages) {
      collectListedUsers(map, DIR, group, users);
      collectListedUsers(compact, DIR, group, users);
    }
    expect([...compact.values()]).toEqual([...map.values()]);
    expect([...compact.keys()]).toEqual([...map.keys()]);
    expect(compact.size).toBe(4);
    expect(compact.get(guid(1))?.groups).toEqual([G1, G2]);
    expect(compact.get(guid(2))).toMatchObject({ accountEnabled: false, groups: [G1, G2] });
    expect(compact.has(guid(3))).toBe(false);
    expect(compact.get(guid(3))).toBeUndefined();
  });

  it('forgets every user when cleared', () => {
    const compact = collectListedUsers(new ListedUsers(), DIR, G1, [dirUser(guid(1), 1)]);
    compact.clear();
    expect(compact.size).toBe(0);
    expect(compact.get(guid(1))).toBeUndefined();
  });
});
