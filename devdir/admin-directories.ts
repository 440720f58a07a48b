import type { Core } from './core.js';
import type { Implementation } from './admin.js';
import { Directory } from './model.js';
import { DirectoryAdminError, applicationInfo, userInfo } from './records.js';
import type { DirectoryInfo } from './types.js';

/** The directory an admin call names; 404 when there is none. */
export function directoryLookup(core: Core): (id: string) => Directory {
  return (id) => {
    const found = core.directory(id);
    if (found === undefined) throw new DirectoryAdminError(404, `no directory ${id}`);
    return found;
  };
}

function directoryInfo(core: Core, d: Directory): DirectoryInfo {
  return {
    id: d.id,
    displayName: d.displayName,
    domain: d.domain,
    authorityHost: core.origin,
    graphBaseUrl: core.origin,
    issuer: `${core.origin}/${d.id}/v2.0`,
    tokenEndpoint: `${core.origin}/${d.id}/oauth2/v2.0/token`,
    applications: [...d.applications.values()].map(applicationInfo),
  };
}

type ObjectMethods = Pick<
  Implementation,
  | 'createDirectory'
  | 'getDirectory'
  | 'listDirectories'
  | 'deleteDirectory'
  | 'addApplication'
  | 'updateApplication'
  | 'addUser'
  | 'getUser'
  | 'updateUser'
  | 'removeUser'
  | 'addGroup'
  | 'getGroup'
  | 'updateGroup'
  | 'removeGroup'
  | 'addDevice'
  | 'addMembers'
  | 'removeMembers'
  | 'generateUsers'
>;

/** The admin methods that create, read, change and remove directories and what they hold.
 * (Long only as a list: each method is a few lines of its own.)
 */
export function objectMethods(core: Core): ObjectMethods {
  const directory = directoryLookup(core);
  const info = (d: Directory): DirectoryInfo => directoryInfo(core, d);
  return {
    async createDirectory(spec = {}) {
      const created = await Directory.create(spec);
      if (core.directories.has(created.id))
        throw new DirectoryAdminError(409, `directory ${created.id} exists`);
      core.directories.set(created.id, created);
      return info(created);
    },
    getDirectory(id) {
      return info(directory(id));
    },
    listDirectories() {
      return [...core.directories.values()].map(info);
    },
    deleteDirectory(id) {
      core.directories.delete(directory(id).id);
    },
    addApplication(id, spec = {}) {
      return directory(id).addApplication(spec);
    },
    updateApplication(id, clientId, patch) {
      return directory(id).updateApplication(clientId, patch);
    },
    addUser(id, spec) {
      return directory(id).addUser(spec);
    },
    getUser(id, userId) {
      const user = directory(id).user(userId);
      if (user === undefined) throw new DirectoryAdminError(404, `no user ${userId}`);
      return userInfo(user);
    },
    updateUser(id, userId, patch) {
      return directory(id).updateUser(userId, patch);
    },
    removeUser(id, userId) {
      directory(id).removeUser(userId);
    },
    addGroup(id, spec) {
      return directory(id).addGroup(spec);
    },
    getGroup(id, groupId) {
      return directory(id).groupInfo(groupId);
    },
    updateGroup(id, groupId, patch) {
      return directory(id).updateGroup(groupId, patch);
    },
    removeGroup(id, groupId) {
      directory(id).removeGroup(groupId);
    },
    addDevice(id, spec) {
      return directory(id).addDevice(spec);
    },
    addMembers(id, groupId, memberIds) {
      return directory(id).addMembers(groupId, memberIds);
    },
    removeMembers(id, groupId, memberIds) {
      return directory(id).removeMembers(groupId, memberIds);
    },
    generateUsers(id, groupId, n, options) {
      return directory(id).generateUsers(groupId, n, options);
    },
  };
}
