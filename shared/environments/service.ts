import type { PutResource } from '../put.js';
import { z } from 'zod';
import { authorize, type Principal } from '../auth/management.js';
import { diffFields, type AuditTrail } from '../audit/trail.js';
import { AppError } from '../errors.js';
import type { SyncRun } from '../sync/runs.js';
import { ENVIRONMENT_ID_PATTERN, TENANT_NAME_PATTERN } from '../tenants/schemas.js';
import { parseWith } from '../validation.js';
import type { EnvironmentRecord, EnvironmentsRepository, ExternalUsersSettings } from './repository.js';
import type { EnvironmentBody } from './schemas.js';

const GUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** What the optional settings are when a body leaves them out. */
export const SETTINGS_DEFAULTS: {
  readonly defaultMenus: readonly string[];
  readonly periodicSync: boolean;
  readonly deactivationLimit: number;
} = Object.freeze({ defaultMenus: Object.freeze([]), periodicSync: false, deactivationLimit: 50 });
const MAX_MENUS = 100;
const MAX_MENU_LENGTH = 200;
export const MAX_NOTIFICATION_EMAILS = 5;
// Deliberately plain: one @, no spaces or separators, a dot in the domain; the mail relay has the last word.
const EMAIL_PATTERN = /^[^\s@<>,;"()]+@[^\s@<>,;"()]+\.[^\s@<>,;"()]+$/;
const MAX_EMAIL_LENGTH = 254;
/** Groups of one environment: their ids, joined, stay far below one stored property (64 KiB). */
export const MAX_GROUPS = 500;

export interface EnvironmentView {
  readonly id: string;
  readonly name: string;
  readonly externalUsersIntegration: boolean;
  /**
   * Whether external users settings were ever saved, so that a client knows, without asking for
   * them and being told 404, whether `/external-users` has settings to show.
   */
  readonly externalUsersConfigured: boolean;
}

export interface SettingsView {
  readonly tenant: string;
  /** Normalized ids joined by commas. */
  readonly groupsToSync: string;
  readonly defaultMenus: readonly string[];
  readonly periodicSync: boolean;
  readonly deactivationLimit: number;
  readonly notificationEmails: readonly string[];
}

export function toEnvironmentView(environment: EnvironmentRecord): EnvironmentView {
  return {
    id: environment.id,
    name: environment.name,
    externalUsersIntegration: environment.externalUsersIntegration,
    externalUsersConfigured: environment.externalUsers !== undefined,
  };
}

export function toSettingsView(settings: ExternalUsersSettings): SettingsView {
  return {
    tenant: settings.tenant,
    groupsToSync: settings.groupsToSync.join(','),
    defaultMenus: settings.defaultMenus,
    periodicSync: settings.periodicSync,
    deactivationLimit: settings.deactivationLimit,
    notificationEmails: settings.notificationEmails ?? [],
  };
}

/** Pure: the notification addresses, trimmed, duplicates (ignoring case) removed, at most 5. */
export function normalizeNotificationEmails(value: unknown): { emails: string[] } | { error: string } {
  if (value === undefined || value === null) return { emails: [] };
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    return { error: 'must be an array of e-mail addresses' };
  }
  const emails: string[] = [];
  const bad: string[] = [];
  for (const item of value) {
    const email = item.trim();
    if (email.length > MAX_EMAIL_LENGTH || !EMAIL_PATTERN.test(email)) bad.push(email.slice(0, 64));
    else if (!emails.some((known) => known.toLowerCase() === email.toLowerCase())) emails.push(email);
  }
  if (bad.length > 0)
    return { error: `must hold only e-mail addresses; not one: ${bad.map((e) => `"${e}"`).join(', ')}` };
  if (emails.length > MAX_NOTIFICATION_EMAILS) {
    return { error: `must list at most ${MAX_NOTIFICATION_EMAILS} addresses` };
  }
  return { emails };
}

/**
 * Pure: `groupsToSync` normalized — split on commas, blanks and empty entries
 * ignored, lower-cased, duplicates removed (first occurrence wins), at least one id.
 */
