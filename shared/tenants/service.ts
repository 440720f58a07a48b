import type { PutResource } from '../put.js';
import { z } from 'zod';
import { authorize, type Principal } from '../auth/management.js';
import { tenantListScope } from '../auth/policy.js';
import { diffFields, type AuditTrail } from '../audit/trail.js';
import { AppError } from '../errors.js';
import { parseWith } from '../validation.js';
import { fitsAsJsonProperty } from '../storage/limits.js';
import { tenantHostProblems } from './hosts.js';
import {
  DEFAULT_AUTHORITY_HOST,
  DEFAULT_GRAPH_BASE_URL,
  type SaveTenantResult,
  type TenantRecord,
  type TenantsRepository,
} from './repository.js';
import { tenantNameSchema, type TenantBody } from './schemas.js';
import { UNKNOWN_STATUS, type TenantHealth, type TenantStatus } from './health.js';
import type { TenantView } from './view.js';

export type { TenantView } from './view.js';

const CONNECTION_FIELDS = ['directoryId', 'clientId', 'authorityHost', 'graphBaseUrl'] as const;

/** Pure: whether a change of the tenant changes how it reaches its directory (a secret given counts). */
function connectionChanged(
  before: TenantRecord | undefined,
  after: TenantRecord,
  body: Pick<TenantBody, 'clientSecret'>,
): boolean {
  if (before === undefined) return true;
  return body.clientSecret !== undefined || CONNECTION_FIELDS.some((field) => before[field] !== after[field]);
}

/** Pure: the status of a stored tenant whose hosts the policy refuses (runs and sign-ins refuse it too). */
export function hostStatusOf(
  tenant: TenantRecord,
  directoryHosts: readonly string[],
): TenantStatus | undefined {
  const problems = tenantHostProblems(tenant, directoryHosts);
  if (Object.keys(problems).length === 0) return undefined;
  const fields = Object.entries(problems).map(([field, problem]) => `${field} ${problem}`);
  return {
    state: 'failing',
    error: {
      code: 'directory-unreachable',
      message: `This tenant names a directory host the service may not contact, so runs and sign-ins do not use it: ${fields.join('; ')}. Save the tenant with allowed hosts.`,
    },
  };
}

export function toTenantView(
  tenant: TenantRecord,
  directoryHosts: readonly string[] = [],
  status: TenantStatus = UNKNOWN_STATUS,
): TenantView {
  return {
    name: tenant.name,
    directoryId: tenant.directoryId,
    clientId: tenant.clientId,
    environments: tenant.environments,
    authorityHost: tenant.authorityHost,
    graphBaseUrl: tenant.graphBaseUrl,
    owner: tenant.owner,
    hasClientSecret: tenant.hasClientSecret,
    createdAt: tenant.createdAt,
    updatedAt: tenant.updatedAt,
    status: hostStatusOf(tenant, directoryHosts) ?? status,
  };
}

/** The write of a round found the row changed since it was read. */
class StaleTenant extends Error {
  override readonly name = 'StaleTenant';
}

function withDefaults(input: TenantBody & { owner: string }): AuditFields {
  return {
    directoryId: input.directoryId,
    clientId: input.clientId,
    environments: input.environments,
    authorityHost: input.authorityHost ?? DEFAULT_AUTHORITY_HOST,
    graphBaseUrl: input.graphBaseUrl ?? DEFAULT_GRAPH_BASE_URL,
    owner: input.owner,
  };
}

/** What the audit trail records of a tenant: its configuration, never the secret. */
const AUDITED_FIELDS = [
  'directoryId',
  'clientId',
  'environments',
  'authorityHost',
  'graphBaseUrl',
  'owner',
] as const;

type AuditFields = Pick<TenantRecord, (typeof AUDITED_FIELDS)[number]>;

function auditView(tenant: AuditFields | undefined): Record<string, unknown> | undefined {
  if (!tenant) return undefined;
  return Object.fromEntries(AUDITED_FIELDS.map((field) => [field, tenant[field]]));
}

function checkName(name: string): string {
  return parseWith(z.object({ name: tenantNameSchema }), { name }).name;
}

export interface TenantsService {
  /** Creates or updates a tenant. */
  put: PutResource<TenantBody, TenantView>;
  read(principal: Principal, name: string): Promise<TenantView>;
  list(principal: Principal): Promise<TenantView[]>;
  remove(principal: Principal, name: string): Promise<void>;
}

export interface TenantsDeps {
  readonly tenants: TenantsRepository;
  readonly environments: { findUsingTenant(tenant: string): Promise<string[]> };
  readonly audit: Pick<AuditTrail, 'around'>;
  readonly health?: Pick<TenantHealth, 'get' | 'list' | 'forget'>;
  /** DIRECTORY_HOSTS, normalised: the hosts a tenant may name beside Microsoft's. */
  readonly directoryHosts: readonly string[];
}

/** Rounds of read, authorize, conditional write before a much-contended update gives up. */
const UPDATE_ATTEMPTS = 3;

