import { objectMethods, directoryLookup } from './admin-directories.js';
import { faultMethods } from './admin-faults.js';
import { tokenMethods } from './admin-tokens.js';
import type { Core } from './core.js';
import type { ManagementClientSpec } from './management-clients.js';
import { DirectoryAdminError } from './records.js';
import type {
  AccessTokenRequest,
  ApplicationInfo,
  ApplicationSpec,
  DeviceInfo,
  DeviceSpec,
  DirectoryInfo,
  DirectorySpec,
  FailFault,
  GenerateUsersOptions,
  GeneratedUsers,
  GroupInfo,
  GroupSpec,
  IdTokenDefect,
  ManagementTokenRequest,
  NextLinkFault,
  RequestLogEntry,
  SlowFault,
  ThrottleFault,
  UserInfo,
  UserPatch,
  UserSpec,
} from './types.js';

/**
 * Everything tests and demos may do to the dev directory. Every method is async and takes and
 * returns plain JSON, so the same interface is served in-process and over `${origin}/_admin/<method>`.
 */
export interface DevDirectoryAdmin {
  createDirectory(spec?: DirectorySpec): Promise<DirectoryInfo>;
  getDirectory(directoryId: string): Promise<DirectoryInfo>;
  listDirectories(): Promise<DirectoryInfo[]>;
  deleteDirectory(directoryId: string): Promise<void>;

  addApplication(directoryId: string, spec?: ApplicationSpec): Promise<ApplicationInfo>;
  updateApplication(directoryId: string, clientId: string, patch: ApplicationSpec): Promise<ApplicationInfo>;

  addUser(directoryId: string, spec: UserSpec): Promise<UserInfo>;
  getUser(directoryId: string, userId: string): Promise<UserInfo>;
  updateUser(directoryId: string, userId: string, patch: UserPatch): Promise<UserInfo>;
  removeUser(directoryId: string, userId: string): Promise<void>;

  addGroup(directoryId: string, spec: GroupSpec): Promise<GroupInfo>;
  getGroup(directoryId: string, groupId: string): Promise<GroupInfo>;
  updateGroup(
    directoryId: string,
    groupId: string,
    patch: { displayName?: string; description?: string | null },
  ): Promise<GroupInfo>;
  removeGroup(directoryId: string, groupId: string): Promise<void>;
  addDevice(directoryId: string, spec: DeviceSpec): Promise<DeviceInfo>;
  /** Members are ids (or userPrincipalNames) of users, groups or devices of the directory. */
  addMembers(directoryId: string, groupId: string, memberIds: readonly string[]): Promise<GroupInfo>;
  removeMembers(directoryId: string, groupId: string, memberIds: readonly string[]): Promise<GroupInfo>;
  /** Adds `count` computed users to a group: 100k in well under a second, a few bytes each. */
  generateUsers(
    directoryId: string,
    groupId: string,
    count: number,
    options?: GenerateUsersOptions,
  ): Promise<GeneratedUsers>;

  /** The next `requests` requests of `kinds` (default Graph) answer 429 (with Retry-After unless null). */
  throttle(directoryId: string, fault: ThrottleFault): Promise<void>;
  /** The next `requests` requests of `kinds` (default Graph) answer `status`. */
  failRequests(directoryId: string, fault: FailFault): Promise<void>;
  /** Every Graph request naming this group answers 404 or 403 until cleared with `null`. */
  failGroup(directoryId: string, groupId: string, status: 403 | 404 | null): Promise<void>;
  /** Holds answers of `kinds` (default Graph) back: before the headers (a hang) or mid-body (slow-loris). */
  slowResponses(directoryId: string, fault: SlowFault | null): Promise<void>;
  /** Spoils the `@odata.nextLink` of member pages until cleared with `null`. */
  spoilNextLinks(directoryId: string, fault: NextLinkFault | null): Promise<void>;
  /** Pages never hold more than `size` objects, whatever `$top` asks (null: no cap). */
  capPageSize(directoryId: string, size: number | null): Promise<void>;
  clearFaults(directoryId: string): Promise<void>;

  /** Spoils the NEXT ID token this directory issues (one token only). */
  setIdTokenDefect(directoryId: string, defect: IdTokenDefect | null): Promise<void>;
  /** A new signing key; the previous one stays published. Returns the new kid. */
  rotateKeys(directoryId: string): Promise<{ kid: string }>;

  requestLog(directoryId?: string): Promise<RequestLogEntry[]>;
  resetRequestLog(directoryId?: string): Promise<void>;

  issueManagementToken(request: ManagementTokenRequest): Promise<string>;
  /** A Graph access token as the token endpoint would issue (e.g. already expired, for negative tests). */
  issueAccessToken(directoryId: string, request?: AccessTokenRequest): Promise<string>;
  /** Registers a public client of the staff identity provider (`/management`), e.g. the console. */
  registerManagementClient(spec: ManagementClientSpec): Promise<ManagementClientSpec>;
}

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
