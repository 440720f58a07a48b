import { generateSigningKey, type SigningKey } from './keys.js';
import {
  generatedUserId,
  isGuid,
  newGeneratedBlock,
  newGuid,
  parseGeneratedUserId,
  randomSecret,
} from './ids.js';
import type {
  ApplicationInfo,
  ApplicationSpec,
  DeviceInfo,
  DeviceSpec,
  DirectorySpec,
  FaultKind,
  GenerateUsersOptions,
  GeneratedUsers,
  GroupInfo,
  GroupSpec,
  IdTokenDefect,
  NextLinkFault,
  UserInfo,
  UserPatch,
  UserSpec,
} from './types.js';

export const DEFAULT_PASSWORD = 'Passw0rd!';
export const DEFAULT_REDIRECT_URI = 'http://localhost:7071/api/auth/callback';
/** The application permissions an app registration for the sync is granted, with admin consent. */
export const DEFAULT_GRAPH_PERMISSIONS: readonly string[] = ['GroupMember.Read.All', 'User.Read.All'];

/** Thrown by the model for admin misuse; the admin API answers it as 400/404. */
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

function slug(value: string): string {
  const s = value
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '');
  return s === '' ? 'user' : s;
}

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Listings kept for paging; each is an id array (100k members ≈ 7 MB), so only a few. */
const SNAPSHOT_LIMIT = 8;

export class Directory {
  readonly id: string;
  displayName: string;
  readonly domain: string;
  readonly applications = new Map<string, StoredApplication>();
  readonly users = new Map<string, StoredUser>();
  /** Lower-case userPrincipalName → id of stored users: keeps adding many users linear. */
  private readonly upns = new Map<string, string>();
  readonly groups = new Map<string, StoredGroup>();
  readonly devices = new Map<string, DeviceInfo>();
  readonly blocks = new Map<string, GeneratedBlock>();
  /** Generated users deleted from the directory. */
  readonly deletedGenerated = new Set<string>();
  faults: Faults = emptyFaults();
  nextIdTokenDefect: IdTokenDefect | undefined;
  /** Current key first; the previous one stays published after a rotation, as Entra does. */
  keys: SigningKey[] = [];
  private version = 0;
  private readonly snapshots = new Map<string, { version: number; groupId: string; ids: string[] }>();
  private snapshotCounter = 0;

  private constructor(spec: DirectorySpec) {
    const id = (spec.id ?? newGuid()).toLowerCase();
    if (!isGuid(id)) throw new DirectoryAdminError(400, `directory id '${id}' is not a GUID`);
    this.id = id;
    this.displayName = spec.displayName ?? `Dev directory ${id.slice(0, 8)}`;
    this.domain = (spec.domain ?? `${slug(this.displayName)}.onmicrosoft.com`).toLowerCase();
  }

  static async create(spec: DirectorySpec): Promise<Directory> {
    const directory = new Directory(spec);
    directory.keys = [await generateSigningKey()];
    const applications = spec.applications ?? [{}];
    for (const app of applications) directory.addApplication(app);
    for (const device of spec.devices ?? []) directory.addDevice(device);
    for (const user of spec.users ?? []) directory.addUser(user);
    // Groups first without members, so that members may name groups declared later (nesting).
    for (const group of spec.groups ?? []) directory.addGroup({ ...group, members: [] });
    for (const group of spec.groups ?? []) {
      const stored = directory.groupOrThrow(group.id ?? directory.groupIdByName(group.displayName));
      directory.addMembers(stored.id, group.members ?? []);
    }
    return directory;
  }

  private groupIdByName(displayName: string): string {
    for (const group of this.groups.values()) if (group.displayName === displayName) return group.id;
    throw new DirectoryAdminError(404, `no group '${displayName}'`);
  }

  private touch(): void {
    this.version += 1;
  }

