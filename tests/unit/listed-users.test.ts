import { describe, expect, it } from 'vitest';
import { IdColumn, IdIndex } from '../../shared/interning.js';
import {
  collectListedUsers,
  ListedUsers,
  type DirectoryUser,
  sharedList,
  type ListedUser,
} from '../../shared/sync/planner.js';
import { StoredAccess } from '../../shared/sync/stored-access.js';
import type { AccessRecord } from '../../shared/users/model.js';

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
    ['a GUID with a digit that is not hex', `${guid(7).slice(0, 35)}g`],
    ['a GUID with a dash out of place', `${guid(7).slice(0, 8)}${guid(7).slice(9, 10)}-${guid(7).slice(10)}`],
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

describe('IdColumn: replacing an id', () => {
  it.each([
    ['a GUID by another', guid(1), guid(2)],
    ['a GUID by another id', guid(1), 'other'],
    ['another id by a GUID', 'other', guid(2)],
  ])('%s', (_name, before, after) => {
    const column = new IdColumn();
    column.push(guid(9));
    const position = column.push(before);
    column.replace(position, after);
    expect([column.at(0), column.at(position)]).toEqual([guid(9), after]);
    expect(() => column.replace(5, after)).toThrow(RangeError);
  });
});

describe('StoredAccess: the compact access rows hold what a map of records holds', () => {
  const OTHER_DIR = '22222222-2222-2222-2222-222222222222';
  const record = (n: number, overrides: Partial<AccessRecord> = {}): AccessRecord => ({
    id: guid(n),
    directoryId: DIR,
    objectId: guid(100 + n),
    displayName: `User ${n}`,
    email: `u${n}@example.com`,
    active: true,
    groups: sharedList([G1]),
    ...overrides,
  });
  const rows = [
    record(1),
    record(2, { active: false, groups: sharedList([]) }),
    record(3, { id: 'not-a-guid', objectId: 'also-not-a-guid', directoryId: OTHER_DIR }),
    record(4, { groups: sharedList([G1, G2]), email: '' }),
  ];

  it('gives back every row by user id, in the order added', () => {
    const compact = new StoredAccess();
    for (const row of rows) compact.add(row);
    const map = new Map(rows.map((row) => [row.id, row]));
    expect([...compact.values()]).toEqual([...map.values()]);
    expect([...compact.keys()]).toEqual([...map.keys()]);
    expect([...compact]).toEqual([...map]);
    expect(compact.size).toBe(4);
    expect(compact.get('not-a-guid')).toEqual(rows[2]);
    expect(compact.has(guid(5))).toBe(false);
    expect(compact.get(guid(5))).toBeUndefined();
  });

  it('replaces the row of a user id added again', () => {
    const compact = new StoredAccess().add(record(1)).add(record(2));
    const changed = record(1, { objectId: 'changed', displayName: 'Renamed', active: false });
    compact.add(changed);
    expect(compact.size).toBe(2);
    expect(compact.get(guid(1))).toEqual(changed);
    expect(compact.get(guid(2))).toEqual(record(2));
  });

  it('forgets every row when cleared', () => {
    const compact = new StoredAccess().add(record(1));
    compact.clear();
    expect(compact.size).toBe(0);
    expect(compact.get(guid(1))).toBeUndefined();
  });
});
