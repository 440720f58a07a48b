import { managementOperations } from '../../shared/host/registry.js';
import { randomUUID, generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LocalHost } from '../../scripts/local-host/local-host.js';
import { apiClient, expectProblem } from '../support/api.js';
import { devDirectoryOrigin, managementToken } from '../support/dev-directory.js';
import { startTestHost } from '../support/host.js';
import { uid } from '../support/ids.js';
import { testClock } from '../support/storage.js';
import { until } from '../support/wait.js';

/**
 * Tenants, environments, health and the timer (through the admin endpoint), as an outside tester
 * sees them: HTTP against the local host, tokens from the dev directory. Queues are off, so a
 * queued run stays queued and "busy" is deterministic.
 */
let host: LocalHost;
const api = apiClient(() => host);
const run = uid();
let operator: string;

beforeAll(async () => {
  host = await startTestHost();
  operator = await managementToken('platform-operator', undefined, `op-${run}`);
});

afterAll(async () => {
  await host?.stop();
});

afterEach(() => {
  testClock.use(undefined);
});

const tenantBody = (environments: string[], extra: Record<string, unknown> = {}) => ({
  directoryId: randomUUID(),
  clientId: randomUUID(),
  clientSecret: `secret-${uid()}`,
  environments,
  ...extra,
});

async function createEnvironment(id: string, integration = true): Promise<void> {
  const answer = await api('PUT', `environments/${id}`, {
    token: operator,
    body: { name: `Env ${id}`, externalUsersIntegration: integration },
  });
  expect(answer.status, answer.text).toBe(201);
}

async function createTenant(name: string, environments: string[], token = operator): Promise<void> {
  const answer = await api('PUT', `tenants/${name}`, { token, body: tenantBody(environments) });
  expect(answer.status, answer.text).toBe(201);
}

