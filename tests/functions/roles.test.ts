import { managementOperations } from '../../shared/host/registry.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveConfiguredEnvironment, useTestEnvironment, testRepositories } from '../support/storage.js';
import { call, useManagementKeys } from './handler-support.js';
import { guid, uniqueId } from '../support/ids.js';

/**
 * The role matrix: every role against every MGMT route. "allow" means the policy let the request
 * through (any status but 401/403); the data is set up so allowed requests succeed.
 */
type Caller =
  'anonymous' | 'no-role' | 'operator' | 'owner-partner' | 'other-partner' | 'env-admin' | 'other-admin';
type Outcome = 'allow' | 401 | 403;

const ENV = uniqueId('matrix');
const OWNER = 'owner-partner-sub';

/** A tenant's routes: the platform operator and the partner who owns the tenant. */
const OPERATOR_OR_OWNING_PARTNER: Record<Caller, Outcome> = {
  anonymous: 401,
  'no-role': 403,
  operator: 'allow',
  'owner-partner': 'allow',
  'other-partner': 403,
  'env-admin': 403,
  'other-admin': 403,
};

/** An environment's own routes: the platform operator and that environment's admins. */
const OPERATOR_OR_ENVIRONMENT_ADMIN: Record<Caller, Outcome> = {
  anonymous: 401,
  'no-role': 403,
  operator: 'allow',
  'owner-partner': 403,
  'other-partner': 403,
  'env-admin': 'allow',
  'other-admin': 403,
};

interface Route {
  name: string;
  method: string;
  /** Builds path params and body; may create its own data so each call can succeed. */
  prepare(): Promise<{ path: string; params: Record<string, string>; body?: unknown }>;
  expected: Record<Caller, Outcome>;
}

async function freshTenant(): Promise<string> {
  const name = uniqueId('mt');
  await testRepositories().tenants.save({
    name,
    owner: OWNER,
    directoryId: guid(),
    clientId: guid(),
    clientSecret: 's',
    environments: [ENV],
  });
  return name;
}

const tenantBody = () => ({ directoryId: guid(), clientId: guid(), clientSecret: 's', environments: [ENV] });

const ROUTES: Route[] = [
  {
    name: 'tenantsList',
    method: 'GET',
    prepare: () => Promise.resolve({ path: 'tenants', params: {} }),
    expected: {
      anonymous: 401,
      'no-role': 403,
      operator: 'allow',
      'owner-partner': 'allow',
      'other-partner': 'allow',
      'env-admin': 403,
      'other-admin': 403,
    },
  },
  {
    name: 'tenantPut',
    method: 'PUT',
    prepare: async () => {
      const name = await freshTenant();
      return { path: `tenants/${name}`, params: { name }, body: tenantBody() };
    },
    expected: OPERATOR_OR_OWNING_PARTNER,
  },
  {
    name: 'tenantGet',
    method: 'GET',
    prepare: async () => {
      const name = await freshTenant();
      return { path: `tenants/${name}`, params: { name } };
    },
    expected: OPERATOR_OR_OWNING_PARTNER,
  },
  {
    name: 'tenantCheck',
    method: 'POST',
    prepare: async () => {
      const name = await freshTenant();
      return { path: `tenants/${name}/check`, params: { name } };
    },
    expected: OPERATOR_OR_OWNING_PARTNER,
  },
  {
    name: 'tenantDelete',
    method: 'DELETE',
    prepare: async () => {
      const name = await freshTenant();
      return { path: `tenants/${name}`, params: { name } };
    },
    expected: OPERATOR_OR_OWNING_PARTNER,
  },
  {
    name: 'environmentPut',
    method: 'PUT',
    prepare: () =>
      Promise.resolve({
        path: `environments/${ENV}`,
        params: { envId: ENV },
        body: { name: 'Matrix', externalUsersIntegration: true },
      }),
    expected: {
      anonymous: 401,
      'no-role': 403,
      operator: 'allow',
      'owner-partner': 403,
      'other-partner': 403,
      'env-admin': 403,
      'other-admin': 403,
    },
  },
  {
    name: 'environmentGet',
    method: 'GET',
    prepare: () => Promise.resolve({ path: `environments/${ENV}`, params: { envId: ENV } }),
    expected: OPERATOR_OR_ENVIRONMENT_ADMIN,
  },
  {
    name: 'externalUsersPut',
    method: 'PUT',
    prepare: async () => ({
      path: `environments/${ENV}/external-users`,
      params: { envId: ENV },
      body: { tenant: await freshTenant(), groupsToSync: guid() },
    }),
    expected: OPERATOR_OR_ENVIRONMENT_ADMIN,
  },
  {
    name: 'externalUsersGet',
    method: 'GET',
    prepare: () => Promise.resolve({ path: `environments/${ENV}/external-users`, params: { envId: ENV } }),
    expected: OPERATOR_OR_ENVIRONMENT_ADMIN,
  },
];

const tokens = new Map<Caller, string | undefined>();

beforeAll(async () => {
  await import('../../functions/tenants.js');
  await import('../../functions/environments.js');
  await import('../../functions/externalUsers.js');
  useTestEnvironment();
  const keys = await useManagementKeys();
  tokens.set('anonymous', undefined);
  tokens.set('no-role', await keys.token({ sub: 'nobody', roles: [], environments: [ENV] }));
  tokens.set('operator', await keys.token({ sub: 'op', roles: ['platform-operator'] }));
  tokens.set('owner-partner', await keys.token({ sub: OWNER, roles: ['partner'] }));
  tokens.set('other-partner', await keys.token({ sub: 'other-partner', roles: ['partner'] }));
  tokens.set(
    'env-admin',
    await keys.token({ sub: 'admin', roles: ['environment-admin'], environments: [ENV] }),
  );
  tokens.set(
    'other-admin',
    await keys.token({ sub: 'other-admin', roles: ['environment-admin'], environments: ['elsewhere'] }),
  );
  await saveConfiguredEnvironment({ id: ENV, name: 'Matrix', tenant: await freshTenant() });
});

describe('role matrix', () => {
  it('has a row for every management route these functions register', () => {
    const registered = managementOperations().map(({ name, method }) => `${method} ${name}`);
    expect(ROUTES.map(({ name, method }) => `${method} ${name}`).sort()).toEqual(registered.sort());
  });

  const cases = ROUTES.flatMap((route) =>
    (Object.keys(route.expected) as Caller[]).map(
      (caller) => [route.name, caller, route.expected[caller]] as const,
    ),
  );
  it.each(cases)('%s as %s → %s', async (name, caller, expected) => {
    const route = ROUTES.find((r) => r.name === name)!;
    const { path, params, body } = await route.prepare();
    const token = tokens.get(caller);
    const response = await call(name, {
      method: route.method,
      path,
      params,
      ...(body === undefined ? {} : { body }),
      ...(token === undefined ? {} : { token }),
    });
    if (expected === 'allow') {
      expect(response.status, response.text).toBeLessThan(300);
    } else {
      expect(response.status).toBe(expected);
      expect(response.headers['content-type']).toBe('application/problem+json');
      expect(response.body).toMatchObject({
        status: expected,
        type: expected === 401 ? '/problems/unauthorized' : '/problems/forbidden',
      });
    }
  });
});
