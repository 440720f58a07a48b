import type { ApplicationInfo, DeviceInfo, FaultKind, GroupInfo, NextLinkFault, UserInfo } from './types.js';

export const DEFAULT_PASSWORD = 'Passw0rd!';
export const DEFAULT_REDIRECT_URI = 'http://localhost:7071/api/auth/callback';
/** The application permissions an app registration for the sync is granted, with admin consent. */
export const DEFAULT_GRAPH_PERMISSIONS: readonly string[] = ['GroupMember.Read.All', 'User.Read.All'];

/** Thrown by the directory model for admin misuse; the admin API answers it as 400/404. */
export class DirectoryAdminError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
    this.name = 'DirectoryAdminError';
  }
}

export interface StoredUser {
  id: string;
  displayName: string;
  givenName: string | null;
  surname: string | null;
  mail: string | null;
  otherMails: string[];
  userPrincipalName: string;
  accountEnabled: boolean;
  password: string;
  createdDateTime: string;
}

export interface StoredGroup {
  id: string;
  displayName: string;
  description: string | null;
  createdDateTime: string;
  /** Direct members: ids of users, groups and devices, in insertion order. */
  members: Set<string>;
  /** Blocks of generated users that are direct members of this group. */
  blocks: GeneratedBlock[];
}

/** Users that exist only as a formula until one of them is changed (then it is stored as a StoredUser). */
export interface GeneratedBlock {
  block: string;
  count: number;
  prefix: string;
  disabledEvery: number | undefined;
  groupId: string;
  /** Indexes removed from the block's group. */
  removedFromGroup: Set<number>;
}

export interface StoredApplication {
  clientId: string;
  clientSecret: string;
  displayName: string;
  redirectUris: string[];
  clientSecretExpiresAt: string | null;
  graphPermissions: string[];
  /** Object id of the service principal: the `oid`/`sub` of app-only tokens. */
  servicePrincipalId: string;
}

export type DirectoryObject =
  | { readonly type: 'user'; readonly user: StoredUser }
  | { readonly type: 'group'; readonly group: StoredGroup }
  | { readonly type: 'device'; readonly device: DeviceInfo };

interface CountedFault {
  remaining: number;
  readonly kinds: readonly FaultKind[];
}

export interface Faults {
  throttle: (CountedFault & { readonly retryAfterSeconds: number | null }) | undefined;
  fail:
    | (CountedFault & { readonly status: 500 | 503 | 504; readonly retryAfterSeconds: number | null })
    | undefined;
  slow:
    | {
        readonly delayMs: number;
        remaining: number | undefined;
        readonly kinds: readonly FaultKind[];
        readonly stall: 'headers' | 'body';
      }
    | undefined;
  failedGroups: Map<string, 403 | 404>;
  pageCap: number | undefined;
  nextLink: NextLinkFault | undefined;
}

export function emptyFaults(): Faults {
  return {
    throttle: undefined,
    fail: undefined,
    slow: undefined,
    failedGroups: new Map(),
    pageCap: undefined,
    nextLink: undefined,
  };
}

export function slug(value: string): string {
  const s = value
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '');
  return s === '' ? 'user' : s;
}

export function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** What the admin API shows of a stored record: a copy (never shared state) without an internal field. */
function shownWithout<T extends object, K extends keyof T>(record: T, internal: K): Omit<T, K> {
  const copy: Partial<T> = structuredClone(record);
  delete copy[internal];
  return copy as Omit<T, K>;
}

export function applicationInfo(app: StoredApplication): ApplicationInfo {
  return shownWithout(app, 'servicePrincipalId');
}

export function userInfo(user: StoredUser): UserInfo {
  return shownWithout(user, 'createdDateTime');
}

export function groupInfo(group: StoredGroup): GroupInfo {
  return {
    id: group.id,
    displayName: group.displayName,
    description: group.description,
    members: [...group.members],
    generatedCount: group.blocks.reduce((sum, block) => sum + block.count - block.removedFromGroup.size, 0),
  };
}