describe('§3.1 who may call it', () => {
  it('every protected route answers 401 problem+json without a token, with a malformed header and a foreign or expired token', async () => {
    const env = `auth-${run}`;
    // Sample values for the route parameters; each protected route is taken from the registry.
    const samples: Record<string, string> = {
      name: `t-${run}`,
      envId: env,
      runId: '0000000000000-000000000000',
      userId: 'someone',
    };
    const routes = managementOperations().map(({ method, route }): [string, string] => [
      method,
      route.replace(/\{(\w+)\}/g, (_, parameter: string) => samples[parameter] ?? parameter),
    ]);
    expect(routes.length).toBeGreaterThanOrEqual(15);
    for (const [method, route] of routes) {
      const body = method === 'GET' || method === 'DELETE' ? undefined : {};
      expectProblem(await api(method, route, { body }), 401, '/problems/unauthorized');
    }

    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const origin = devDirectoryOrigin();
    const sign = (claims: Record<string, unknown>, issuer: string, audience: string) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: 'not-published' })
        .setSubject('intruder')
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(privateKey);
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({
        sub: 'x',
        roles: ['platform-operator'],
        iss: `${origin}/management`,
        aud: 'api://bizzstream-external-users',
        exp: Math.floor(Date.now() / 1000) + 600,
      }),
    ).toString('base64url')}.`;
    const bad: Record<string, string>[] = [
      { authorization: 'Basic dXNlcjpwYXNz' },
      { authorization: 'Bearer' },
      { authorization: `Bearer ${unsigned}` },
      {
        authorization: `Bearer ${await sign({ roles: ['platform-operator'] }, `${origin}/management`, 'api://bizzstream-external-users')}`,
      },
      {
        authorization: `Bearer ${await managementToken({ sub: 'late', roles: ['platform-operator'], expiresInSeconds: -3600 })}`,
      },
    ];
    for (const headers of bad) {
      expectProblem(await api('GET', 'tenants', { headers }), 401, '/problems/unauthorized');
    }
  });

  it('anonymous routes need no token', async () => {
    const health = await api('GET', 'health');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    const reset = await api('POST', 'password-reset', {
      body: { email: `nobody-${run}@example.test`, environment: `none-${run}` },
    });
    expect(reset.status).toBe(202);
    const session = await api('GET', 'auth/session');
    // 401 here is "not signed in", not a missing bearer token: no WWW-Authenticate Bearer demanded of a browser.
    expect(session.status).toBe(401);
    const login = await api('GET', `auth/login?environment=none-${run}`, {
      headers: { accept: 'application/json' },
    });
    expect(login.status).toBe(404);
  });

  it('a valid token without the right answers 403 problem+json', async () => {
    const env = `roles-${run}`;
    await createEnvironment(env);
    const nobody = await managementToken({ sub: `nobody-${run}`, roles: [] });
    const partner = await managementToken('partner', undefined, `partner-${run}`);
    const admin = await managementToken('environment-admin', [env], `admin-${run}`);
    const otherAdmin = await managementToken('environment-admin', [`other-${run}`]);

    expectProblem(await api('GET', 'tenants', { token: nobody }), 403, '/problems/forbidden');
    expectProblem(await api('GET', `environments/${env}`, { token: nobody }), 403, '/problems/forbidden');
    // Only the operator switches the integration (or creates environments), not even its own admin.
    for (const token of [partner, admin, otherAdmin]) {
      expectProblem(
        await api('PUT', `environments/${env}`, {
          token,
          body: { name: 'x', externalUsersIntegration: false },
        }),
        403,
        '/problems/forbidden',
      );
    }
    expectProblem(
      await api('PUT', `environments/new-${run}`, { token: partner, body: { name: 'x' } }),
      403,
      '/problems/forbidden',
    );
    // Environment admins: their environments only; never tenants.
    expect((await api('GET', `environments/${env}`, { token: admin })).status).toBe(200);
    for (const route of [
      `environments/${env}`,
      `environments/${env}/users`,
      `environments/${env}/sync-runs`,
    ]) {
      expectProblem(await api('GET', route, { token: otherAdmin }), 403, '/problems/forbidden');
      expectProblem(await api('GET', route, { token: partner }), 403, '/problems/forbidden');
    }
    expectProblem(await api('GET', 'tenants', { token: admin }), 403, '/problems/forbidden');
    expectProblem(
      await api('PUT', `tenants/admin-${run}`, { token: admin, body: tenantBody([env]) }),
      403,
      '/problems/forbidden',
    );
    const unchanged = await api('GET', `environments/${env}`, { token: operator });
    expect(unchanged.body).toMatchObject({ externalUsersIntegration: true });
  });
});

describe('§3.2 tenants', () => {
  it('names: 1 and 63 of a-z 0-9 - are accepted; 64, capitals, _ . and spaces are 400', async () => {
    const one = `${'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(Math.random() * 36)]}`;
    // A one-character name may exist from an earlier run of this worker: 201 or 200.
    const single = await api('PUT', `tenants/${one}`, { token: operator, body: tenantBody([]) });
    expect([200, 201]).toContain(single.status);
    const max = `m-${run}-`.padEnd(63, '0');
    expect(max).toHaveLength(63);
    expect((await api('PUT', `tenants/${max}`, { token: operator, body: tenantBody([]) })).status).toBe(201);
    expect((await api('GET', `tenants/${max}`, { token: operator })).body).toMatchObject({ name: max });
    for (const name of [
      `${max}0`,
      `Upper-${run}`,
      `under_${run}`,
      `dot.${run}`,
      `sp%20${run}`,
      `caf%C3%A9${run}`,
    ]) {
      expectProblem(
        await api('PUT', `tenants/${name}`, { token: operator, body: tenantBody([]) }),
        400,
        '/problems/validation',
      );
    }
  });

  it('201 then 200 with the tenant as stored: defaults, owner, hasClientSecret, never the secret', async () => {
    const partnerSub = `partner-a-${run}`;
    const partner = await managementToken('partner', undefined, partnerSub);
    const name = `shape-${run}`;
    const body = tenantBody([`not-yet-${run}`]);
    const created = await api('PUT', `tenants/${name}`, { token: partner, body });
    expect(created.status).toBe(201);
    expect(created.headers.get('content-type')).toMatch(/^application\/json/);
    expect(created.body).toMatchObject({
      name,
      directoryId: body.directoryId,
      clientId: body.clientId,
      environments: [`not-yet-${run}`],
      authorityHost: 'https://login.microsoftonline.com',
      graphBaseUrl: 'https://graph.microsoft.com',
      hasClientSecret: true,
      owner: partnerSub,
    });
    expect(created.body).not.toHaveProperty('clientSecret');
    expect(created.text).not.toContain(body.clientSecret);

    // Update without the secret: 200, the secret kept.
    const withoutSecret: Record<string, unknown> = { ...body };
    delete withoutSecret.clientSecret;
    const updated = await api('PUT', `tenants/${name}`, {
      token: partner,
      body: {
        ...withoutSecret,
        authorityHost: 'https://login.microsoftonline.us',
        graphBaseUrl: 'https://graph.microsoft.us',
      },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({
      name,
      hasClientSecret: true,
      owner: partnerSub,
      authorityHost: 'https://login.microsoftonline.us',
      graphBaseUrl: 'https://graph.microsoft.us',
    });
    const read = await api('GET', `tenants/${name}`, { token: partner });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(updated.body);
    expect(read.text).not.toContain(body.clientSecret);

    // Several tenants may use the same directory.
    const twin = await api('PUT', `tenants/twin-${run}`, { token: partner, body: { ...body } });
    expect(twin.status).toBe(201);
  });

  it('validation names each bad field; authorityHost and graphBaseUrl must be https URLs', async () => {
    const bad = await api('PUT', `tenants/bad-${run}`, {
      token: operator,
      body: {
        directoryId: 'not-a-guid',
        clientId: 42,
        environments: ['ok', 'not ok'],
        authorityHost: 'http://login.microsoftonline.com',
        graphBaseUrl: 'graph.microsoft.com',
      },
    });
    expectProblem(bad, 400, '/problems/validation', [
      'directoryId',
      'clientId',
      'authorityHost',
      'graphBaseUrl',
    ]);
    expect(
      Object.keys((bad.body as { errors: object }).errors).some((k) => k.startsWith('environments')),
    ).toBe(true);
    expectProblem(await api('GET', `tenants/bad-${run}`, { token: operator }), 404, '/problems/not-found');
    // Creating without a secret is refused: a tenant that cannot read its directory is useless.
    const noSecret: Record<string, unknown> = tenantBody([]);
    delete noSecret.clientSecret;
    expectProblem(
      await api('PUT', `tenants/nosecret-${run}`, { token: operator, body: noSecret }),
      400,
      '/problems/validation',
      ['clientSecret'],
    );
  });

  it('ownership: a partner sees and changes its own; another partner gets 403; the operator sees all', async () => {
    const ownerA = await managementToken('partner', undefined, `own-a-${run}`);
    const ownerB = await managementToken('partner', undefined, `own-b-${run}`);
    const name = `owned-${run}`;
    await createTenant(name, [], ownerA);
    await createTenant(`owned-b-${run}`, [], ownerB);

    for (const [method, body] of [
      ['GET', undefined],
      ['PUT', tenantBody([])],
      ['DELETE', undefined],
    ] as const) {
      expectProblem(
        await api(method, `tenants/${name}`, { token: ownerB, body }),
        403,
        '/problems/forbidden',
      );
    }
    const listA = (await api('GET', 'tenants', { token: ownerA })).body as {
      tenants: { name: string; owner: string }[];
    };
    expect(listA.tenants.map((t) => t.name)).toEqual([name]);
    expect(listA.tenants.every((t) => t.owner === `own-a-${run}`)).toBe(true);
    const all = (await api('GET', 'tenants', { token: operator })).body as { tenants: { name: string }[] };
    expect(all.tenants.map((t) => t.name)).toEqual(expect.arrayContaining([name, `owned-b-${run}`]));
    // The operator changes a partner's tenant without taking it over.
    const changed = await api('PUT', `tenants/${name}`, { token: operator, body: tenantBody([`e-${run}`]) });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ owner: `own-a-${run}`, environments: [`e-${run}`] });
    expectProblem(await api('GET', `tenants/absent-${run}`, { token: ownerA }), 404, '/problems/not-found');
  });

  it('DELETE: 409 while an environment uses it, 204 once free, then 404', async () => {
    const env = `del-${run}`;
    const name = `del-${run}`;
    await createEnvironment(env);
    await createTenant(name, [env]);
    const settings = await api('PUT', `environments/${env}/external-users`, {
      token: operator,
      body: { tenant: name, groupsToSync: randomUUID() },
    });
    expect(settings.status, settings.text).toBe(200);
    expectProblem(await api('DELETE', `tenants/${name}`, { token: operator }), 409, '/problems/conflict');
    expect((await api('GET', `tenants/${name}`, { token: operator })).status).toBe(200);

    await createTenant(`${name}-2`, [env]);
    expect(
      (
        await api('PUT', `environments/${env}/external-users`, {
          token: operator,
          body: { tenant: `${name}-2`, groupsToSync: randomUUID() },
        })
      ).status,
    ).toBe(200);
    const deleted = await api('DELETE', `tenants/${name}`, { token: operator });
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expectProblem(await api('GET', `tenants/${name}`, { token: operator }), 404, '/problems/not-found');
    expectProblem(await api('DELETE', `tenants/${name}`, { token: operator }), 404, '/problems/not-found');
  });
});

