import {
  odata,
  RestError,
  type TableClient,
  type TableEntity,
  type TransactionAction,
} from '@azure/data-tables';
import { AppError } from '../errors.js';
import { storage } from '../storage/account.js';
import { userIdOf } from './identity.js';

/**
 * Users and their access to environments (contract §3.5, §7). See docs/storage.md.
 *
 * - `users`: one row per identity, PartitionKey = `directoryId~<first hex digit of its userId>`,
 *   RowKey = objectId. The key IS the identity, and the user id is a function of it (`userIdOf`), so
 *   an identity can never have two users, whatever crashes or concurrent runs happen (rule 2).
 * - `useraccess`: one row per (environment, user), PartitionKey = `environmentId~<first hex digit
 *   of userId>`, RowKey = userId. It repeats the identity, name and email so that listing an
 *   environment's users and planning a sync read one key range and nothing else.
 *
 * Each directory and each environment spans 16 partitions: a transaction still holds 100 rows of
 * one partition, but a large sync is no longer capped by one partition's throughput, and the range
 * query over the 16 keeps user-id order (the bucket is the id's first digit).
 */
export const USERS_TABLE = 'users';
export const ACCESS_TABLE = 'useraccess';

export type DeactivationReason = 'removed-from-group' | 'group-removed' | 'account-disabled';

/** A user as the management API shows it (contract §3.5). */
export interface EnvironmentUser {
  readonly id: string;
  readonly source: 'external';
  readonly directoryId: string;
  readonly objectId: string;
  readonly displayName: string;
  readonly email: string;
  readonly active: boolean;
  readonly menus: string[];
  readonly groups: string[];
  readonly deactivatedAt?: string;
  readonly deactivationReason?: DeactivationReason;
}

/** The directory-wide part of a user. */
export interface Identity {
  readonly userId: string;
  readonly objectId: string;
  readonly displayName: string;
  readonly email: string;
}

/**
 * What the sync writes to an access row (merged into it). `menus` is given only when access is
 * created or granted: a merge without it keeps the menus an administrator chose (rule 5).
 */
export interface AccessPatch {
  readonly userId: string;
  readonly directoryId: string;
  readonly objectId: string;
  readonly displayName: string;
  readonly email: string;
  readonly active: boolean;
  readonly groups: readonly string[];
  readonly menus?: readonly string[];
  /** `undefined` clears the deactivation (the row keeps an empty string). */
  readonly deactivatedAt?: string;
  readonly deactivationReason?: DeactivationReason;
}

interface UserEntity extends TableEntity {
  userId: string;
  displayName: string;
  email: string;
}

