import { objectMethods, directoryLookup } from './admin-directories.js';
import { faultMethods } from './admin-faults.js';
import { tokenMethods } from './admin-tokens.js';
import type { Core } from './core.js';
import { DirectoryAdminError } from './records.js';
import type { DevDirectoryAdmin } from './types.js';

export type { DevDirectoryAdmin };

export const ADMIN_METHODS = [
  'createDirectory',
  'getDirectory',
  'listDirectories',
  'deleteDirectory',
  'addApplication',
  'updateApplication',
  'addUser',
  'getUser',
  'updateUser',
  'removeUser',
  'addGroup',
  'getGroup',
  'updateGroup',
  'removeGroup',
  'addDevice',
  'addMembers',
  'removeMembers',
  'generateUsers',
  'throttle',
  'failRequests',
  'failGroup',
  'slowResponses',
  'spoilNextLinks',
  'capPageSize',
  'clearFaults',
  'setIdTokenDefect',
  'rotateKeys',
  'requestLog',
  'resetRequestLog',
  'issueManagementToken',
  'issueAccessToken',
  'registerManagementClient',
] as const satisfies readonly (keyof DevDirectoryAdmin)[];

export type AdminMethod = (typeof ADMIN_METHODS)[number];

/** The admin methods as written: they may answer synchronously; `createAdmin` makes them async. */
export type Implementation = {
  [K in AdminMethod]: (
    ...args: Parameters<DevDirectoryAdmin[K]>
  ) => Awaited<ReturnType<DevDirectoryAdmin[K]>> | ReturnType<DevDirectoryAdmin[K]>;
};

export function createAdmin(core: Core): DevDirectoryAdmin {
  const implementation = createImplementation(core);
  const admin: Partial<Record<AdminMethod, (...args: unknown[]) => Promise<unknown>>> = {};
  for (const method of ADMIN_METHODS) {
    const fn = implementation[method] as (...args: unknown[]) => unknown;
    // Synchronous throws become rejections, as they would over HTTP.
    admin[method] = (...args: unknown[]) => Promise.resolve().then(() => fn(...args));
  }
  return admin as DevDirectoryAdmin;
}

function createImplementation(core: Core): Implementation {
  const directory = directoryLookup(core);
  return { ...objectMethods(core), ...faultMethods(directory), ...tokenMethods(core, directory) };
}

/** Calls an admin method with JSON arguments: the body of `POST /_admin/<method>` is the argument array. */
export async function dispatchAdmin(
  admin: DevDirectoryAdmin,
  method: string,
  args: unknown,
): Promise<unknown> {
  if (!(ADMIN_METHODS as readonly string[]).includes(method)) {
    throw new DirectoryAdminError(404, `no admin method '${method}'`);
  }
  if (!Array.isArray(args)) throw new DirectoryAdminError(400, 'the body must be a JSON array of arguments');
  const target = admin as unknown as Record<AdminMethod, (...a: unknown[]) => Promise<unknown>>;
  return target[method as AdminMethod](...(args as unknown[]));
}