describe('§3.3 environments', () => {
  it('ids: 1 and 64 of A-Z a-z 0-9 _ - are accepted; 65 and other characters are 400', async () => {
    const max = `Env_${run}-`.padEnd(64, 'Z');
    expect(max).toHaveLength(64);
    const created = await api('PUT', `environments/${max}`, {
      token: operator,
      body: { name: 'Max', externalUsersIntegration: true },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Max', externalUsersIntegration: true });
    const again = await api('PUT', `environments/${max}`, {
      token: operator,
      body: { name: 'Max renamed', externalUsersIntegration: false },
    });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ name: 'Max renamed', externalUsersIntegration: false });
    const single = await api('PUT', `environments/${'ABCxyz019_-'[Math.floor(Math.random() * 11)]}`, {
      token: operator,
      body: { name: 'One' },
    });
    expect([200, 201]).toContain(single.status);
    for (const id of [`${max}Z`, `dot.${run}`, `sp%20${run}`, `t%C3%A9${run}`, `plus+${run}`]) {
      expectProblem(
        await api('PUT', `environments/${id}`, { token: operator, body: { name: 'x' } }),
        400,
        '/problems/validation',
      );
    }
    expectProblem(
      await api('GET', `environments/absent-${run}`, { token: operator }),
      404,
      '/problems/not-found',
    );
  });

  it('external-users: 409 integration-disabled until the operator switches it on', async () => {
    const env = `off-${run}`;
    await createEnvironment(env, false);
    await createTenant(`off-${run}`, [env]);
    const admin = await managementToken('environment-admin', [env]);
    const body = { tenant: `off-${run}`, groupsToSync: randomUUID() };
    expectProblem(
      await api('PUT', `environments/${env}/external-users`, { token: admin, body }),
      409,
      '/problems/integration-disabled',
    );
    expect(
      (
        await api('PUT', `environments/${env}`, {
          token: operator,
          body: { name: 'on', externalUsersIntegration: true },
        })
      ).status,
    ).toBe(200);
    expect((await api('PUT', `environments/${env}/external-users`, { token: admin, body })).status).toBe(200);
  });

  it('external-users: normalizes groupsToSync, applies defaults, latestRun null', async () => {
    const env = `norm-${run}`;
    await createEnvironment(env);
    await createTenant(`norm-${run}`, [env]);
    const admin = await managementToken('environment-admin', [env]);
    const a = randomUUID();
    const b = randomUUID();
    const put = await api('PUT', `environments/${env}/external-users`, {
      token: admin,
      body: {
        tenant: `norm-${run}`,
        groupsToSync: ` ${a.toUpperCase()} ,, ${b},${a} , ,${b.toUpperCase()},`,
      },
    });
    expect(put.status, put.text).toBe(200);
    const expected = {
      tenant: `norm-${run}`,
      groupsToSync: `${a},${b}`,
      defaultMenus: [],
      periodicSync: false,
      deactivationLimit: 50,
    };
    expect(put.body).toMatchObject(expected);
    const get = await api('GET', `environments/${env}/external-users`, { token: admin });
    expect(get.status).toBe(200);
    expect(get.body).toMatchObject({ ...expected, latestRun: null });
    expect(get.body).toHaveProperty('latestRun', null);

    const full = await api('PUT', `environments/${env}/external-users`, {
      token: admin,
      body: {
        tenant: `norm-${run}`,
        groupsToSync: b,
        defaultMenus: ['Home', 'Projects'],
        periodicSync: true,
        deactivationLimit: 0,
      },
    });
    expect(full.status).toBe(200);
    expect(full.body).toMatchObject({
      groupsToSync: b,
      defaultMenus: ['Home', 'Projects'],
      periodicSync: true,
      deactivationLimit: 0,
    });
  });

  it('external-users: each bad field is named, nothing stored', async () => {
    const env = `val-${run}`;
    await createEnvironment(env);
    await createTenant(`val-${run}`, [env]);
    await createTenant(`val-other-${run}`, [`elsewhere-${run}`]);
    const admin = await managementToken('environment-admin', [env]);
    const good = randomUUID();
    const stored = await api('PUT', `environments/${env}/external-users`, {
      token: admin,
      body: { tenant: `val-${run}`, groupsToSync: good, deactivationLimit: 7 },
    });
    expect(stored.status).toBe(200);

    const cases: [Record<string, unknown>, string[]][] = [
      [{ groupsToSync: good }, ['tenant']],
      [{ tenant: `val-${run}` }, ['groupsToSync']],
      [{ tenant: `val-${run}`, groupsToSync: ' , ,, ' }, ['groupsToSync']],
      [{ tenant: `val-${run}`, groupsToSync: `${good},not-a-guid` }, ['groupsToSync']],
      [{ tenant: `val-${run}`, groupsToSync: `{${good}}` }, ['groupsToSync']],
      [{ tenant: `absent-${run}`, groupsToSync: good }, ['tenant']],
      [{ tenant: `val-other-${run}`, groupsToSync: good }, ['tenant']],
      [{ tenant: `val-${run}`, groupsToSync: good, deactivationLimit: -1 }, ['deactivationLimit']],
      [{ tenant: `val-${run}`, groupsToSync: good, deactivationLimit: 2.5 }, ['deactivationLimit']],
      [{ tenant: `val-${run}`, groupsToSync: good, deactivationLimit: '5' }, ['deactivationLimit']],
      [{ tenant: `val-${run}`, groupsToSync: good, deactivationLimit: null }, ['deactivationLimit']],
      [
        { tenant: `absent-${run}`, groupsToSync: 'x', deactivationLimit: -5 },
        ['tenant', 'groupsToSync', 'deactivationLimit'],
      ],
    ];
    for (const [body, fields] of cases) {
      const answer = await api('PUT', `environments/${env}/external-users`, { token: admin, body });
      const problem = expectProblem(answer, 400, '/problems/validation', fields);
      expect(Object.keys(problem.errors as object).sort(), JSON.stringify(body)).toEqual([...fields].sort());
    }
    const after = await api('GET', `environments/${env}/external-users`, { token: admin });
    expect(after.body).toMatchObject({ tenant: `val-${run}`, groupsToSync: good, deactivationLimit: 7 });
  });
});

