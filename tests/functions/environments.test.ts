import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useTestEnvironment, testRepositories, testServices } from '../support/storage.js';
import { call, useManagementKeys, type ManagementKeys } from './handler-support.js';
import { guid, uniqueId } from '../support/ids.js';

let keys: ManagementKeys;
let operator: string;

beforeAll(async () => {
  await import('../../functions/environments.js');
  await import('../../functions/externalUsers.js');
  useTestEnvironment();
  keys = await useManagementKeys();
  operator = await keys.token({ sub: 'op-1', roles: ['platform-operator'] });
});

beforeEach(() => {
  useTestEnvironment();
});

const adminOf = (...environments: string[]) =>
  keys.token({ sub: `admin-${environments.join('-')}`, roles: ['environment-admin'], environments });

async function putEnvironment(envId: string, body: unknown, token: string) {
  return call('environmentPut', {
    method: 'PUT',
    path: `environments/${envId}`,
    params: { envId },
    body,
    token,
  });
}

async function putSettings(envId: string, body: unknown, token: string) {
  return call('externalUsersPut', {
    method: 'PUT',
    path: `environments/${envId}/external-users`,
    params: { envId },
    body,
    token,
  });
}

async function getSettings(envId: string, token: string) {
  return call('externalUsersGet', {
    method: 'GET',
    path: `environments/${envId}/external-users`,
    params: { envId },
    token,
  });
}

/** An environment with the integration on and a tenant that allows it. */
async function readyEnvironment(): Promise<{ envId: string; tenant: string }> {
  const envId = uniqueId('Env');
  const tenant = uniqueId('t');
  expect(
    (await putEnvironment(envId, { name: 'Acme production', externalUsersIntegration: true }, operator))
      .status,
  ).toBe(201);
  await testRepositories().tenants.save({
    name: tenant,
    owner: 'partner-a',
    directoryId: guid(),
    clientId: guid(),
    clientSecret: 'secret',
    environments: [envId],
  });
  return { envId, tenant };
}

describe('PUT /api/environments/{envId}', () => {
  it('creates (201) and updates (200), operator only; settings survive an update', async () => {
    const envId = uniqueId('Env_x');
    const created = await putEnvironment(
      envId,
      { name: 'Acme production', externalUsersIntegration: true },
      operator,
    );
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: envId,
      name: 'Acme production',
      externalUsersIntegration: true,
      externalUsersConfigured: false,
    });
    const tenant = uniqueId('t');
    await testRepositories().tenants.save({
      name: tenant,
      owner: 'p',
      directoryId: guid(),
      clientId: guid(),
      clientSecret: 's',
      environments: [envId],
    });
    expect((await putSettings(envId, { tenant, groupsToSync: guid() }, operator)).status).toBe(200);

    const updated = await putEnvironment(
      envId,
      { name: 'Renamed', externalUsersIntegration: false },
      operator,
    );
    expect(updated.status).toBe(200);
    expect(updated.body).toEqual({
      id: envId,
      name: 'Renamed',
      externalUsersIntegration: false,
      externalUsersConfigured: true,
    });
    expect((await testRepositories().environments.get(envId))?.externalUsers?.tenant).toBe(tenant);

    const admin = await adminOf(envId);
    const partner = await keys.token({ sub: 'p', roles: ['partner'] });
    expect((await putEnvironment(envId, { name: 'x', externalUsersIntegration: true }, admin)).status).toBe(
      403,
    );
    expect((await putEnvironment(envId, { name: 'x', externalUsersIntegration: true }, partner)).status).toBe(
      403,
    );
    expect((await testRepositories().environments.get(envId))?.externalUsersIntegration).toBe(false);

    const trail = await testServices().audit.list({ kind: 'environment', id: envId });
    expect(trail[0]).toMatchObject({
      actor: 'op-1',
      action: 'environment.updated',
      changes: {
        name: { from: 'Acme production', to: 'Renamed' },
        externalUsersIntegration: { from: true, to: false },
      },
    });
  });

  it('validates the id and the body', async () => {
    const badId = await putEnvironment('bad.id', { name: 'x' }, operator);
    expect(badId.status).toBe(400);
    expect((badId.body as { errors: Record<string, string> }).errors).toHaveProperty('envId');
    const tooLong = await putEnvironment('a'.repeat(65), { name: 'x' }, operator);
    expect(tooLong.status).toBe(400);
    const badBody = await putEnvironment(
      uniqueId('e'),
      { name: '', externalUsersIntegration: 'yes' },
      operator,
    );
    expect(badBody.status).toBe(400);
    expect((badBody.body as { errors: Record<string, string> }).errors).toEqual({
      name: 'must not be empty',
      externalUsersIntegration: 'must be true or false',
    });
  });
});