  addApplication(spec: ApplicationSpec): ApplicationInfo {
    const clientId = (spec.clientId ?? newGuid()).toLowerCase();
    if (!isGuid(clientId)) throw new DirectoryAdminError(400, `clientId '${clientId}' is not a GUID`);
    if (this.applications.has(clientId)) throw new DirectoryAdminError(409, `application ${clientId} exists`);
    const app: StoredApplication = {
      clientId,
      clientSecret: spec.clientSecret ?? randomSecret(),
      displayName: spec.displayName ?? `Dev app ${clientId.slice(0, 8)}`,
      redirectUris: [...(spec.redirectUris ?? [DEFAULT_REDIRECT_URI])],
      clientSecretExpiresAt: spec.clientSecretExpiresAt ?? null,
      graphPermissions: [...(spec.graphPermissions ?? DEFAULT_GRAPH_PERMISSIONS)],
      servicePrincipalId: newGuid(),
    };
    this.applications.set(clientId, app);
    return applicationInfo(app);
  }

  updateApplication(clientId: string, patch: ApplicationSpec): ApplicationInfo {
    const app = this.applications.get(clientId.toLowerCase());
    if (app === undefined) throw new DirectoryAdminError(404, `no application ${clientId}`);
    if (patch.clientSecret !== undefined) {
      app.clientSecret = patch.clientSecret;
      // A new secret comes with its own lifetime.
      app.clientSecretExpiresAt = null;
    }
    if (patch.displayName !== undefined) app.displayName = patch.displayName;
    if (patch.redirectUris !== undefined) app.redirectUris = [...patch.redirectUris];
    if (patch.clientSecretExpiresAt !== undefined) app.clientSecretExpiresAt = patch.clientSecretExpiresAt;
    if (patch.graphPermissions !== undefined) app.graphPermissions = [...patch.graphPermissions];
    return applicationInfo(app);
  }

  addDevice(spec: DeviceSpec): DeviceInfo {
    const id = this.freshId(spec.id);
    const device = { id, displayName: spec.displayName };
    this.devices.set(id, device);
    this.touch();
    return device;
  }

  private freshId(requested: string | undefined): string {
    const id = (requested ?? newGuid()).toLowerCase();
    if (!isGuid(id)) throw new DirectoryAdminError(400, `id '${id}' is not a GUID`);
    if (this.object(id) !== undefined) throw new DirectoryAdminError(409, `object ${id} exists`);
    return id;
  }

  addUser(spec: UserSpec): UserInfo {
    const id = this.freshId(spec.id);
    const upn = spec.userPrincipalName ?? `${slug(spec.displayName)}@${this.domain}`;
    if (this.upns.has(upn.toLowerCase()) || this.generatedByLogin(upn.toLowerCase()) !== undefined) {
      throw new DirectoryAdminError(409, `userPrincipalName ${upn} exists`);
    }
    const user: StoredUser = {
      id,
      displayName: spec.displayName,
      givenName: spec.givenName ?? null,
      surname: spec.surname ?? null,
      // Members get a mailbox at their UPN by default; guests (#EXT#) have none unless given.
      mail: spec.mail === undefined ? (upn.includes('#EXT#') ? null : upn) : spec.mail,
      otherMails: [...(spec.otherMails ?? [])],
      userPrincipalName: upn,
      accountEnabled: spec.accountEnabled ?? true,
      password: spec.password ?? DEFAULT_PASSWORD,
      createdDateTime: now(),
    };
    this.users.set(id, user);
    this.upns.set(upn.toLowerCase(), id);
    this.touch();
    return userInfo(user);
  }