describe('§3.4 sync requests (no worker running)', () => {
  it('202 with Location; 409 sync-in-progress naming the run; 409 integration-disabled when off or unconfigured', async () => {
    const env = `busy-${run}`;
    await createEnvironment(env);
    await createTenant(`busy-${run}`, [env]);
    const admin = await managementToken('environment-admin', [env], `busy-admin-${run}`);
    await api('PUT', `environments/${env}/external-users`, {
      token: admin,
      body: { tenant: `busy-${run}`, groupsToSync: randomUUID() },
    });
    const accepted = await api('POST', `environments/${env}/sync`, { token: admin });
    expect(accepted.status).toBe(202);
    const { runId } = accepted.body as { runId: string };
    expect(accepted.body).toEqual({ runId, status: 'queued', trigger: 'manual' });
    expect(accepted.headers.get('location')).toBe(`/api/environments/${env}/sync-runs/${runId}`);

    const second = await api('POST', `environments/${env}/sync`, {
      token: admin,
      body: { confirmDeactivations: true },
    });
    const problem = expectProblem(second, 409, '/problems/sync-in-progress');
    expect(problem.runId).toBe(runId);

    const view = await api('GET', `environments/${env}/external-users`, { token: admin });
    expect((view.body as { latestRun: unknown }).latestRun).toMatchObject({
      runId,
      environment: env,
      trigger: 'manual',
      requestedBy: `busy-admin-${run}`,
      status: 'queued',
      counts: { added: 0, granted: 0, updated: 0, deactivated: 0, reactivated: 0, unchanged: 0 },
    });
    expect(
      Number.isNaN(Date.parse((view.body as { latestRun: { queuedAt: string } }).latestRun.queuedAt)),
    ).toBe(false);

    const off = `busy-off-${run}`;
    await createEnvironment(off, false);
    expectProblem(
      await api('POST', `environments/${off}/sync`, { token: operator }),
      409,
      '/problems/integration-disabled',
    );
    const unconfigured = `busy-unconf-${run}`;
    await createEnvironment(unconfigured, true);
    expectProblem(
      await api('POST', `environments/${unconfigured}/sync`, { token: operator }),
      409,
      '/problems/integration-disabled',
    );
  });
});

