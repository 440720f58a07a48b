import type { DirectoryUser } from '../../shared/sync/planner.js';

/** Fixed ids and times the planner's unit tests share (any values would do; these read well). */
export const DIR = '11111111-1111-1111-1111-111111111111';
export const OTHER_DIR = '22222222-2222-2222-2222-222222222222';
export const G1 = 'aaaaaaaa-0000-0000-0000-000000000001';
export const G2 = 'aaaaaaaa-0000-0000-0000-000000000002';
export const G3 = 'aaaaaaaa-0000-0000-0000-000000000003';
export const NOW = new Date('2026-11-28T10:00:00.000Z');

/** The object id of directory user n. */
export function oid(n: number): string {
  return `00000000-0000-0000-0000-${String(n).padStart(12, '0')}`;
}

/** Directory user n as the tests' directory lists it, with `overrides`. */
export function dirUser(n: number, overrides: Partial<DirectoryUser> = {}): DirectoryUser {
  return {
    objectId: oid(n),
    displayName: `User ${n}`,
    email: `u${n}@example.com`,
    accountEnabled: true,
    ...overrides,
  };
}