describe('GET /api/environments/{envId}', () => {
  it('answers the operator and that environment’s admin; 403 for others; 404 when unknown', async () => {
    const { envId } = await readyEnvironment();
    const params = { envId };
    const get = (token?: string) =>
      call('environmentGet', {
        method: 'GET',
        path: `environments/${envId}`,
        params,
        ...(token ? { token } : {}),
      });
    expect((await get(operator)).body).toEqual({
      id: envId,
      name: 'Acme production',
      externalUsersIntegration: true,
      externalUsersConfigured: false,
    });
    expect((await get(await adminOf(envId))).status).toBe(200);
    expect((await get(await adminOf('someone-else'))).status).toBe(403);
    expect((await get(await keys.token({ roles: ['partner'] }))).status).toBe(403);
    expect((await get()).status).toBe(401);
    const unknown = await call('environmentGet', {
      method: 'GET',
      path: 'environments/nope',
      params: { envId: 'nope' },
      token: operator,
    });
    expect(unknown.status).toBe(404);
  });

  it('tells whether settings were saved, so a client need not ask for absent ones', async () => {
    const { envId, tenant } = await readyEnvironment();
    const get = async () =>
      (
        await call('environmentGet', {
          method: 'GET',
          path: `environments/${envId}`,
          params: { envId },
          token: operator,
        })
      ).body as { externalUsersConfigured: boolean };
    expect((await get()).externalUsersConfigured).toBe(false);
    expect((await getSettings(envId, operator)).status).toBe(404);
    expect((await putSettings(envId, { tenant, groupsToSync: guid() }, operator)).status).toBe(200);
    expect((await get()).externalUsersConfigured).toBe(true);
    expect((await getSettings(envId, operator)).status).toBe(200);
  });
});

