import type { Services } from '../shared/app/services.js';
import type { Principal } from '../shared/auth/policy.js';
import { environmentBodySchema } from '../shared/environments/schemas.js';
import type { SettingsView } from '../shared/environments/service.js';
import { tenantBodySchema } from '../shared/tenants/schemas.js';
import type { TenantConnection } from '../shared/tenants/repository.js';
import type { TenantView } from '../shared/tenants/service.js';
import { parseWith } from '../shared/validation.js';

export const DEMO_TENANT = 'demo';
export const DEMO_ENVIRONMENT = 'demo';
export const DEMO_PARTNER = 'demo-partner';
export const DEMO_OPERATOR = 'demo-seed';

/** The demo directory's app registration, and the groups the demo environment syncs. */
export type SeedDemoInput = Omit<TenantConnection, 'name' | 'environments'> & {
  readonly groupsToSync: readonly string[];
};

export interface SeededDemo {
  readonly tenant: TenantView;
  readonly environmentId: string;
  readonly settings: SettingsView;
}

/**
 * The demo of `npm start`: tenant "demo" (owned by "demo-partner") and environment "demo" with the
 * integration on and configured. Goes through the same services as the API, so the demo data is
 * validated and audited like any other; running it again converges to the same state.
 */
export async function seedDemo(
  { tenants, environments }: Pick<Services, 'tenants' | 'environments'>,
  input: SeedDemoInput,
): Promise<SeededDemo> {
  const partner: Principal = { sub: DEMO_PARTNER, roles: ['partner'], environments: [] };
  const operator: Principal = { sub: DEMO_OPERATOR, roles: ['platform-operator'], environments: [] };

  await environments.put(operator, DEMO_ENVIRONMENT, () =>
    Promise.resolve(
      parseWith(environmentBodySchema, { name: 'Demo environment', externalUsersIntegration: true }),
    ),
  );
  const { value: tenant } = await tenants.put(partner, DEMO_TENANT, () =>
    Promise.resolve(
      parseWith(tenantBodySchema, {
        directoryId: input.directoryId,
        clientId: input.clientId,
        clientSecret: input.clientSecret,
        environments: [DEMO_ENVIRONMENT],
        authorityHost: input.authorityHost,
        graphBaseUrl: input.graphBaseUrl,
      }),
    ),
  );
  const settings = await environments.putSettings(operator, DEMO_ENVIRONMENT, {
    tenant: DEMO_TENANT,
    groupsToSync: input.groupsToSync.join(','),
    defaultMenus: ['Home', 'Projects'],
    periodicSync: true,
    deactivationLimit: 50,
  });
  return { tenant, environmentId: DEMO_ENVIRONMENT, settings };
}
