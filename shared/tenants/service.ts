import { z } from 'zod';
import { authorize, type Principal } from '../auth/management.js';
import { tenantListScope } from '../auth/policy.js';
import { diffFields, recordAudit } from '../audit/trail.js';
import { findEnvironmentsUsingTenant } from '../environments/repository.js';
import { AppError } from '../errors.js';
import { parseWith } from '../http/respond.js';
import { deleteTenant, getTenant, listTenants, saveTenant, type TenantRecord } from './repository.js';

/** Tenant names: 1–63 of a-z 0-9 -. */
export const TENANT_NAME_PATTERN = /^[a-z0-9-]{1,63}$/;
/** Environment ids: 1–64 of A-Z a-z 0-9 _ -. */
export const ENVIRONMENT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const GUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const required =
  (message: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? 'is required' : message;

const guid = z
  .string({ error: required('must be a GUID') })
  .regex(GUID_PATTERN, { error: 'must be a GUID' })
  .transform((value) => value.toLowerCase());

const httpsUrl = z
  .string({ error: 'must be an https URL' })
  .refine(
    (value) => {
      if (!URL.canParse(value)) return false;
      const url = new URL(value);
      return (
        url.protocol === 'https:' && url.username === '' && url.password === '' && !url.search && !url.hash
      );
    },
    { error: 'must be an https URL' },
  )
  // One spelling per URL, so that comparing and joining paths stays predictable.
  .transform((value) => value.replace(/\/+$/, ''));

export const tenantNameSchema = z.string().regex(TENANT_NAME_PATTERN, { error: 'must be 1–63 of a-z 0-9 -' });
export const environmentIdSchema = z
  .string()
  .regex(ENVIRONMENT_ID_PATTERN, { error: 'must be 1–64 of A-Z a-z 0-9 _ -' });

export const tenantBodySchema = z.object({
  directoryId: guid,
  clientId: guid,
  clientSecret: z
    .string({ error: 'must be a string' })
    .min(1, { error: 'must not be empty' })
    .max(1024, { error: 'must be at most 1024 characters' })
    .optional(),
  environments: z
    .array(environmentIdSchema, { error: required('must be an array of environment ids') })
    .max(1000, { error: 'must list at most 1000 environments' }),
  authorityHost: httpsUrl.optional(),
  graphBaseUrl: httpsUrl.optional(),
});
export type TenantBody = z.output<typeof tenantBodySchema>;

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
}

export function toTenantView(tenant: TenantRecord): TenantView {
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

/** Found and visible to the caller, else not-found / forbidden. */
async function tenantFor(principal: Principal, name: string): Promise<TenantRecord> {
  authorize(principal, 'tenant:list');
  const tenant = await getTenant(checkName(name));
  if (!tenant) throw new AppError('not-found', `Tenant "${name}" does not exist.`);
  authorize(principal, 'tenant:manage', { kind: 'tenant', owner: tenant.owner });
  return tenant;
}

/**
 * Creates or updates a tenant. The body is read only once the caller is known to be allowed, so a
 * caller without the right learns nothing from validation messages.
 */
export async function putTenant(
  principal: Principal,
  name: string,
  readBody: () => Promise<TenantBody>,
): Promise<{ tenant: TenantView; created: boolean }> {
  authorize(principal, 'tenant:list');
  checkName(name);
  const existing = await getTenant(name);
  if (existing) authorize(principal, 'tenant:manage', { kind: 'tenant', owner: existing.owner });
  else authorize(principal, 'tenant:create');
  const body = await readBody();
  const result = await saveTenant({
    name,
    // An operator editing a partner's tenant does not take it over.
    owner: existing?.owner ?? principal.sub,
    directoryId: body.directoryId,
    clientId: body.clientId,
    clientSecret: body.clientSecret,
    environments: body.environments,
    authorityHost: body.authorityHost,
    graphBaseUrl: body.graphBaseUrl,
  });
  const changes = diffFields(auditView(result.previous), auditView(result.tenant));
  if (result.secretChanged) changes.clientSecret = { secret: true, changed: true };
  await recordAudit({
    actor: principal.sub,
    action: result.created ? 'tenant.created' : 'tenant.updated',
    target: { kind: 'tenant', id: name },
    changes,
  });
  return { tenant: toTenantView(result.tenant), created: result.created };
}

export async function readTenant(principal: Principal, name: string): Promise<TenantView> {
  return toTenantView(await tenantFor(principal, name));
}

export async function readTenants(principal: Principal): Promise<TenantView[]> {
  authorize(principal, 'tenant:list');
  const tenants = await listTenants(tenantListScope(principal) === 'all' ? undefined : principal.sub);
  return tenants.map(toTenantView);
}

export async function removeTenant(principal: Principal, name: string): Promise<void> {
  const tenant = await tenantFor(principal, name);
  const users = await findEnvironmentsUsingTenant(tenant.name);
  if (users.length > 0) {
    throw new AppError(
      'conflict',
      `Tenant "${tenant.name}" is used by environment(s): ${users.join(', ')}.`,
      {
        extensions: { environments: users },
      },
    );
  }
  await deleteTenant(tenant.name);
  await recordAudit({
    actor: principal.sub,
    action: 'tenant.deleted',
    target: { kind: 'tenant', id: tenant.name },
    changes: diffFields(auditView(tenant), undefined),
  });
}