  updateUser(id: string, patch: UserPatch): UserInfo {
    const user = this.materialize(id);
    if (patch.displayName !== undefined) user.displayName = patch.displayName;
    if (patch.givenName !== undefined) user.givenName = patch.givenName;
    if (patch.surname !== undefined) user.surname = patch.surname;
    if (patch.mail !== undefined) user.mail = patch.mail;
    if (patch.otherMails !== undefined) user.otherMails = [...patch.otherMails];
    if (patch.userPrincipalName !== undefined) {
      const wanted = patch.userPrincipalName.toLowerCase();
      const holder = this.upns.get(wanted);
      if (holder !== undefined && holder !== user.id) {
        throw new DirectoryAdminError(409, `userPrincipalName ${patch.userPrincipalName} exists`);
      }
      this.upns.delete(user.userPrincipalName.toLowerCase());
      user.userPrincipalName = patch.userPrincipalName;
      this.upns.set(wanted, user.id);
    }
    if (patch.accountEnabled !== undefined) user.accountEnabled = patch.accountEnabled;
    if (patch.password !== undefined) user.password = patch.password;
    this.touch();
    return userInfo(user);
  }

  /** A generated user that is changed becomes a stored user with the same id. */
  private materialize(id: string): StoredUser {
    const key = id.toLowerCase();
    const stored = this.users.get(key);
    if (stored !== undefined) return stored;
    const generated = this.generatedUser(key);
    if (generated === undefined) throw new DirectoryAdminError(404, `no user ${id}`);
    this.users.set(key, generated);
    this.upns.set(generated.userPrincipalName.toLowerCase(), key);
    return generated;
  }

  removeUser(id: string): void {
    const key = id.toLowerCase();
    const user = this.user(key);
    if (user === undefined) throw new DirectoryAdminError(404, `no user ${id}`);
    this.upns.delete(user.userPrincipalName.toLowerCase());
    this.users.delete(key);
    if (this.generatedUser(key, true) !== undefined) this.deletedGenerated.add(key);
    for (const group of this.groups.values()) group.members.delete(key);
    this.touch();
  }

  user(id: string): StoredUser | undefined {
    const key = id.toLowerCase();
    return this.users.get(key) ?? this.generatedUser(key);
  }

  /** The generated user behind an id, computed on demand. */
  private generatedUser(id: string, ignoreDeleted = false): StoredUser | undefined {
    if (this.blocks.size === 0) return undefined;
    const parsed = parseGeneratedUserId(id);
    if (parsed === undefined) return undefined;
    const block = this.blocks.get(parsed.block);
    if (block === undefined || parsed.index >= block.count) return undefined;
    if (!ignoreDeleted && this.deletedGenerated.has(id)) return undefined;
    return generate(block, parsed.index, this.domain);
  }

  userByLogin(login: string): StoredUser | undefined {
    const wanted = login.trim().toLowerCase();
    const byUpn = this.upns.get(wanted);
    if (byUpn !== undefined) return this.users.get(byUpn);
    for (const user of this.users.values()) {
      if (user.mail?.toLowerCase() === wanted || user.otherMails.some((m) => m.toLowerCase() === wanted)) {
        return user;
      }
    }
    return this.generatedByLogin(wanted);
  }

  /** Generated users sign in as `${prefix}${n}@domain` (lower case). */
  private generatedByLogin(wanted: string): StoredUser | undefined {
    const match = /^(.+?)(\d+)@(.+)$/.exec(wanted);
    if (match !== null && match[3] === this.domain) {
      for (const block of this.blocks.values()) {
        if (slug(block.prefix) !== match[1]) continue;
        const index = Number(match[2]) - 1;
        if (index < 0 || index >= block.count) continue;
        const id = generatedUserId(block.block, index);
        if (this.users.has(id)) continue;
        const user = this.generatedUser(id);
        if (user !== undefined) return user;
      }
    }
    return undefined;
  }

  addGroup(spec: GroupSpec): GroupInfo {
    const id = this.freshId(spec.id);
    const group: StoredGroup = {
      id,
      displayName: spec.displayName,
      description: spec.description ?? null,
      createdDateTime: now(),
      members: new Set(),
      blocks: [],
    };
    this.groups.set(id, group);
    this.addMembers(id, spec.members ?? []);
    this.touch();
    return groupInfo(group);
  }

