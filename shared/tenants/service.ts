import { z } from 'zod';
import { authorize, type Principal } from '../auth/management.js';
import { tenantListScope } from '../auth/policy.js';
import { diffFields, type AuditTrail } from '../audit/trail.js';
import { AppError } from '../errors.js';
import { parseWith } from '../validation.js';
import type { TenantRecord, TenantsRepository } from './repository.js';
import { tenantNameSchema, type TenantBody } from './schemas.js';
import { UNKNOWN_STATUS, type TenantHealth, type TenantStatus } from './health.js';

/** The API's view of a tenant: everything but the secret. */
export interface TenantView {
  readonly name: string;
  readonly directoryId: string;
  readonly clientId: string;
  readonly environments: readonly string[];
  readonly authorityHost: string;
  readonly graphBaseUrl: string;
  readonly owner: string;
  readonly hasClientSecret: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Health as the last run or check found it. */
  readonly status: TenantStatus;
}

export function toTenantView(tenant: TenantRecord, status: TenantStatus = UNKNOWN_STATUS): TenantView {
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
    status,
  };
}

function auditView(tenant: TenantRecord | undefined): Record<string, unknown> | undefined {
  if (!tenant) return undefined;
  return {
    directoryId: tenant.directoryId,
    clientId: tenant.clientId,
    environments: tenant.environments,
    authorityHost: tenant.authorityHost,
    graphBaseUrl: tenant.graphBaseUrl,
    owner: tenant.owner,
  };
}

function checkName(name: string): string {
  return parseWith(z.object({ name: tenantNameSchema }), { name }).name;
}

export interface TenantsService {
  /**
   * Creates or updates a tenant. The body is read only once the caller is known to be allowed, so
   * a caller without the right learns nothing from validation messages.
   */
  put(
    principal: Principal,
    name: string,
    readBody: () => Promise<TenantBody>,
  ): Promise<{ tenant: TenantView; created: boolean }>;
  read(principal: Principal, name: string): Promise<TenantView>;
  list(principal: Principal): Promise<TenantView[]>;
  remove(principal: Principal, name: string): Promise<void>;
}

export interface TenantsDeps {
  readonly tenants: TenantsRepository;
  readonly environments: { findUsingTenant(tenant: string): Promise<string[]> };
  readonly audit: Pick<AuditTrail, 'record'>;
  readonly health?: Pick<TenantHealth, 'get' | 'list' | 'forget'>;
}

export function createTenantsService({ tenants, environments, audit, health }: TenantsDeps): TenantsService {
  const statusOf = (name: string): Promise<TenantStatus> =>
    health?.get(name) ?? Promise.resolve(UNKNOWN_STATUS);

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
      const existing = await tenants.get(name);
      if (existing) authorize(principal, 'tenant:manage', { kind: 'tenant', owner: existing.owner });
      else authorize(principal, 'tenant:create');
      const body = await readBody();
      const result = await tenants.save({
        ...body,
        name,
        // An operator editing a partner's tenant does not take it over.
        owner: existing?.owner ?? principal.sub,
      });
      const changes = diffFields(auditView(result.previous), auditView(result.tenant));
      if (result.secretChanged) changes.clientSecret = { secret: true, changed: true };
      await audit.record({
        actor: principal.sub,
        action: result.created ? 'tenant.created' : 'tenant.updated',
        target: { kind: 'tenant', id: name },
        changes,
      });
      if (result.created) await health?.forget(name);
      return { tenant: toTenantView(result.tenant, await statusOf(name)), created: result.created };
    },

    async read(principal, name) {
      const tenant = await tenantFor(principal, name);
      return toTenantView(tenant, await statusOf(tenant.name));
    },

    async list(principal) {
      authorize(principal, 'tenant:list');
      const found = await tenants.list(tenantListScope(principal) === 'all' ? undefined : principal.sub);
      const statuses = (await health?.list()) ?? new Map<string, TenantStatus>();
      return found.map((tenant) => toTenantView(tenant, statuses.get(tenant.name)));
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
      await tenants.delete(tenant.name);
      await health?.forget(tenant.name);
      await audit.record({
        actor: principal.sub,
        action: 'tenant.deleted',
        target: { kind: 'tenant', id: tenant.name },
        changes: diffFields(auditView(tenant), undefined),
      });
    },
  };
}
