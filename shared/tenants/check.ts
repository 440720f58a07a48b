import { z } from 'zod';
import { authorize, type Principal } from '../auth/management.js';
import type { Clock } from '../clock.js';
import { forEachLimited } from '../concurrency.js';
import { isDirectoryError } from '../directory/errors.js';
import type { DirectoryReader } from '../directory/reader.js';
import type { DirectoryConnection } from '../directory/token.js';
import type { EnvironmentRecord } from '../environments/repository.js';
import { normalizeGroupsToSync } from '../environments/service.js';
import { AppError } from '../errors.js';
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
  /** How long the directory part of a check may take (CHECK_DEADLINE_MS; tests shorten it). */
  readonly deadlineMs: number;
}

function errorOf(error: unknown): CheckError {
  // Only directory errors carry a message meant for the partner; anything else is ours.
  if (isDirectoryError(error)) return { code: error.code, message: error.message };
  throw error;
}

/** What a group, or the token, still unanswered when the check's time is up reports. */
function timeoutError(ms: number): CheckError {
  return {
    code: 'directory-timeout',
    message: `The directory did not answer the check within ${Math.round(ms / 1000)} seconds. Try again; if this persists, check the tenant's authority host and Graph URL.`,
  };
}

/** Resolves once the check's time is up. */
function deadline(ms: number): { elapsed: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return { elapsed, cancel: () => clearTimeout(timer) };
}

/** What the check has found so far. */
interface Progress {
  token?: CheckResult['token'];
  readonly groups: Map<string, GroupCheck>;
}

/**
 * Pure: the answer from what was found. A failed token fails every group with its error; what
 * is still unanswered (the deadline came first) fails with `unanswered`.
 */
export function resultOf(
  ids: readonly string[],
  progress: { readonly token?: CheckResult['token']; readonly groups: ReadonlyMap<string, GroupCheck> },
  unanswered: CheckError,
): CheckResult {
  const token = progress.token ?? { ok: false, error: unanswered };
  const groups = ids.map((id): GroupCheck =>
    token.error
      ? { id, ok: false, error: token.error }
      : (progress.groups.get(id) ?? { id, ok: false, error: unanswered }),
  );
  return { ok: token.ok && groups.every((group) => group.ok), token, groups };
}

/** Pure: the check's overall verdict as a tenant health observation. */
export function healthOfCheck(result: CheckResult): HealthObservation {
  const error = result.token.error ?? result.groups.find((group) => group.error)?.error;
  return error ? { ok: false, code: error.code, message: error.message } : { ok: true };
}

// Long only as a factory: its body is the short functions below, closed over the deps.
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

  /** Fills `progress` as answers come: what the deadline finds there is what the check found. */
  async function run(
    connection: TenantConnection,
    ids: readonly string[],
    progress: Progress,
  ): Promise<void> {
    const reader = deps.openDirectory(connection);
    try {
      await reader.acquireToken();
      progress.token = { ok: true };
    } catch (error) {
      progress.token = { ok: false, error: errorOf(error) };
      return;
    }
    await forEachLimited(ids, GROUPS_IN_FLIGHT, async (id) => {
      progress.groups.set(id, await checkGroup(reader, id));
    });
  }

  /** Answers within the deadline: whatever is still unanswered then is reported as a directory timeout. */
  async function withDeadline(connection: TenantConnection, ids: readonly string[]): Promise<CheckResult> {
    const progress: Progress = { groups: new Map() };
    const limit = deadline(deps.deadlineMs);
    try {
      await Promise.race([run(connection, ids, progress), limit.elapsed]);
    } finally {
      limit.cancel();
    }
    return resultOf(ids, progress, timeoutError(deps.deadlineMs));
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