describe('§5 POST /admin/functions/periodicSync', () => {
  it('queues one periodic run for each eligible environment only', async () => {
    const tenant = `tick-${run}`;
    const ids = {
      eligible: `tick-yes-${run}`,
      notPeriodic: `tick-manual-${run}`,
      switchedOff: `tick-off-${run}`,
      unconfigured: `tick-unconf-${run}`,
      busy: `tick-busy-${run}`,
    };
    await createTenant(tenant, Object.values(ids));
    for (const id of Object.values(ids)) await createEnvironment(id);
    const configure = async (id: string, periodicSync: boolean) => {
      const answer = await api('PUT', `environments/${id}/external-users`, {
        token: operator,
        body: { tenant, groupsToSync: randomUUID(), periodicSync },
      });
      expect(answer.status, answer.text).toBe(200);
    };
    await configure(ids.eligible, true);
    await configure(ids.notPeriodic, false);
    await configure(ids.switchedOff, true);
    await configure(ids.busy, true);
    await api('PUT', `environments/${ids.switchedOff}`, {
      token: operator,
      body: { name: 'off', externalUsersIntegration: false },
    });
    const manual = await api('POST', `environments/${ids.busy}/sync`, { token: operator });
    expect(manual.status).toBe(202);

    const tick = await fetch(`${host.url}/admin/functions/periodicSync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: '' }),
    });
    expect(tick.status).toBe(202);

    const runsOf = async (id: string) =>
      (
        (await api('GET', `environments/${id}/sync-runs`, { token: operator })).body as {
          runs: Record<string, unknown>[];
        }
      ).runs;
    const periodic = await until('the periodic run', async () => {
      const runs = await runsOf(ids.eligible);
      return runs.length > 0 ? runs : undefined;
    });
    expect(periodic).toHaveLength(1);
    expect(periodic[0]).toMatchObject({ trigger: 'periodic', requestedBy: 'schedule', status: 'queued' });
    // The timer has finished with the eligible one; the others never get a run.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await runsOf(ids.notPeriodic)).toEqual([]);
    expect(await runsOf(ids.switchedOff)).toEqual([]);
    expect(await runsOf(ids.unconfigured)).toEqual([]);
    const busy = await runsOf(ids.busy);
    expect(busy.map((r) => r.runId)).toEqual([(manual.body as { runId: string }).runId]);

    // A second tick while the periodic run is queued adds nothing.
    await fetch(`${host.url}/admin/functions/periodicSync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: '' }),
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await runsOf(ids.eligible)).toHaveLength(1);
  });
});

