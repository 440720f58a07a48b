import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalHost, type LocalHost } from '../../scripts/local-host/local-host.js';
import { buildServices, type Services } from '../../shared/app/services.js';
import { createSmtpMailer, type Mailer } from '../../shared/mail/mailer.js';
import { testPorts, useTestEnvironment } from '../support/storage.js';
import {
  createTestDirectory,
  devDirectorySettings,
  mailMessages,
  mailSinkUrl,
  managementToken,
  waitForMail,
  type TestDirectory,
} from '../support/dev-directory.js';

/**
 * Seeing before changing, through the local host: dry runs, connection checks, tenant health,
 * group names and failure mails, against Azurite, the dev directory and the mail sink.
 */
let host: LocalHost;
let services: Services;
let directory: TestDirectory;
let operator: string;
let partner: string;
/** The mail sink can be made unreachable: mail then waits in its queue. */
let mailOutage = false;
const suffix = randomUUID().slice(0, 8);
const PARTNER = `see-partner-${suffix}`;

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function api(method: string, route: string, token: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${host.url}/api/${route}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function waitForRun(environmentId: string, runId: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { body } = await api('GET', `environments/${environmentId}/sync-runs/${runId}`, operator);
    if (body.status !== 'queued' && body.status !== 'running') return body;
    if (Date.now() > deadline) throw new Error(`run ${runId} did not finish: ${JSON.stringify(body)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function syncAndWait(environmentId: string, body?: unknown): Promise<Record<string, unknown>> {
  const accepted = await api('POST', `environments/${environmentId}/sync`, operator, body);
  expect(accepted.status).toBe(202);
  return waitForRun(environmentId, String(accepted.body.runId));
}

async function putTenant(name: string, environments: string[], clientSecret?: string, clientId?: string) {
  const answer = await api('PUT', `tenants/${name}`, partner, {
    directoryId: directory.id,
    clientId: clientId ?? directory.app.clientId,
    clientSecret: clientSecret ?? directory.app.clientSecret,
    environments,
    authorityHost: directory.authorityHost,
    graphBaseUrl: directory.graphBaseUrl,
  });
  expect(answer.status).toBe(201);
  return answer.body;
}

async function environmentWith(
  tenant: string,
  groups: string[],
  extra: Record<string, unknown> = {},
): Promise<string> {
  const environmentId = `see-${randomUUID().slice(0, 8)}`;
  await putTenantEnvironments(tenant, environmentId);
  expect(
    (
      await api('PUT', `environments/${environmentId}`, operator, {
        name: `See ${environmentId}`,
        externalUsersIntegration: true,
      })
    ).status,
  ).toBe(201);
  const settings = await api('PUT', `environments/${environmentId}/external-users`, operator, {
    tenant,
    groupsToSync: groups.join(','),
    ...extra,
  });
  expect(settings.status).toBe(200);
  return environmentId;
}

async function putTenantEnvironments(tenant: string, environmentId: string): Promise<void> {
  const current = await api('GET', `tenants/${tenant}`, partner);
  const environments = [...(current.body.environments as string[]), environmentId];
  const answer = await api('PUT', `tenants/${tenant}`, partner, {
    directoryId: current.body.directoryId,
    clientId: current.body.clientId,
    environments,
    authorityHost: current.body.authorityHost,
    graphBaseUrl: current.body.graphBaseUrl,
  });
  expect(answer.status).toBe(200);
}

/** Every row of the tables a run may write, besides its own record, changes and lease. */
async function snapshot(): Promise<Record<string, unknown[]>> {
  const tables = [
    'users',
    'useraccess',
    'sessions',
    'environments',
    'tenants',
    'tenanthealth',
    'groupnames',
    'syncnotices',
    'audit',
  ];
  const rows: Record<string, unknown[]> = {};
  for (const name of tables) {
    const client = await services.storage.table(name);
    rows[name] = [];
    for await (const entity of client.listEntities()) rows[name].push(entity);
  }
  return rows;
}

beforeAll(async () => {
  const config = useTestEnvironment(devDirectorySettings());
  const sink = createSmtpMailer({ smtpUrl: mailSinkUrl(), mailFrom: config.mailFrom });
  // Nothing listens on port 1: a refused connection, as when the relay is down.
  const down = createSmtpMailer({ smtpUrl: 'smtp://127.0.0.1:1', mailFrom: config.mailFrom });
  const mailer: Mailer = { send: (mail) => (mailOutage ? down : sink).send(mail) };
  services = buildServices(config, testPorts({ mailer }));
  host = await startLocalHost({
    port: 0,
    functionsDir: path.resolve('functions'),
    services,
    timers: false,
    queues: true,
    queueSettings: { maxPollingIntervalMs: 200, visibilityTimeoutMs: 1000 },
    log: () => {},
  });
  directory = await createTestDirectory({ displayName: 'See before change' });
  operator = await managementToken('platform-operator');
  partner = await managementToken('partner', undefined, PARTNER);
});

afterAll(async () => {
  await host?.stop();
});

describe('dry runs', () => {
  it('previews a group swap with counts and reasons, writes nothing else, and says it would halt', async () => {
    const ada = await directory.addUser({ displayName: 'Ada See', mail: `ada.${suffix}@contoso.test` });
    const bob = await directory.addUser({ displayName: 'Bob See', mail: `bob.${suffix}@contoso.test` });
    const cyd = await directory.addUser({ displayName: 'Cyd See', mail: `cyd.${suffix}@contoso.test` });
    const teamA = await directory.addGroup('Team A', [ada.id, bob.id]);
    const teamB = await directory.addGroup('Team B', [bob.id, cyd.id]);
    const tenant = `see-dry-${suffix}`;
    await putTenant(tenant, []);
    const environmentId = await environmentWith(tenant, [teamA.id], { deactivationLimit: 5 });

    const real = await syncAndWait(environmentId);
    expect(real).toMatchObject({ status: 'succeeded', counts: { added: 2 } });
    expect(real).not.toHaveProperty('dryRun');
    const settings = await api('GET', `environments/${environmentId}/external-users`, operator);
    expect(settings.body.groups).toEqual([{ id: teamA.id, displayName: 'Team A' }]);

    // A real run would now halt: one deactivation is over the limit of 0.
    expect(
      (
        await api('PUT', `environments/${environmentId}/external-users`, operator, {
          tenant,
          groupsToSync: teamA.id,
          deactivationLimit: 0,
          notificationEmails: [`dry.${suffix}@partner.example`],
        })
      ).status,
    ).toBe(200);
    const before = await snapshot();
    const dry = await syncAndWait(environmentId, {
      dryRun: true,
      groupsToSync: ` ${teamB.id.toUpperCase()} `,
    });
    expect(dry).toMatchObject({
      status: 'succeeded',
      dryRun: true,
      wouldHalt: true,
      counts: { added: 1, deactivated: 1 },
    });
    expect(dry).not.toHaveProperty('haltReason');
    const changes = await api(
      'GET',
      `environments/${environmentId}/sync-runs/${String(dry.runId)}/changes`,
      operator,
    );
    const listed = changes.body.changes as { objectId: string; action: string; reason?: string }[];
    expect(listed).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ objectId: cyd.id, action: 'added' }),
        expect.objectContaining({ objectId: ada.id, action: 'deactivated', reason: 'group-removed' }),
      ]),
    );
    expect(await snapshot()).toEqual(before);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await mailMessages({ to: `dry.${suffix}@partner.example` })).toHaveLength(0);

    const after = await api('GET', `environments/${environmentId}/external-users`, operator);
    expect((after.body.latestRun as { runId: string }).runId).toBe(real.runId);
    expect(after.body.groupsToSync).toBe(teamA.id);
  });

  it('validates the proposed settings like the settings, naming each field', async () => {
    const group = await directory.addGroup('Validation');
    const tenant = `see-val-${suffix}`;
    await putTenant(tenant, []);
    const environmentId = await environmentWith(tenant, [group.id]);
    const bad = await api('POST', `environments/${environmentId}/sync`, operator, {
      dryRun: true,
      tenant: 'no-such-tenant',
      groupsToSync: 'not-a-guid',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual({
      tenant: expect.stringContaining('does not exist') as string,
      groupsToSync: expect.any(String) as string,
    });
    const withoutDryRun = await api('POST', `environments/${environmentId}/sync`, operator, {
      groupsToSync: group.id,
    });
    expect(withoutDryRun.status).toBe(400);
    expect(withoutDryRun.body.errors).toHaveProperty('groupsToSync');
    const runs = await api('GET', `environments/${environmentId}/sync-runs`, operator);
    expect(runs.body.runs).toEqual([]);
  });

  it('previews a first configuration before anything is saved; a preview naming less is refused', async () => {
    const ada = await directory.addUser({ displayName: 'Ada First' });
    const group = await directory.addGroup('First', [ada.id]);
    const tenant = `see-first-${suffix}`;
    const environmentId = `see-${randomUUID().slice(0, 8)}`;
    await putTenant(tenant, [environmentId]);
    const put = await api('PUT', `environments/${environmentId}`, operator, {
      name: 'First',
      externalUsersIntegration: true,
    });
    expect(put.status).toBe(201);
    const before = await snapshot();

    const onlyGroups = await api('POST', `environments/${environmentId}/sync`, operator, {
      dryRun: true,
      groupsToSync: group.id,
    });
    expect(onlyGroups.status).toBe(409);
    expect(onlyGroups.body.type).toBe('/problems/integration-disabled');
    const run = await syncAndWait(environmentId, { dryRun: true, tenant, groupsToSync: group.id });
    expect(run).toMatchObject({ status: 'succeeded', dryRun: true, counts: { added: 1 } });
    // Still nothing saved: the settings are absent, and a real run is refused.
    expect((await api('GET', `environments/${environmentId}/external-users`, operator)).status).toBe(404);
    expect((await api('POST', `environments/${environmentId}/sync`, operator)).status).toBe(409);
    expect(await snapshot()).toEqual(before);
  });
});

describe('connection check', () => {
  it('reports the token and each group, and keeps the tenant status', async () => {
    const member = await directory.addUser({ displayName: 'Check member' });
    const group = await directory.addGroup('Checked group', [member.id]);
    const tenant = `see-chk-${suffix}`;
    await putTenant(tenant, []);
    await environmentWith(tenant, [group.id]);
    expect((await api('GET', `tenants/${tenant}`, partner)).body.status).toEqual({ state: 'unknown' });

    const good = await api('POST', `tenants/${tenant}/check`, partner);
    expect(good).toEqual({
      status: 200,
      body: {
        ok: true,
        token: { ok: true },
        groups: [{ id: group.id, ok: true, displayName: 'Checked group' }],
      },
    });
    expect((await api('GET', `tenants/${tenant}`, partner)).body.status).toMatchObject({ state: 'ok' });

    const unknownGroup = randomUUID();
    const mixed = await api('POST', `tenants/${tenant}/check`, partner, {
      groups: `${group.id}, ${unknownGroup}`,
    });
    expect(mixed.body).toMatchObject({
      ok: false,
      token: { ok: true },
      groups: [
        { id: group.id, ok: true, displayName: 'Checked group' },
        { id: unknownGroup, ok: false, error: { code: 'group-not-found' } },
      ],
    });
    const failing = await api('GET', 'tenants', partner);
    const listed = (failing.body.tenants as { name: string; status: unknown }[]).find(
      (t) => t.name === tenant,
    );
    expect(listed?.status).toMatchObject({ state: 'failing', error: { code: 'group-not-found' } });

    expect((await api('POST', `tenants/${tenant}/check`, partner, { groups: 'nope' })).status).toBe(400);
    const stranger = await managementToken('partner', undefined, `other-${suffix}`);
    expect((await api('POST', `tenants/${tenant}/check`, stranger)).status).toBe(403);
  });

  it('names a wrong secret and a missing permission', async () => {
    const group = await directory.addGroup('Permission group');
    const wrong = `see-wrong-${suffix}`;
    await putTenant(wrong, [], 'not-the-secret');
    const refused = await api('POST', `tenants/${wrong}/check`, partner, { groups: group.id });
    expect(refused.status).toBe(200);
    expect(refused.body).toMatchObject({
      ok: false,
      token: { ok: false, error: { code: 'directory-credentials-invalid' } },
    });
    expect(JSON.stringify(refused.body)).not.toContain('not-the-secret');
    expect((await api('GET', `tenants/${wrong}`, partner)).body.status).toMatchObject({
      state: 'failing',
      error: { code: 'directory-credentials-invalid' },
    });

    const app = await directory.addApplication({ graphPermissions: [] });
    const unprivileged = `see-perm-${suffix}`;
    await putTenant(unprivileged, [], app.clientSecret, app.clientId);
    const forbidden = await api('POST', `tenants/${unprivileged}/check`, partner, { groups: group.id });
    expect(forbidden.body).toMatchObject({
      ok: false,
      token: { ok: true },
      groups: [{ id: group.id, ok: false, error: { code: 'directory-permission-missing' } }],
    });
  });
});

describe('tenant health and failure mails', () => {
  it('keeps the status after good and failed runs, and mails once per failure streak', async () => {
    const member = await directory.addUser({ displayName: 'Mail member' });
    const group = await directory.addGroup('Mail group', [member.id]);
    const tenant = `see-mail-${suffix}`;
    await putTenant(tenant, []);
    const contact = `ops.${suffix}@partner.example`;
    const environmentId = await environmentWith(tenant, [group.id], { notificationEmails: [contact] });

    expect(await syncAndWait(environmentId)).toMatchObject({ status: 'succeeded' });
    expect((await api('GET', `tenants/${tenant}`, partner)).body.status).toMatchObject({ state: 'ok' });

    await directory.failGroup(group.id, 404);
    const failed = await syncAndWait(environmentId);
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'group-not-found' } });
    const status = (await api('GET', `tenants/${tenant}`, partner)).body.status as Record<string, unknown>;
    expect(status).toMatchObject({ state: 'failing', error: { code: 'group-not-found' } });
    expect(typeof status.checkedAt).toBe('string');
    const [mail] = await waitForMail(contact, 1);
    expect(mail?.from).toContain('no-reply@bizzstream.local');
    expect(mail?.text).toContain('group-not-found');
    expect(mail?.text).toContain(`/console/environments/${environmentId}/runs/${String(failed.runId)}`);
    expect(mail?.html).toContain(environmentId);

    expect(await syncAndWait(environmentId)).toMatchObject({ status: 'failed' });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await mailMessages({ to: contact })).toHaveLength(1);

    await directory.failGroup(group.id, null);
    expect(await syncAndWait(environmentId)).toMatchObject({ status: 'succeeded' });
    expect((await api('GET', `tenants/${tenant}`, partner)).body.status).toMatchObject({ state: 'ok' });
    expect((await api('GET', `tenants/${tenant}`, partner)).body.status).not.toHaveProperty('error');

    await directory.failGroup(group.id, 404);
    expect(await syncAndWait(environmentId)).toMatchObject({ status: 'failed' });
    expect(await waitForMail(contact, 2)).toHaveLength(2);
    await directory.failGroup(group.id, null);
  });

  it('a mail relay outage does not fail the run; the mail goes out from the queue later', async () => {
    const staying = await directory.addUser({ displayName: 'Staying' });
    const leaving = await directory.addUser({ displayName: 'Leaving' });
    const group = await directory.addGroup('Outage group', [staying.id, leaving.id]);
    const tenant = `see-out-${suffix}`;
    await putTenant(tenant, []);
    const contact = `outage.${suffix}@partner.example`;
    const environmentId = await environmentWith(tenant, [group.id], {
      notificationEmails: [contact],
      deactivationLimit: 0,
    });
    expect(await syncAndWait(environmentId)).toMatchObject({ status: 'succeeded', counts: { added: 2 } });

    await directory.removeMembers(group.id, [leaving.id]);
    mailOutage = true;
    try {
      const halted = await syncAndWait(environmentId);
      expect(halted).toMatchObject({
        status: 'halted',
        haltReason: 'deactivation-limit',
        counts: { deactivated: 1 },
      });
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(await mailMessages({ to: contact })).toHaveLength(0);
    } finally {
      mailOutage = false;
    }
    const [mail] = await waitForMail(contact, 1, 15_000);
    expect(mail?.subject).toContain('halted');
    expect(mail?.text).toContain('1 user(s)');
  });
});