  updateGroup(id: string, patch: { displayName?: string; description?: string | null }): GroupInfo {
    const group = this.groupOrThrow(id);
    if (patch.displayName !== undefined) group.displayName = patch.displayName;
    if (patch.description !== undefined) group.description = patch.description;
    this.touch();
    return groupInfo(group);
  }

  removeGroup(id: string): void {
    const group = this.groupOrThrow(id);
    this.groups.delete(group.id);
    for (const block of group.blocks) this.blocks.delete(block.block);
    for (const other of this.groups.values()) other.members.delete(group.id);
    this.touch();
  }

  groupOrThrow(id: string): StoredGroup {
    const group = this.groups.get(id.toLowerCase());
    if (group === undefined) throw new DirectoryAdminError(404, `no group ${id}`);
    return group;
  }

  groupInfo(id: string): GroupInfo {
    return groupInfo(this.groupOrThrow(id));
  }

  private resolveMember(reference: string): string {
    const key = reference.toLowerCase();
    if (this.object(key) !== undefined) return key;
    const byLogin = this.userByLogin(reference);
    if (byLogin !== undefined) return byLogin.id;
    throw new DirectoryAdminError(404, `no user, group or device '${reference}'`);
  }

  addMembers(groupId: string, references: readonly string[]): GroupInfo {
    const group = this.groupOrThrow(groupId);
    for (const reference of references) {
      const id = this.resolveMember(reference);
      if (id === group.id) throw new DirectoryAdminError(400, 'a group cannot be a member of itself');
      const generated = this.blockMembership(group, id);
      if (generated !== undefined) generated.block.removedFromGroup.delete(generated.index);
      else group.members.add(id);
    }
    this.touch();
    return groupInfo(group);
  }

  removeMembers(groupId: string, references: readonly string[]): GroupInfo {
    const group = this.groupOrThrow(groupId);
    for (const reference of references) {
      const id = this.resolveMember(reference);
      group.members.delete(id);
      const generated = this.blockMembership(group, id);
      if (generated !== undefined) generated.block.removedFromGroup.add(generated.index);
    }
    this.touch();
    return groupInfo(group);
  }

  private blockMembership(
    group: StoredGroup,
    id: string,
  ): { block: GeneratedBlock; index: number } | undefined {
    const parsed = parseGeneratedUserId(id);
    if (parsed === undefined) return undefined;
    const block = group.blocks.find((b) => b.block === parsed.block);
    return block === undefined || parsed.index >= block.count ? undefined : { block, index: parsed.index };
  }

  generateUsers(groupId: string, count: number, options: GenerateUsersOptions = {}): GeneratedUsers {
    const group = this.groupOrThrow(groupId);
    if (!Number.isInteger(count) || count < 1 || count > 10_000_000) {
      throw new DirectoryAdminError(400, 'count must be an integer from 1 to 10,000,000');
    }
    const block: GeneratedBlock = {
      block: newGeneratedBlock(),
      count,
      prefix: options.prefix ?? 'User',
      disabledEvery: options.disabledEvery,
      groupId: group.id,
      removedFromGroup: new Set(),
    };
    this.blocks.set(block.block, block);
    group.blocks.push(block);
    this.touch();
    return {
      block: block.block,
      count,
      firstId: generatedUserId(block.block, 0),
      lastId: generatedUserId(block.block, count - 1),
    };
  }

  object(id: string): DirectoryObject | undefined {
    const key = id.toLowerCase();
    const user = this.user(key);
    if (user !== undefined) return { type: 'user', user };
    const group = this.groups.get(key);
    if (group !== undefined) return { type: 'group', group };
    const device = this.devices.get(key);
    if (device !== undefined) return { type: 'device', device };
    return undefined;
  }