describe('PUT /api/environments/{envId}/external-users', () => {
  it('normalizes groupsToSync and applies defaults (200)', async () => {
    const { envId, tenant } = await readyEnvironment();
    const a = 'AAAAAAAA-1111-2222-3333-444444444444';
    const b = 'bbbbbbbb-1111-2222-3333-444444444444';
    const response = await putSettings(
      envId,
      { tenant, groupsToSync: ` ${a}, ,${b},${a.toLowerCase()},, ` },
      await adminOf(envId),
    );
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      tenant,
      groupsToSync: `${a.toLowerCase()},${b}`,
      defaultMenus: [],
      periodicSync: false,
      deactivationLimit: 50,
      notificationEmails: [],
    });
    expect((await testRepositories().environments.get(envId))?.externalUsers?.groupsToSync).toEqual([
      a.toLowerCase(),
      b,
    ]);
  });

  it('stores every given field', async () => {
    const { envId, tenant } = await readyEnvironment();
    const group = guid();
    const body = {
      tenant,
      groupsToSync: group,
      defaultMenus: ['Home', 'Projects'],
      periodicSync: true,
      deactivationLimit: 0,
      notificationEmails: ['ops@partner.example', 'oncall@partner.example'],
    };
    const response = await putSettings(envId, body, operator);
    expect(response.status).toBe(200);
    expect(response.body).toEqual(body);
    const trail = await testServices().audit.list({ kind: 'environment', id: envId });
    expect(trail[0]).toMatchObject({ actor: 'op-1', action: 'environment.settings-updated' });
    expect(trail[0]?.changes).toMatchObject({
      tenant: { from: null, to: tenant },
      deactivationLimit: { from: null, to: 0 },
    });
  });

  it('refuses more than 5 notification addresses or a malformed one, naming the field', async () => {
    const { envId, tenant } = await readyEnvironment();
    const six = ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => `${n}@partner.example`);
    for (const notificationEmails of [six, ['not an address'], 'ops@partner.example']) {
      const response = await putSettings(
        envId,
        { tenant, groupsToSync: guid(), notificationEmails },
        operator,
      );
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ errors: { notificationEmails: expect.any(String) as string } });
    }
    expect((await testRepositories().environments.get(envId))?.externalUsers).toBeUndefined();
  });

  it('answers 409 integration-disabled while the integration is off', async () => {
    const { envId, tenant } = await readyEnvironment();
    await putEnvironment(envId, { name: 'Off', externalUsersIntegration: false }, operator);
    const response = await putSettings(envId, { tenant, groupsToSync: guid() }, await adminOf(envId));
    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({ type: '/problems/integration-disabled', status: 409 });
    expect((await testRepositories().environments.get(envId))?.externalUsers).toBeUndefined();
  });

  const G = '11111111-2222-3333-4444-555555555555';
  it.each<[string, (tenant: string) => Record<string, unknown>, Record<string, string>]>([
    ['nothing', () => ({}), { tenant: 'is required', groupsToSync: 'is required' }],
    [
      'unknown tenant, only blanks',
      () => ({ tenant: 'no-such-tenant-x', groupsToSync: ' , ,' }),
      {
        tenant: 'no tenant "no-such-tenant-x" allows environment "{envId}"',
        groupsToSync: 'must list at least one group id',
      },
    ],
    [
      'malformed tenant and groups',
      () => ({ tenant: 'Bad Name', groupsToSync: ['x'] }),
      {
        tenant: 'must be a tenant name (1–63 of a-z 0-9 -)',
        groupsToSync: 'must be a comma-separated string of group ids',
      },
    ],
    [
      'bad group ids',
      (tenant) => ({ tenant, groupsToSync: `not-a-guid, ${G}, 123` }),
      { groupsToSync: 'must hold only GUIDs; not a GUID: "not-a-guid", "123"' },
    ],
    [
      'negative limit',
      (tenant) => ({ tenant, groupsToSync: G, deactivationLimit: -1 }),
      { deactivationLimit: 'must be an integer ≥ 0' },
    ],
    [
      'fractional limit',
      (tenant) => ({ tenant, groupsToSync: G, deactivationLimit: 1.5 }),
      { deactivationLimit: 'must be an integer ≥ 0' },
    ],
    [
      'string limit',
      (tenant) => ({ tenant, groupsToSync: G, deactivationLimit: '5' }),
      { deactivationLimit: 'must be an integer ≥ 0' },
    ],
    [
      'wrong types of optional fields',
      (tenant) => ({ tenant, groupsToSync: G, periodicSync: 'true', defaultMenus: 'Home' }),
      { periodicSync: 'must be true or false', defaultMenus: 'must be an array of non-empty menu names' },
    ],
  ])('400 naming each bad field, nothing stored: %s', async (_label, body, errors) => {
    const { envId, tenant } = await readyEnvironment();
    const response = await putSettings(envId, body(tenant), operator);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ type: '/problems/validation', status: 400 });
    const expected = Object.fromEntries(
      Object.entries(errors).map(([field, message]) => [field, message.replace('{envId}', envId)]),
    );
    expect((response.body as { errors: Record<string, string> }).errors).toEqual(expected);
    expect((await testRepositories().environments.get(envId))?.externalUsers).toBeUndefined();
  });

  it('refuses a tenant that does not list this environment', async () => {
    const { envId } = await readyEnvironment();
    const other = uniqueId('t');
    await testRepositories().tenants.save({
      name: other,
      owner: 'p',
      directoryId: guid(),
      clientId: guid(),
      clientSecret: 's',
      environments: ['elsewhere'],
    });
    const response = await putSettings(envId, { tenant: other, groupsToSync: guid() }, operator);
    expect(response.status).toBe(400);
    expect((response.body as { errors: Record<string, string> }).errors).toEqual({
      tenant: `no tenant "${other}" allows environment "${envId}"`,
    });
  });

  it('refuses cross-environment admins, partners and anonymous callers; 404 for an unknown environment', async () => {
    const { envId, tenant } = await readyEnvironment();
    const body = { tenant, groupsToSync: guid() };
    expect((await putSettings(envId, body, await adminOf('other-env'))).status).toBe(403);
    expect((await putSettings(envId, body, await keys.token({ roles: ['partner'] }))).status).toBe(403);
    expect(
      (
        await call('externalUsersPut', {
          method: 'PUT',
          path: `environments/${envId}/external-users`,
          params: { envId },
          body,
        })
      ).status,
    ).toBe(401);
    expect((await putSettings('unknown-env', body, await adminOf('unknown-env'))).status).toBe(404);
  });
});

describe('GET /api/environments/{envId}/external-users', () => {
  it('answers the settings with latestRun null, then the newest run', async () => {
    const { envId, tenant } = await readyEnvironment();
    const admin = await adminOf(envId);
    const group = guid();
    await putSettings(envId, { tenant, groupsToSync: group, defaultMenus: ['Home'] }, admin);
    const first = await getSettings(envId, admin);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      tenant,
      groupsToSync: group,
      defaultMenus: ['Home'],
      periodicSync: false,
      deactivationLimit: 50,
      notificationEmails: [],
      latestRun: null,
      groups: [{ id: group, displayName: null }],
    });
    // Through the sync service, as POST .../sync does: a run record plus its lease and message.
    const { runId } = await testServices().sync.requestSync({
      environmentId: envId,
      trigger: 'manual',
      requestedBy: 'admin',
      confirmDeactivations: false,
    });
    const second = await getSettings(envId, admin);
    expect(second.body).toMatchObject({ latestRun: { runId, status: 'queued', trigger: 'manual' } });
  });

  it('answers 404 while not configured, 403 to other admins', async () => {
    const { envId } = await readyEnvironment();
    expect((await getSettings(envId, operator)).status).toBe(404);
    expect((await getSettings(envId, await adminOf('x'))).status).toBe(403);
  });
});