interface AccessEntity extends TableEntity {
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

const DEACTIVATION_REASONS: readonly string[] = ['removed-from-group', 'group-removed', 'account-disabled'];

const BUCKET = '~';

/** The partition of an environment's access row for a user. */
export function accessPartitionOf(environmentId: string, userId: string): string {
  return `${environmentId}${BUCKET}${userId.charAt(0).toLowerCase()}`;
}

/**
 * The partition of an identity's row: bucketed by the first digit of the user id (a hash), not of
 * the objectId, so that ids sharing a prefix still spread evenly.
 */
export function userPartitionOf(directoryId: string, objectId: string): string {
  return `${directoryId.toLowerCase()}${BUCKET}${userIdOf(directoryId, objectId).charAt(0)}`;
}

/** Every partition of an environment or a directory: `<prefix>~` < key < `<prefix>~~`. */
function bucketsOf(prefix: string): string {
  return odata`PartitionKey gt ${prefix + BUCKET} and PartitionKey lt ${prefix + BUCKET + BUCKET}`;
}

export function statusOf(error: unknown): number | undefined {
  return error instanceof RestError ? error.statusCode : undefined;
}

export function storageError(message: string, error: unknown): AppError {
  if (error instanceof AppError) return error;
  return new AppError('storage-unavailable', message, { cause: error });
}

export async function usersTable(): Promise<TableClient> {
  return storage().table(USERS_TABLE);
}

export async function accessTable(): Promise<TableClient> {
  return storage().table(ACCESS_TABLE);
}

/**
 * Menus and groups repeat across thousands of rows: a sync holding an environment's 100,000 rows
 * keeps one parsed array per distinct JSON text. Callers get a copy they may change.
 */
const parsedLists = new Map<string, readonly string[]>();

function sharedParsedList(value: string): readonly string[] {
  let list = parsedLists.get(value);
  if (list === undefined) {
    const parsed: unknown = JSON.parse(value);
    list = Object.freeze(
      Array.isArray(parsed) ? parsed.filter((item): item is string => typeof item === 'string') : [],
    );
    if (parsedLists.size > 10_000) parsedLists.clear();
    parsedLists.set(value, list);
  }
  return list;
}

function parseList(value: unknown): string[] {
  if (typeof value !== 'string' || value === '') return [];
  return [...sharedParsedList(value)];
}

function parseSharedList(value: unknown): readonly string[] {
  if (typeof value !== 'string' || value === '') return [];
  return sharedParsedList(value);
}

const directoryIds = new Map<string, string>();

function internDirectoryId(value: string): string {
  let shared = directoryIds.get(value);
  if (shared === undefined) {
    if (directoryIds.size > 10_000) directoryIds.clear();
    directoryIds.set(value, (shared = value));
  }
  return shared;
}

export function fromAccessEntity(
  entity: Partial<AccessEntity>,
  lists: (value: unknown) => readonly string[] = parseList,
): EnvironmentUser {
  const reason = entity.deactivationReason;
  const deactivated = entity.active !== true;
  return {
    id: entity.rowKey ?? '',
    source: 'external',
    // One string per directory, not one per row (a sync may hold 100,000 rows).
    directoryId: internDirectoryId(entity.directoryId ?? ''),
    objectId: entity.objectId ?? '',
    displayName: entity.displayName ?? '',
    email: entity.email ?? '',
    active: !deactivated,
    menus: lists(entity.menus) as string[],
    groups: lists(entity.groups) as string[],
    ...(deactivated && entity.deactivatedAt ? { deactivatedAt: entity.deactivatedAt } : {}),
    ...(deactivated && reason && DEACTIVATION_REASONS.includes(reason)
      ? { deactivationReason: reason as DeactivationReason }
      : {}),
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
    partitionKey: userPartitionOf(directoryId, identity.objectId),
    rowKey: identity.objectId,
    userId: identity.userId,
    displayName: identity.displayName,
    email: identity.email,
  };
}

function fromUserEntity(entity: Partial<UserEntity>): Identity {
  return {
    userId: entity.userId ?? '',
    objectId: entity.rowKey ?? '',
    displayName: entity.displayName ?? '',
    email: entity.email ?? '',
  };
}

/** The user of an identity (sign-in finds users by (tid, oid), never by email). */
export async function findUserByIdentity(
  directoryId: string,
  objectId: string,
): Promise<{ id: string; displayName: string; email: string } | undefined> {
  const client = await usersTable();
  try {
    const entity = await client.getEntity<UserEntity>(
      userPartitionOf(directoryId, objectId),
      objectId.toLowerCase(),
    );
    return { id: entity.userId, displayName: entity.displayName, email: entity.email };
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw storageError('Users could not be read.', error);
  }
}

export async function getEnvironmentUser(
  environmentId: string,
  userId: string,
): Promise<EnvironmentUser | undefined> {
  const client = await accessTable();
  try {
    return fromAccessEntity(
      await client.getEntity<AccessEntity>(accessPartitionOf(environmentId, userId), userId),
    );
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw storageError('Users could not be read.', error);
  }
}

/** Users of the environment with active access whose email is `email` (case-insensitive). */
export async function findActiveUsersByEmail(
  environmentId: string,
  email: string,
): Promise<EnvironmentUser[]> {
  const client = await accessTable();
  const found: EnvironmentUser[] = [];
  const wanted = email.trim().toLowerCase();
  if (wanted === '') return found;
  try {
    const entities = client.listEntities<AccessEntity>({
      queryOptions: {
        filter: `${bucketsOf(environmentId)} and ${odata`emailLower eq ${wanted} and active eq true`}`,
      },
    });
    for await (const entity of entities) found.push(fromAccessEntity(entity));
  } catch (error) {
    throw storageError('Users could not be read.', error);
  }
  return found;
}

export interface UserPage {
  readonly users: EnvironmentUser[];
  readonly continuationToken?: string;
}

interface TablesContinuation {
  nextPartitionKey?: string;
  nextRowKey?: string;
}

function encodeContinuation(token: string): string {
  return Buffer.from(token, 'utf8').toString('base64url');
}

function decodeContinuation(token: string): string {
  const decoded = Buffer.from(token, 'base64url').toString('utf8');
  // The SDK's token is itself base64 of JSON; anything else was not issued by us.
  try {
    const parsed = JSON.parse(Buffer.from(decoded, 'base64').toString('utf8')) as TablesContinuation;
    if (typeof parsed !== 'object' || parsed === null || typeof parsed.nextPartitionKey !== 'string') {
      throw new TypeError('not a continuation token');
    }
  } catch (error) {
    throw new AppError('validation', 'The continuation token is not valid.', {
      fields: { continuationToken: 'is not valid' },
      cause: error,
    });
  }
  return decoded;
}

/** One page of an environment's users, in user id order. */
export async function listEnvironmentUsers(
  environmentId: string,
  options: { continuationToken?: string; pageSize?: number } = {},
): Promise<UserPage> {
  const client = await accessTable();
  const continuationToken =
    options.continuationToken === undefined ? undefined : decodeContinuation(options.continuationToken);
  try {
    const pages = client
      .listEntities<AccessEntity>({ queryOptions: { filter: bucketsOf(environmentId) } })
      .byPage({ maxPageSize: options.pageSize ?? 100, ...(continuationToken ? { continuationToken } : {}) });
    const page = await pages.next();
    if (page.done === true) return { users: [] };
    const users = page.value.map((entity) => fromAccessEntity(entity));
    const next = page.value.continuationToken;
    return next ? { users, continuationToken: encodeContinuation(next) } : { users };
  } catch (error) {
    throw storageError('Users could not be listed.', error);
  }
}

const BUCKETS = '0123456789abcdef'.split('');

/**
 * Runs `query` for each of the 16 partitions of `prefix`, a few at a time. Per-partition queries are
 * served by each partition's own server in Azure (a range query walks them one after another), and
 * Azurite answers a partition query from its index instead of filtering the whole table per page.
 */
async function eachBucket(prefix: string, query: (partitionKey: string) => Promise<void>): Promise<void> {
  const queue = BUCKETS.map((bucket) => `${prefix}${BUCKET}${bucket}`);
  const worker = async (): Promise<void> => {
    for (let partition = queue.shift(); partition !== undefined; partition = queue.shift()) {
      await query(partition);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
}

/** Every access row of an environment (the sync's view of it), in no particular order. */
export async function forEachAccessRow(
  environmentId: string,
  visit: (user: EnvironmentUser) => void,
): Promise<void> {
  const client = await accessTable();
  try {
    await eachBucket(environmentId, async (partitionKey) => {
      const entities = client.listEntities<AccessEntity>({
        queryOptions: { filter: odata`PartitionKey eq ${partitionKey}` },
      });
      // Read-only use: rows share their (frozen) lists.
      for await (const entity of entities) visit(fromAccessEntity(entity, parseSharedList));
    });
  } catch (error) {
    throw storageError('Users could not be read.', error);
  }
}

/**
 * Sets the menus of a user's access here (the only thing an administrator may change).
 * Optimistic concurrency: a sync that writes the row meanwhile never loses the change.
 */
export async function setUserMenus(
  environmentId: string,
  userId: string,
  menus: readonly string[],
): Promise<EnvironmentUser | undefined> {
  const client = await accessTable();
  for (let attempt = 0; attempt < 5; attempt++) {
    let etag: string;
    try {
      etag = (await client.getEntity<AccessEntity>(accessPartitionOf(environmentId, userId), userId)).etag;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw storageError('Users could not be read.', error);
    }
    try {
      await client.updateEntity(
        {
          partitionKey: accessPartitionOf(environmentId, userId),
          rowKey: userId,
          menus: JSON.stringify(menus),
        },
        'Merge',
        { etag },
      );
    } catch (error) {
      if (statusOf(error) === 412) continue;
      if (statusOf(error) === 404) return undefined;
      throw storageError('The user could not be stored.', error);
    }
    return getEnvironmentUser(environmentId, userId);
  }
  throw new AppError('conflict', 'The user was changed concurrently; try again.');
}

/**
 * The stored identities among `objectIds` of a directory. Up to 2,000 are read point by point, 8 at
 * a time; more by one scan of the directory's partitions.
 */
export async function readIdentities(
  directoryId: string,
  objectIds: readonly string[],
): Promise<Map<string, Identity>> {
  const client = await usersTable();
  const found = new Map<string, Identity>();
  if (objectIds.length === 0) return found;
  try {
    // A point read costs one request per identity, a scan one per 1,000 rows of the directory
    // (which may hold many more users than the run needs, all of them parsed): scan only when
    // the identities needed are many, as in an initial sync.
    if (objectIds.length > 2000) {
      const wanted = new Set(objectIds);
      const entities = client.listEntities<UserEntity>({
        queryOptions: {
          filter: bucketsOf(directoryId),
          select: ['RowKey', 'userId', 'displayName', 'email'],
        },
      });
      for await (const entity of entities) {
        if (wanted.has(entity.rowKey)) found.set(entity.rowKey, fromUserEntity(entity));
      }
      return found;
    }
    const queue = [...objectIds];
    const worker = async (): Promise<void> => {
      for (let objectId = queue.pop(); objectId !== undefined; objectId = queue.pop()) {
        try {
          const entity = await client.getEntity<UserEntity>(userPartitionOf(directoryId, objectId), objectId);
          found.set(objectId, fromUserEntity(entity));
        } catch (error) {
          if (statusOf(error) !== 404) throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  } catch (error) {
    throw storageError('Users could not be read.', error);
  }
  return found;
}

/** One transaction of ≤ 100 user rows of one partition of a directory (upserts: reruns converge). */
export async function writeUserBatch(directoryId: string, identities: readonly Identity[]): Promise<void> {
  if (identities.length === 0) return;
  const client = await usersTable();
  const actions: TransactionAction[] = identities.map((identity) => [
    'upsert',
    toUserEntity(directoryId, identity),
    'Merge',
  ]);
  try {
    await client.submitTransaction(actions);
  } catch (error) {
    throw storageError('Users could not be stored.', error);
  }
}

/** One transaction of ≤ 100 access rows of one partition (merge: menus survive unless given). */
export async function writeAccessBatch(
  environmentId: string,
  patches: readonly AccessPatch[],
): Promise<void> {
  if (patches.length === 0) return;
  const client = await accessTable();
  const actions: TransactionAction[] = patches.map((patch) => [
    'upsert',
    toAccessEntity(environmentId, patch),
    'Merge',
  ]);
  try {
    await client.submitTransaction(actions);
  } catch (error) {
    throw storageError('Access could not be stored.', error);
  }
}

export { userIdOf };