  /**
   * Transitive members of a group, deduplicated, nested groups included (as Graph lists them).
   * Computed once per state version and kept as a snapshot, so that paging through 100k members
   * does not recompute them for every page and a listing stays consistent while it is paged.
   */
  transitiveMembers(groupId: string, snapshotId?: string): { snapshotId: string; ids: readonly string[] } {
    if (snapshotId !== undefined) {
      const snapshot = this.snapshots.get(snapshotId);
      if (snapshot !== undefined && snapshot.groupId === groupId) return { snapshotId, ids: snapshot.ids };
    }
    for (const [id, snapshot] of this.snapshots) {
      if (snapshot.groupId === groupId && snapshot.version === this.version)
        return { snapshotId: id, ids: snapshot.ids };
    }
    const ids: string[] = [];
    const seen = new Set<string>();
    const visited = new Set<string>();
    const visit = (group: StoredGroup): void => {
      visited.add(group.id);
      for (const member of group.members) {
        if (!seen.has(member)) {
          seen.add(member);
          ids.push(member);
        }
        const nested = this.groups.get(member);
        if (nested !== undefined && !visited.has(nested.id)) visit(nested);
      }
      for (const block of group.blocks) {
        for (let index = 0; index < block.count; index += 1) {
          if (block.removedFromGroup.has(index)) continue;
          const id = generatedUserId(block.block, index);
          if (seen.has(id) || this.deletedGenerated.has(id)) continue;
          seen.add(id);
          ids.push(id);
        }
      }
    };
    visit(this.groupOrThrow(groupId));
    const id = `${(this.snapshotCounter += 1).toString(36)}`;
    this.snapshots.set(id, { version: this.version, groupId, ids });
    if (this.snapshots.size > SNAPSHOT_LIMIT) {
      const oldest = this.snapshots.keys().next().value;
      if (oldest !== undefined) this.snapshots.delete(oldest);
    }
    return { snapshotId: id, ids };
  }

  directMembers(groupId: string): string[] {
    const group = this.groupOrThrow(groupId);
    const ids = [...group.members];
    for (const block of group.blocks) {
      for (let index = 0; index < block.count; index += 1) {
        const id = generatedUserId(block.block, index);
        if (!block.removedFromGroup.has(index) && !this.deletedGenerated.has(id)) ids.push(id);
      }
    }
    return ids;
  }

  async rotateKeys(): Promise<string> {
    const key = await generateSigningKey();
    this.keys = [key, ...this.keys].slice(0, 2);
    return key.kid;
  }
}

function generate(block: GeneratedBlock, index: number, domain: string): StoredUser {
  const n = index + 1;
  const login = `${slug(block.prefix)}${n}@${domain}`;
  return {
    id: generatedUserId(block.block, index),
    displayName: `${block.prefix} ${n}`,
    givenName: block.prefix,
    surname: String(n),
    mail: login,
    otherMails: [],
    userPrincipalName: login,
    accountEnabled: block.disabledEvery === undefined || n % block.disabledEvery !== 0,
    password: DEFAULT_PASSWORD,
    createdDateTime: '2026-01-01T00:00:00Z',
  };
}

export function applicationInfo(app: StoredApplication): ApplicationInfo {
  return {
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    displayName: app.displayName,
    redirectUris: [...app.redirectUris],
    clientSecretExpiresAt: app.clientSecretExpiresAt,
    graphPermissions: [...app.graphPermissions],
  };
}

export function userInfo(user: StoredUser): UserInfo {
  return {
    id: user.id,
    displayName: user.displayName,
    givenName: user.givenName,
    surname: user.surname,
    mail: user.mail,
    otherMails: [...user.otherMails],
    userPrincipalName: user.userPrincipalName,
    accountEnabled: user.accountEnabled,
    password: user.password,
  };
}

function groupInfo(group: StoredGroup): GroupInfo {
  return {
    id: group.id,
    displayName: group.displayName,
    description: group.description,
    members: [...group.members],
    generatedCount: group.blocks.reduce((sum, block) => sum + block.count - block.removedFromGroup.size, 0),
  };
}
