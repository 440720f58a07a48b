import { z } from 'zod';
import { authorize, type Principal } from '../auth/management.js';
import type { Clock } from '../clock.js';
import { forEachLimited } from '../concurrency.js';
import { isDirectoryError } from '../directory/errors.js';
import type { DirectoryReader } from '../directory/reader.js';
import type { DirectoryConnection } from '../directory/token.js';
import type { EnvironmentRecord } from '../environments/repository.js';
import { normalizeGroupsToSync } from '../environments/service.js';
import { AppError, toAppError } from '../errors.js';
import { parseWith } from '../validation.js';
import type { GroupNames } from './group-names.js';
import type { HealthObservation, TenantHealth } from './health.js';
import type { TenantConnection, TenantRecord } from './repository.js';
import { tenantNameSchema } from './schemas.js';

/** The whole check answers within 60 seconds; this leaves room for storage around the directory. */
export const CHECK_DEADLINE_MS = 50_000;
const GROUPS_IN_FLIGHT = 4;
const MAX_CHECKED_GROUPS = 50;

export const checkBodySchema = z.object({ groups: z.unknown().optional() });
export type CheckBody = z.output<typeof checkBodySchema>;

export interface CheckError {
  readonly code: string;
  readonly message: string;
}

export interface GroupCheck {
  readonly id: string;
  readonly ok: boolean;
  readonly displayName?: string;
  readonly error?: CheckError;
}

export interface CheckResult {
  readonly ok: boolean;
  readonly token: { readonly ok: boolean; readonly error?: CheckError };
  readonly groups: readonly GroupCheck[];
}

export interface TenantCheck {
  /** Token, then each group (named, or those of the environments using the tenant). */
  /** The body is read only once the caller is known to be allowed. */
  check(principal: Principal, name: string, readBody: () => Promise<CheckBody>): Promise<CheckResult>;
}

export interface TenantCheckDeps {
  readonly tenants: {
    get(name: string): Promise<TenantRecord | undefined>;
    getConnection(name: string): Promise<TenantConnection | undefined>;
  };
  readonly environments: {
    findUsingTenant(tenant: string): Promise<string[]>;
    get(id: string): Promise<EnvironmentRecord | undefined>;
  };
  /** A reader bounded for someone waiting: short timeouts, few retries. */
  readonly openDirectory: (connection: DirectoryConnection) => DirectoryReader;
  readonly health: Pick<TenantHealth, 'record'>;
  readonly groupNames: Pick<GroupNames, 'record'>;
  readonly clock: Clock;
  readonly deadlineMs?: number;
}

function errorOf(error: unknown): CheckError {
  // Only directory errors carry a message meant for the partner; anything else is ours.
  if (isDirectoryError(error)) return { code: error.code, message: error.message };
  throw error;
}

/** Rejects with a directory timeout once the check's time is up. */
function deadline(ms: number): { promise: Promise<never>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const seconds = Math.round(ms / 1000);
      reject(
        new AppError(
          'directory-timeout',
          `The directory did not answer the check within ${seconds} seconds. Try again; if this persists, check the tenant's authority host and Graph URL.`,
        ),
      );
    }, ms);
  });
  // Unobserved once the check is done in time.
  promise.catch(() => undefined);
  return { promise, cancel: () => clearTimeout(timer) };
}

/** Pure: the check's overall verdict as a tenant health observation. */
export function healthOfCheck(result: CheckResult): HealthObservation {
  const error = result.token.error ?? result.groups.find((group) => group.error)?.error;
  return error ? { ok: false, code: error.code, message: error.message } : { ok: true };
}

export function createTenantCheck(deps: TenantCheckDeps): TenantCheck {
  async function groupsToCheck(tenant: string, body: CheckBody): Promise<string[]> {
    if (body.groups !== undefined) {
      const groups = normalizeGroupsToSync(body.groups);
      if ('error' in groups)
        throw new AppError('validation', 'The check is not valid.', { fields: { groups: groups.error } });
      if (groups.ids.length > MAX_CHECKED_GROUPS) {
        throw new AppError('validation', 'The check is not valid.', {
          fields: { groups: `must list at most ${MAX_CHECKED_GROUPS} groups` },
        });
      }
      return groups.ids;
    }
    const ids = new Set<string>();
    for (const environmentId of await deps.environments.findUsingTenant(tenant)) {
      const environment = await deps.environments.get(environmentId);
      for (const id of environment?.externalUsers?.groupsToSync ?? []) ids.add(id);
    }
    return [...ids].slice(0, MAX_CHECKED_GROUPS);
  }

  /** Reads the group and the first page of its members: both calls a run makes, so both permissions. */
  async function checkGroup(reader: DirectoryReader, id: string): Promise<GroupCheck> {
    try {
      const group = await reader.readGroup(id);
      const pages = reader.listGroupUsers(id)[Symbol.asyncIterator]();
      await pages.next();
      await pages.return?.(undefined);
      return { id, ok: true, displayName: group.displayName };
    } catch (error) {
      return { id, ok: false, error: errorOf(error) };
    }
  }

  async function run(connection: TenantConnection, ids: readonly string[]): Promise<CheckResult> {
    const reader = deps.openDirectory(connection);
    try {
      await reader.acquireToken();
    } catch (error) {
      const tokenError = errorOf(error);
      return {
        ok: false,
        token: { ok: false, error: tokenError },
        groups: ids.map((id) => ({ id, ok: false, error: tokenError })),
      };
    }
    const groups = new Map<string, GroupCheck>();
    await forEachLimited(ids, GROUPS_IN_FLIGHT, async (id) => {
      groups.set(id, await checkGroup(reader, id));
    });
    const ordered = ids.map((id) => groups.get(id)!);
    return { ok: ordered.every((group) => group.ok), token: { ok: true }, groups: ordered };
  }

  async function withDeadline(connection: TenantConnection, ids: readonly string[]): Promise<CheckResult> {
    const limit = deadline(deps.deadlineMs ?? CHECK_DEADLINE_MS);
    try {
      return await Promise.race([run(connection, ids), limit.promise]);
    } catch (error) {
      const timeout = errorOf(toAppError(error));
      return {
        ok: false,
        token: { ok: false, error: timeout },
        groups: ids.map((id) => ({ id, ok: false, error: timeout })),
      };
    } finally {
      limit.cancel();
    }
  }

  return {
    async check(principal, name, readBody) {
      authorize(principal, 'tenant:list');
      parseWith(z.object({ name: tenantNameSchema }), { name });
      const tenant = await deps.tenants.get(name);
      if (!tenant) throw new AppError('not-found', `Tenant "${name}" does not exist.`);
      authorize(principal, 'tenant:manage', { kind: 'tenant', owner: tenant.owner });
      const ids = await groupsToCheck(name, await readBody());
      const connection = await deps.tenants.getConnection(name);
      if (!connection) throw new AppError('not-found', `Tenant "${name}" does not exist.`);
      const result = await withDeadline(connection, ids);
      const now = deps.clock.now();
      await deps.health.record(name, healthOfCheck(result), now);
      const named = result.groups.flatMap((group) =>
        group.displayName === undefined ? [] : [{ id: group.id, displayName: group.displayName }],
      );
      if (named.length > 0) await deps.groupNames.record(connection.directoryId, named, now);
      return result;
    },
  };
}
