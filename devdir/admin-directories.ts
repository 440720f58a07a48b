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

/** The admin methods that create, read, change and remove directories and what they hold. */
export function objectMethods(core: Core): ObjectMethods {
  const directory = directoryLookup(core);
  /** A method that runs `call` on the directory its first argument names. */
  const on =
    <A extends unknown[], R>(call: (d: Directory, ...args: A) => R) =>
    (id: string, ...args: A): R =>
      call(directory(id), ...args);
  const info = (d: Directory): DirectoryInfo => ({
    id: d.id,
    displayName: d.displayName,
    domain: d.domain,
    authorityHost: core.origin,
    graphBaseUrl: core.origin,
    issuer: `${core.origin}/${d.id}/v2.0`,
    tokenEndpoint: `${core.origin}/${d.id}/oauth2/v2.0/token`,
    applications: [...d.applications.values()].map(applicationInfo),
  });
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
    addApplication: on((d, spec = {}) => d.addApplication(spec)),
    updateApplication: on((d, clientId, patch) => d.updateApplication(clientId, patch)),
    addUser: on((d, spec) => d.addUser(spec)),
    getUser: on((d, userId) => {
      const user = d.user(userId);
      if (user === undefined) throw new DirectoryAdminError(404, `no user ${userId}`);
      return userInfo(user);
    }),
    updateUser: on((d, userId, patch) => d.updateUser(userId, patch)),
    removeUser: on((d, userId) => d.removeUser(userId)),
    addGroup: on((d, spec) => d.addGroup(spec)),
    getGroup: on((d, groupId) => d.groupInfo(groupId)),
    updateGroup: on((d, groupId, patch) => d.updateGroup(groupId, patch)),
    removeGroup: on((d, groupId) => d.removeGroup(groupId)),
    addDevice: on((d, spec) => d.addDevice(spec)),
    addMembers: on((d, groupId, memberIds) => d.addMembers(groupId, memberIds)),
    removeMembers: on((d, groupId, memberIds) => d.removeMembers(groupId, memberIds)),
    generateUsers: on((d, groupId, n, options) => d.generateUsers(groupId, n, options)),
  };
}
