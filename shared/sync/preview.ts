import { AppError } from '../errors.js';
import type { ExternalUsersSettings } from '../environments/repository.js';
import { SETTINGS_DEFAULTS, normalizeGroupsToSync, type TenantFacts } from '../environments/service.js';
import { TENANT_NAME_PATTERN } from '../tenants/schemas.js';
import type { RunPreview } from './runs.js';
import type { SyncBody } from './schemas.js';

/** A dry run's proposed settings, as the request gives them (not yet validated). */
export interface PreviewInput {
  readonly tenant?: unknown;
  readonly groupsToSync?: unknown;
}

/** The proposed tenant's name when it is well-formed (so that its facts can be read), else undefined. */
export function proposedTenantName(input: PreviewInput): string | undefined {
  return typeof input.tenant === 'string' && TENANT_NAME_PATTERN.test(input.tenant)
    ? input.tenant
    : undefined;
}

/**
 * Pure: a dry run's proposed `tenant` and `groupsToSync`, validated as the settings are (both
 * optional here); every bad field named at once.
 */
export function validatePreview(
  input: PreviewInput,
  environmentId: string,
  tenant: TenantFacts | undefined,
): RunPreview {
  const fields: Record<string, string> = {};
  const preview: { tenant?: string; groupsToSync?: readonly string[] } = {};
  if (input.tenant !== undefined) {
    const name = proposedTenantName(input);
    if (name === undefined) fields.tenant = 'must be a tenant name (1–63 of a-z 0-9 -)';
    else if (!tenant) fields.tenant = `tenant "${name}" does not exist`;
    else if (!tenant.environments.includes(environmentId))
      fields.tenant = `tenant "${name}" does not allow environment "${environmentId}"`;
    else preview.tenant = name;
  }
  if (input.groupsToSync !== undefined) {
    const groups = normalizeGroupsToSync(input.groupsToSync);
    if ('error' in groups) fields.groupsToSync = groups.error;
    else preview.groupsToSync = groups.ids;
  }
  if (Object.keys(fields).length > 0) {
    throw new AppError('validation', 'The dry run is not valid.', { fields });
  }
  return preview;
}

/** `tenant` and `groupsToSync` only preview settings: without `dryRun` they would be silently ignored. */
export function dryRunOf(body: SyncBody): { dryRun?: { tenant?: unknown; groupsToSync?: unknown } } {
  if (body.dryRun === true) return { dryRun: { tenant: body.tenant, groupsToSync: body.groupsToSync } };
  const fields: Record<string, string> = {};
  for (const name of ['tenant', 'groupsToSync'] as const) {
    if (body[name] !== undefined) fields[name] = 'is only allowed with "dryRun": true';
  }
  if (Object.keys(fields).length > 0)
    throw new AppError('validation', 'The request is not valid.', { fields });
  return {};
}

/**
 * Pure: the settings a dry run tries: the stored ones with its proposals in their place. Before
 * any settings were saved, a preview naming both a tenant and groups tries those with the other
 * settings at their defaults (the console's Preview of a first configuration); otherwise there is
 * nothing to try.
 */
export function previewedSettings(
  stored: ExternalUsersSettings | undefined,
  preview: RunPreview | undefined,
): ExternalUsersSettings | undefined {
  if (stored) return { ...stored, ...preview };
  if (preview?.tenant === undefined || preview.groupsToSync === undefined) return undefined;
  return { ...SETTINGS_DEFAULTS, tenant: preview.tenant, groupsToSync: preview.groupsToSync };
}
