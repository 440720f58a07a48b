import type { Core } from './core.js';
import { Directory } from './model.js';
import { DirectoryAdminError, applicationInfo, emptyFaults, userInfo } from './records.js';
import { issueAccessToken, issueManagementToken } from './tokens.js';
import { registerManagementClient, type ManagementClientSpec } from './management-clients.js';
import {
  FAULT_KINDS,
  ID_TOKEN_DEFECTS,
  type FaultKind,
  type AccessTokenRequest,
  type ApplicationInfo,
  type ApplicationSpec,
  type DeviceInfo,
  type DeviceSpec,
  type DirectoryInfo,
  type DirectorySpec,
  type FailFault,
  type GenerateUsersOptions,
  type GeneratedUsers,
  type GroupInfo,
  type GroupSpec,
  type IdTokenDefect,
  type ManagementTokenRequest,
  type NextLinkFault,
  type RequestLogEntry,
  type SlowFault,
  type ThrottleFault,
  type UserInfo,
  type UserPatch,
  type UserSpec,
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

function count(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new DirectoryAdminError(400, `${name} must be a positive integer`);
  }
  return value;
}

function retryAfter(value: number | null | undefined): number | null {
  if (value === null) return null;
  const seconds = value ?? 1;
  if (typeof seconds !== 'number' || !(seconds >= 0))
    throw new DirectoryAdminError(400, 'retryAfterSeconds must be ≥ 0');
  return seconds;
}

function isFaultKind(value: unknown): value is FaultKind {
  return (FAULT_KINDS as readonly unknown[]).includes(value);
}

/** The endpoints a fault applies to (Graph unless named); JSON from the admin API is checked. */
function kinds(value: unknown): readonly FaultKind[] {
  if (value === undefined) return ['graph'];
  const list: unknown[] = Array.isArray(value) ? (value as unknown[]) : [];
  if (list.length === 0 || !list.every(isFaultKind)) {
    throw new DirectoryAdminError(400, `kinds must be a non-empty list of ${FAULT_KINDS.join(', ')}`);
  }
  return list.filter(isFaultKind);
}

type Implementation = {
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
  const directory = (id: string): Directory => {
    const found = core.directory(id);
    if (found === undefined) throw new DirectoryAdminError(404, `no directory ${id}`);
    return found;
  };
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
    throttle(id, fault) {
      directory(id).faults.throttle = {
        remaining: count(fault.requests, 'requests'),
        retryAfterSeconds: retryAfter(fault.retryAfterSeconds),
        kinds: kinds(fault.kinds),
      };
    },
    failRequests(id, fault) {
      if (![500, 503, 504].includes(fault.status))
        throw new DirectoryAdminError(400, 'status must be 500, 503 or 504');
      directory(id).faults.fail = {
        remaining: count(fault.requests, 'requests'),
        status: fault.status,
        retryAfterSeconds: fault.retryAfterSeconds === undefined ? null : retryAfter(fault.retryAfterSeconds),
        kinds: kinds(fault.kinds),
      };
    },
    failGroup(id, groupId, status) {
      const d = directory(id);
      if (status === null) d.faults.failedGroups.delete(groupId.toLowerCase());
      else if (status === 403 || status === 404) d.faults.failedGroups.set(groupId.toLowerCase(), status);
      else throw new DirectoryAdminError(400, 'status must be 403, 404 or null');
    },
    slowResponses(id, fault) {
      const d = directory(id);
      if (fault === null) {
        d.faults.slow = undefined;
        return;
      }
      if (typeof fault.delayMs !== 'number' || fault.delayMs < 0)
        throw new DirectoryAdminError(400, 'delayMs must be ≥ 0');
      const stall = fault.stall ?? 'headers';
      if (stall !== 'headers' && stall !== 'body')
        throw new DirectoryAdminError(400, 'stall must be headers or body');
      d.faults.slow = {
        delayMs: fault.delayMs,
        remaining: fault.requests === undefined ? undefined : count(fault.requests, 'requests'),
        kinds: kinds(fault.kinds),
        stall,
      };
    },
    spoilNextLinks(id, fault) {
      const d = directory(id);
      if (fault === null) {
        d.faults.nextLink = undefined;
        return;
      }
      if (fault.kind === 'repeat') {
        d.faults.nextLink = { kind: 'repeat' };
        return;
      }
      if (
        fault.kind !== 'foreign-origin' ||
        typeof fault.origin !== 'string' ||
        !URL.canParse(fault.origin)
      ) {
        throw new DirectoryAdminError(
          400,
          "fault must be { kind: 'repeat' } or { kind: 'foreign-origin', origin }",
        );
      }
      d.faults.nextLink = { kind: 'foreign-origin', origin: new URL(fault.origin).origin };
    },
    capPageSize(id, size) {
      directory(id).faults.pageCap = size === null ? undefined : count(size, 'size');
    },
    clearFaults(id) {
      const d = directory(id);
      d.faults = emptyFaults();
    },
    setIdTokenDefect(id, defect) {
      if (defect !== null && !ID_TOKEN_DEFECTS.includes(defect)) {
        throw new DirectoryAdminError(400, `defect must be one of ${ID_TOKEN_DEFECTS.join(', ')}`);
      }
      directory(id).nextIdTokenDefect = defect ?? undefined;
    },
    async rotateKeys(id) {
      return { kid: await directory(id).rotateKeys() };
    },
    requestLog(id) {
      return core.requestLog(id);
    },
    resetRequestLog(id) {
      core.resetRequestLog(id);
    },
    async issueManagementToken(request) {
      if (typeof request.sub !== 'string' || request.sub === '' || !Array.isArray(request.roles)) {
        throw new DirectoryAdminError(400, 'sub and roles are required');
      }
      return await issueManagementToken(core.managementKey, core.managementIssuer, request);
    },
    async issueAccessToken(id, request = {}) {
      const d = directory(id);
      const application =
        request.clientId === undefined
          ? d.applications.values().next().value
          : d.applications.get(request.clientId.toLowerCase());
      if (application === undefined) throw new DirectoryAdminError(404, 'no such application');
      return await issueAccessToken({
        origin: core.origin,
        directory: d,
        application,
        audience: request.audience ?? core.graphAudience,
        expiresInSeconds: request.expiresInSeconds ?? 3599,
      });
    },
    registerManagementClient(spec) {
      return registerManagementClient(core, spec);
    },
  };
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