/** Pure: what the store could not hold, the host policy refuses or a new tenant lacks, by field. */
export function checkTenantBody(
  body: TenantBody,
  directoryHosts: readonly string[],
  creating: boolean,
): void {
  const fields: Record<string, string> = tenantHostProblems(
    {
      authorityHost: body.authorityHost ?? DEFAULT_AUTHORITY_HOST,
      graphBaseUrl: body.graphBaseUrl ?? DEFAULT_GRAPH_BASE_URL,
    },
    directoryHosts,
  );
  if (!fitsAsJsonProperty(body.environments)) {
    fields.environments = 'holds more than can be stored (64 KiB together); list fewer environments';
  }
  if (creating && body.clientSecret === undefined) fields.clientSecret = 'is required when creating a tenant';
  if (Object.keys(fields).length > 0) {
    throw new AppError('validation', 'The request is not valid.', { fields });
  }
}

// Long only as a factory: its body is the short functions below, closed over the deps.
export function createTenantsService(deps: TenantsDeps): TenantsService {
  const { tenants, environments, audit, directoryHosts, health } = deps;
  const view = (tenant: TenantRecord, status?: TenantStatus): TenantView =>
    toTenantView(tenant, directoryHosts, status);
  const statusOf = (name: string): Promise<TenantStatus> =>
    health?.get(name) ?? Promise.resolve(UNKNOWN_STATUS);

  /**
   * One round: ownership is checked against the row read, and the write replaces exactly that
   * row (or creates one where none was), so a racing caller can never take another's tenant.
   */
  async function putOnce(
    principal: Principal,
    name: string,
    existing: TenantRecord | undefined,
    body: TenantBody,
  ): Promise<SaveTenantResult | 'stale'> {
    // An operator editing a partner's tenant does not take it over.
    const input = { ...body, name, owner: existing?.owner ?? principal.sub };
    const entry = {
      actor: principal.sub,
      action: existing ? ('tenant.updated' as const) : ('tenant.created' as const),
      target: { kind: 'tenant' as const, id: name },
      changes: {
        ...diffFields(auditView(existing), auditView(withDefaults(input))),
        ...(body.clientSecret === undefined
          ? {}
          : { clientSecret: { secret: true, changed: true } as const }),
      },
    };
    return audit
      .around(entry, async () => {
        const result = existing ? await tenants.replace(input, existing) : await tenants.create(input);
        if (result === 'stale') throw new StaleTenant();
        return result;
      })
      .catch((error: unknown) => {
        if (error instanceof StaleTenant) return 'stale' as const;
        throw error;
      });
  }

  /** Found and visible to the caller, else not-found / forbidden. */
  async function tenantFor(principal: Principal, name: string): Promise<TenantRecord> {
    authorize(principal, 'tenant:list');
    const tenant = await tenants.get(checkName(name));
    if (!tenant) throw new AppError('not-found', `Tenant "${name}" does not exist.`);
    authorize(principal, 'tenant:manage', { kind: 'tenant', owner: tenant.owner });
    return tenant;
  }

  return {
    async put(principal, name, readBody) {
      authorize(principal, 'tenant:list');
      checkName(name);
      let body: TenantBody | undefined;
      for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
        const existing = await tenants.get(name);
        if (existing) authorize(principal, 'tenant:manage', { kind: 'tenant', owner: existing.owner });
        else authorize(principal, 'tenant:create');
        if (body === undefined) {
          body = await readBody();
          checkTenantBody(body, directoryHosts, existing === undefined);
        }
        const result = await putOnce(principal, name, existing, body);
        if (result === 'stale') continue;
        // A new tenant of an old name, or one that now reaches its directory otherwise, has no
        // health until a run or a check uses it.
        if (result.created || connectionChanged(existing, result.tenant, body)) await health?.forget(name);
        return { value: view(result.tenant, await statusOf(name)), created: result.created };
      }
      throw new AppError('conflict', `Tenant "${name}" was changed concurrently; try again.`);
    },

    async read(principal, name) {
      const tenant = await tenantFor(principal, name);
      return view(tenant, await statusOf(tenant.name));
    },

    async list(principal) {
      authorize(principal, 'tenant:list');
      const found = await tenants.list(tenantListScope(principal) === 'all' ? undefined : principal.sub);
      const statuses = (await health?.list()) ?? new Map<string, TenantStatus>();
      return found.map((tenant) => view(tenant, statuses.get(tenant.name)));
    },

    async remove(principal, name) {
      const tenant = await tenantFor(principal, name);
      const users = await environments.findUsingTenant(tenant.name);
      if (users.length > 0) {
        throw new AppError(
          'conflict',
          `Tenant "${tenant.name}" is used by environment(s): ${users.join(', ')}.`,
          { extensions: { environments: users } },
        );
      }
      await audit.around(
        {
          actor: principal.sub,
          action: 'tenant.deleted',
          target: { kind: 'tenant', id: tenant.name },
          changes: diffFields(auditView(tenant), undefined),
        },
        () => tenants.delete(tenant.name),
      );
      await health?.forget(tenant.name);
    },
  };
}