describe('§3.4 + rule 10: a run nobody executes', () => {
  async function abandonedRun(name: string): Promise<{ env: string; runId: string }> {
    const env = `${name}-${run}`;
    await createEnvironment(env);
    await createTenant(env, [env]);
    expect(
      (
        await api('PUT', `environments/${env}/external-users`, {
          token: operator,
          body: { tenant: env, groupsToSync: randomUUID() },
        })
      ).status,
    ).toBe(200);
    const accepted = await api('POST', `environments/${env}/sync`, { token: operator });
    expect(accepted.status).toBe(202);
    // No worker runs here: 11 minutes later the queued lease (10 minutes at most) has expired.
    const later = new Date(Date.now() + 11 * 60_000);
    testClock.use({ now: () => later });
    return { env, runId: (accepted.body as { runId: string }).runId };
  }

  it('stops blocking once its lease expires: a new request is accepted and the old run reads failed', async () => {
    const { env, runId } = await abandonedRun('lease');
    const next = await api('POST', `environments/${env}/sync`, { token: operator });
    expect(next.status, next.text).toBe(202);
    const old = await api('GET', `environments/${env}/sync-runs/${runId}`, { token: operator });
    expect(old.body).toMatchObject({ runId, status: 'failed' });
  });

  // docs/sync-rules.md, "One run per environment at a time": on every read, not only by id.
  it('reads failed in the runs list and latestRun too, before anyone reads it by id', async () => {
    const { env, runId } = await abandonedRun('lease-list');
    const list = await api('GET', `environments/${env}/sync-runs`, { token: operator });
    expect((list.body as { runs: unknown[] }).runs[0]).toMatchObject({ runId, status: 'failed' });
    const view = await api('GET', `environments/${env}/external-users`, { token: operator });
    expect((view.body as { latestRun: unknown }).latestRun).toMatchObject({ runId, status: 'failed' });
  });
});
