import { Applications } from './applications.js';
import { generateSigningKey, type SigningKey } from './keys.js';
import { blockMembership, generatedIdsForLogin, generatedUserById, newBlock } from './generated.js';
import { generatedUserId, isGuid, newGuid } from './ids.js';
import { StoredUsers } from './users.js';
import { MemberSnapshots, directMemberIds, transitiveMemberIds, type MemberListing } from './members.js';
import {
  DirectoryAdminError,
  emptyFaults,
  groupInfo,
  DEFAULT_PASSWORD,
  now,
  slug,
  userInfo,
  type DirectoryObject,
  type Faults,
  type GeneratedBlock,
  type StoredGroup,
  type StoredUser,
} from './records.js';
import type {
  ApplicationInfo,
  ApplicationSpec,
  DeviceInfo,
  DeviceSpec,
  DirectorySpec,
  GenerateUsersOptions,
  GeneratedUsers,
  GroupInfo,
  GroupSpec,
  IdTokenDefect,
  UserInfo,
  UserPatch,
  UserSpec,
} from './types.js';

export class Directory {
  readonly id: string;
  displayName: string;
  readonly domain: string;
  readonly applications = new Applications();
  readonly users = new StoredUsers();
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
  private readonly snapshots = new MemberSnapshots();
  private direct: { version: number; byGroup: Map<string, readonly string[]> } = {
    version: -1,
    byGroup: new Map(),
  };

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
    return this.applications.add(spec);
  }

  updateApplication(clientId: string, patch: ApplicationSpec): ApplicationInfo {
    return this.applications.update(clientId, patch);
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
    if (this.users.hasPrincipalName(upn) || this.generatedByLogin(upn.toLowerCase()) !== undefined) {
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
    if (patch.userPrincipalName !== undefined) this.users.rename(user, patch.userPrincipalName);
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
    return generated;
  }

  removeUser(id: string): void {
    const key = id.toLowerCase();
    const user = this.user(key);
    if (user === undefined) throw new DirectoryAdminError(404, `no user ${id}`);
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
    if (!ignoreDeleted && this.deletedGenerated.has(id)) return undefined;
    return generatedUserById(this.blocks, id, this.domain);
  }

  userByLogin(login: string): StoredUser | undefined {
    const wanted = login.trim().toLowerCase();
    return this.users.byLogin(wanted) ?? this.generatedByLogin(wanted);
  }

  private generatedByLogin(wanted: string): StoredUser | undefined {
    for (const id of generatedIdsForLogin(this.blocks.values(), this.domain, wanted)) {
      if (this.users.has(id)) continue;
      const user = this.generatedUser(id);
      if (user !== undefined) return user;
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
      const generated = blockMembership(group, id);
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
      const generated = blockMembership(group, id);
      if (generated !== undefined) generated.block.removedFromGroup.add(generated.index);
    }
    this.touch();
    return groupInfo(group);
  }

  generateUsers(groupId: string, count: number, options: GenerateUsersOptions = {}): GeneratedUsers {
    const group = this.groupOrThrow(groupId);
    const block = newBlock(group, count, options);
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

  /** Transitive members of a group as Graph lists them, kept as a snapshot while it is paged. */
  transitiveMembers(groupId: string, snapshotId?: string): MemberListing {
    const kept = this.snapshots.find(groupId, this.version, snapshotId);
    if (kept !== undefined) return kept;
    const ids = transitiveMemberIds(this.groupOrThrow(groupId), this.groups, this.deletedGenerated);
    return this.snapshots.keep(groupId, this.version, ids);
  }

  /** Direct members of a group now; the listing is kept until the directory changes, for its next pages. */
  directMembers(groupId: string): readonly string[] {
    const group = this.groupOrThrow(groupId);
    if (this.direct.version !== this.version) this.direct = { version: this.version, byGroup: new Map() };
    let ids = this.direct.byGroup.get(group.id);
    if (ids === undefined) {
      ids = directMemberIds(group, this.deletedGenerated);
      this.direct.byGroup.set(group.id, ids);
    }
    return ids;
  }

  async rotateKeys(): Promise<string> {
    const key = await generateSigningKey();
    this.keys = [key, ...this.keys].slice(0, 2);
    return key.kid;
  }
}