export function normalizeGroupsToSync(value: unknown): { ids: string[] } | { error: string } {
  if (value === undefined || value === null) return { error: 'is required' };
  if (typeof value !== 'string') return { error: 'must be a comma-separated string of group ids' };
  const ids: string[] = [];
  const bad: string[] = [];
  for (const part of value.split(',')) {
    const id = part.trim().toLowerCase();
    if (id === '') continue;
    if (!GUID_PATTERN.test(id)) bad.push(part.trim());
    else if (!ids.includes(id)) ids.push(id);
  }
  if (bad.length > 0) {
    const shown = bad.slice(0, 5).map((id) => `"${id.slice(0, 64)}"`);
    return { error: `must hold only GUIDs; not a GUID: ${shown.join(', ')}${bad.length > 5 ? ', …' : ''}` };
  }
  if (ids.length === 0) return { error: 'must list at least one group id' };
  if (ids.length > MAX_GROUPS) return { error: `must list at most ${MAX_GROUPS} groups` };
  return { ids };
}

/** What the validation needs to know about the named tenant (undefined: no such tenant). */
export interface TenantFacts {
  readonly environments: readonly string[];
}

function tenantProblem(
  tenantName: unknown,
  environmentId: string,
  tenant: TenantFacts | undefined,
): string | undefined {
  if (tenantName === undefined || tenantName === null) return 'is required';
  if (typeof tenantName !== 'string' || !TENANT_NAME_PATTERN.test(tenantName))
    return 'must be a tenant name (1–63 of a-z 0-9 -)';
  // One message for both: an environment admin must not learn which tenant names exist.
  if (!tenant?.environments.includes(environmentId))
    return `no tenant "${tenantName}" allows environment "${environmentId}"`;
  return undefined;
}

function normalizeDefaultMenus(menus: unknown): { menus: string[] } | { error: string } {
  if (menus === undefined) return { menus: [...SETTINGS_DEFAULTS.defaultMenus] };
  if (
    !Array.isArray(menus) ||
    !menus.every((menu) => typeof menu === 'string' && menu.trim() !== '' && menu.length <= MAX_MENU_LENGTH)
  ) {
    return { error: 'must be an array of non-empty menu names' };
  }
  if (menus.length > MAX_MENUS) return { error: `must list at most ${MAX_MENUS} menus` };
  return { menus: [...(menus as string[])] };
}

function normalizePeriodicSync(value: unknown): { periodicSync: boolean } | { error: string } {
  if (value === undefined) return { periodicSync: SETTINGS_DEFAULTS.periodicSync };
  return typeof value === 'boolean' ? { periodicSync: value } : { error: 'must be true or false' };
}

function normalizeDeactivationLimit(limit: unknown): { limit: number } | { error: string } {
  if (limit === undefined) return { limit: SETTINGS_DEFAULTS.deactivationLimit };
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0) {
    return { error: 'must be an integer ≥ 0' };
  }
  return { limit };
}

/**
 * Pure: validates and normalizes a settings body. Every bad field is named at
 * once; nothing is returned unless everything is valid.
 */
export function validateSettings(
  body: Readonly<Record<string, unknown>>,
  environmentId: string,
  tenant: TenantFacts | undefined,
): ExternalUsersSettings {
  const fields: Record<string, string> = {};
  const tenantError = tenantProblem(body.tenant, environmentId, tenant);
  if (tenantError !== undefined) fields.tenant = tenantError;
  const groups = normalizeGroupsToSync(body.groupsToSync);
  if ('error' in groups) fields.groupsToSync = groups.error;
  const menus = normalizeDefaultMenus(body.defaultMenus);
  if ('error' in menus) fields.defaultMenus = menus.error;
  const periodic = normalizePeriodicSync(body.periodicSync);
  if ('error' in periodic) fields.periodicSync = periodic.error;
  const limit = normalizeDeactivationLimit(body.deactivationLimit);
  if ('error' in limit) fields.deactivationLimit = limit.error;
  const notificationEmails = normalizeNotificationEmails(body.notificationEmails);
  if ('error' in notificationEmails) fields.notificationEmails = notificationEmails.error;

  if (
    tenantError !== undefined ||
    'error' in groups ||
    'error' in menus ||
    'error' in periodic ||
    'error' in limit ||
    'error' in notificationEmails
  ) {
    throw new AppError('validation', 'The settings are not valid.', { fields });
  }
  return {
    tenant: body.tenant as string,
    groupsToSync: groups.ids,
    defaultMenus: menus.menus,
    periodicSync: periodic.periodicSync,
    deactivationLimit: limit.limit,
    notificationEmails: notificationEmails.emails,
  };
}

function checkEnvironmentId(environmentId: string): void {
  parseWith(
    z.object({
      envId: z.string().regex(ENVIRONMENT_ID_PATTERN, { error: 'must be 1–64 of A-Z a-z 0-9 _ -' }),
    }),
    { envId: environmentId },
  );
}

