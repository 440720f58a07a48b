import { InterningCache } from '../interning.js';
import type { QueriedRow } from '../storage/query.js';
import { bucketPartition } from '../storage/partitions.js';
import { userIdOf } from './identity.js';
import {
  DEACTIVATION_REASONS,
  type AccessPatch,
  type AccessRecord,
  type DeactivationReason,
  type EnvironmentUser,
  type Identity,
} from './model.js';

/**
 * How users are stored (docs/storage.md), and the mappers between rows and the model.
 *
 * - `users`: one row per identity, PartitionKey = `directoryId~<first hex digit of its userId>`,
 *   RowKey = objectId. The key IS the identity, and the user id is a function of it (`userIdOf`), so
 *   an identity can never have two users, whatever crashes or concurrent runs happen
 *   (docs/sync-rules.md, "One user per identity").
 * - `useraccess`: one row per (environment, user), PartitionKey = `environmentId~<first hex digit
 *   of userId>`, RowKey = userId. It repeats the identity, name and email so that listing an
 *   environment's users and planning a sync read one key range and nothing else.
 */
export const USERS_TABLE = 'users';
export const ACCESS_TABLE = 'useraccess';

/** Only strings and booleans, so that transactions can write rows without type annotations. */
export interface UserEntity {
  partitionKey: string;
  rowKey: string;
  userId: string;
  displayName: string;
  email: string;
}

export interface AccessEntity {
  partitionKey: string;
  rowKey: string;
  directoryId: string;
  objectId: string;
  displayName: string;
  email: string;
  /** For case-insensitive look-ups by address (password reset). */
  emailLower: string;
  active: boolean;
  menus?: string;
  groups: string;
  /** '' while active: a merge cannot remove a property. */
  deactivatedAt: string;
  deactivationReason: string;
}

/** The partition of an environment's access row for a user. */
export function accessPartitionOf(environmentId: string, userId: string): string {
  return bucketPartition(environmentId, userId);
}

/**
 * The partition of an identity's row: bucketed by the first digit of the user id (a hash), not of
 * the objectId, so that ids sharing a prefix still spread evenly.
 */
export function userPartitionOf(directoryId: string, objectId: string): string {
  return userPartitionOfId(directoryId, userIdOf(directoryId, objectId));
}

/** The same partition, from the identity's user id where it is known (no second hash). */
export function userPartitionOfId(directoryId: string, userId: string): string {
  return bucketPartition(directoryId.toLowerCase(), userId);
}

/**
 * Menus and groups repeat across thousands of rows: a sync holding an environment's 100,000 rows
 * keeps one parsed array per distinct JSON text.
 */
const parsedLists = new InterningCache<readonly string[]>();
/** One string per directory, not one per row (a sync may hold 100,000 rows). */
const directoryIds = new InterningCache<string>();

function parseStringList(json: string): readonly string[] {
  const parsed: unknown = JSON.parse(json);
  return Object.freeze(
    Array.isArray(parsed) ? parsed.filter((item): item is string => typeof item === 'string') : [],
  );
}

/** A stored JSON list, shared and frozen: for read-only use (the sync's view of access). */
function sharedStoredList(value: unknown): readonly string[] {
  if (typeof value !== 'string' || value === '') return [];
  return parsedLists.get(value, parseStringList);
}

/** A stored JSON list as a copy the caller may change. */
export function storedList(value: unknown): string[] {
  return [...sharedStoredList(value)];
}

function isDeactivationReason(value: string | undefined): value is DeactivationReason {
  return (DEACTIVATION_REASONS as readonly (string | undefined)[]).includes(value);
}

export function fromAccessEntity(entity: Partial<AccessEntity>): EnvironmentUser {
  const reason = entity.deactivationReason;
  const deactivated = entity.active !== true;
  // One fixed-shape literal for the many active rows a sync holds (a spread makes V8 build a far
  // larger object); only deactivated ones, the few, add their optional members.
  const user: EnvironmentUser = {
    id: entity.rowKey ?? '',
    source: 'external',
    directoryId: directoryIds.get(entity.directoryId ?? '', (id) => id),
    objectId: entity.objectId ?? '',
    displayName: entity.displayName ?? '',
    email: entity.email ?? '',
    active: !deactivated,
    menus: storedList(entity.menus),
    groups: storedList(entity.groups),
  };
  if (!deactivated) return user;
  return {
    ...user,
    ...(entity.deactivatedAt ? { deactivatedAt: entity.deactivatedAt } : {}),
    ...(isDeactivationReason(reason) ? { deactivationReason: reason } : {}),
  };
}

/** The columns of an access row a sync reads (see `fromAccessRecordRow`). */
export const ACCESS_RECORD_COLUMNS = [
  'RowKey',
  'directoryId',
  'objectId',
  'displayName',
  'email',
  'active',
  'groups',
] as const;

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** An access row read with `ACCESS_RECORD_COLUMNS`, as the sync sees it (lists shared, frozen). */
export function fromAccessRecordRow(row: QueriedRow): AccessRecord {
  return {
    id: text(row.RowKey),
    directoryId: directoryIds.get(text(row.directoryId), (id) => id),
    objectId: text(row.objectId),
    displayName: text(row.displayName),
    email: text(row.email),
    active: row.active === true,
    groups: sharedStoredList(row.groups),
  };
}

export function toAccessEntity(environmentId: string, patch: AccessPatch): AccessEntity {
  return {
    partitionKey: accessPartitionOf(environmentId, patch.userId),
    rowKey: patch.userId,
    directoryId: patch.directoryId,
    objectId: patch.objectId,
    displayName: patch.displayName,
    email: patch.email,
    emailLower: patch.email.toLowerCase(),
    active: patch.active,
    ...(patch.menus === undefined ? {} : { menus: JSON.stringify(patch.menus) }),
    groups: JSON.stringify(patch.groups),
    deactivatedAt: patch.active ? '' : (patch.deactivatedAt ?? ''),
    deactivationReason: patch.active ? '' : (patch.deactivationReason ?? ''),
  };
}

export function toUserEntity(directoryId: string, identity: Identity): UserEntity {
  return {
    partitionKey: userPartitionOfId(directoryId, identity.userId),
    rowKey: identity.objectId,
    userId: identity.userId,
    displayName: identity.displayName,
    email: identity.email,
  };
}

export function fromUserEntity(entity: Partial<UserEntity>): Identity {
  return {
    userId: entity.userId ?? '',
    objectId: entity.rowKey ?? '',
    displayName: entity.displayName ?? '',
    email: entity.email ?? '',
  };
}