export type SettingsWithRun = SettingsView & {
  latestRun: SyncRun | null;
  /** Each configured group with its name as last read from the directory (null until then). */
  groups: { id: string; displayName: string | null }[];
};

export interface EnvironmentsService {
  /** Operator only: creates an environment or changes its name / integration switch. */
  put: PutResource<EnvironmentBody, EnvironmentView>;
  /** The caller must already be authorized for the environment. */
  read(environmentId: string): Promise<EnvironmentView>;
  putSettings(
    principal: Principal,
    environmentId: string,
    body: Readonly<Record<string, unknown>>,
  ): Promise<SettingsView>;
  readSettings(environmentId: string): Promise<SettingsWithRun>;
}

export interface EnvironmentsDeps {
  readonly environments: EnvironmentsRepository;
  readonly tenants: { get(name: string): Promise<TenantFacts | undefined> };
  readonly audit: Pick<AuditTrail, 'around'>;
  /** The environment's most recent sync run, as the sync reports it. */
  readonly latestRun: (environmentId: string) => Promise<SyncRun | null>;
  /** The known group names (by lower-case id) of the tenant's directory. */
  readonly groupNames?: (tenant: string) => Promise<ReadonlyMap<string, string>>;
}

// Long only as a factory: its body is the short functions below, closed over the deps.
export function createEnvironmentsService(deps: EnvironmentsDeps): EnvironmentsService {
  const { environments, audit } = deps;

  async function existingEnvironment(environmentId: string): Promise<EnvironmentRecord> {
    checkEnvironmentId(environmentId);
    const environment = await environments.get(environmentId);
    if (!environment) throw new AppError('not-found', `Environment "${environmentId}" does not exist.`);
    return environment;
  }

  return {
    async put(principal, environmentId, readBody) {
      authorize(principal, 'environment:write');
      checkEnvironmentId(environmentId);
      const body = await readBody();
      const current = await environments.get(environmentId);
      const next = {
        id: environmentId,
        name: body.name,
        externalUsersIntegration: body.externalUsersIntegration ?? current?.externalUsersIntegration ?? false,
      };
      const result = await audit.around(
        {
          actor: principal.sub,
          action: current ? 'environment.updated' : 'environment.created',
          target: { kind: 'environment', id: environmentId },
          // Saving an environment never changes its settings.
          changes: diffFields(current && { ...toEnvironmentView(current) }, next, [
            'id',
            'externalUsersConfigured',
          ]),
        },
        () => environments.save(next),
      );
      return { value: toEnvironmentView(result.environment), created: result.created };
    },

    async read(environmentId) {
      return toEnvironmentView(await existingEnvironment(environmentId));
    },

    async putSettings(principal, environmentId, body) {
      const environment = await existingEnvironment(environmentId);
      if (!environment.externalUsersIntegration) {
        throw new AppError(
          'integration-disabled',
          `The external users integration of environment "${environmentId}" is off; a platform operator must switch it on.`,
        );
      }
      const tenantName = body.tenant;
      const tenant =
        typeof tenantName === 'string' && TENANT_NAME_PATTERN.test(tenantName)
          ? await deps.tenants.get(tenantName)
          : undefined;
      const settings = validateSettings(body, environmentId, tenant);
      const before = environment.externalUsers;
      const result = await audit.around(
        {
          actor: principal.sub,
          action: 'environment.settings-updated',
          target: { kind: 'environment', id: environmentId },
          changes: diffFields(before && { ...toSettingsView(before) }, { ...toSettingsView(settings) }),
        },
        () => environments.saveSettings(environmentId, settings),
      );
      const after = result.environment.externalUsers ?? settings;
      return toSettingsView(after);
    },

    async readSettings(environmentId) {
      const environment = await existingEnvironment(environmentId);
      if (!environment.externalUsers) {
        throw new AppError(
          'not-found',
          `The external users integration of "${environmentId}" is not configured.`,
        );
      }
      const settings = environment.externalUsers;
      const [latestRun, names] = await Promise.all([
        deps.latestRun(environmentId),
        deps.groupNames?.(settings.tenant) ?? Promise.resolve(new Map<string, string>()),
      ]);
      const groups = settings.groupsToSync.map((id) => ({ id, displayName: names.get(id) ?? null }));
      return { ...toSettingsView(settings), latestRun, groups };
    },
  };
}
