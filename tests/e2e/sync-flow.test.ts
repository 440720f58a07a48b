import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalHost } from '../../scripts/local-host/local-host.js';
import { apiClient } from '../support/api.js';
import { startTestHost } from '../support/host.js';
import { uniqueId } from '../support/ids.js';
import { until } from '../support/wait.js';
import { createTestDirectory, managementToken, type TestDirectory } from '../support/dev-directory.js';

/**
 * The sync end to end: the local host serving every function with its queue listeners, configured
 * through the management API, a run requested over HTTP and executed by the queue worker, and the
 * timer started through the admin endpoint.
 */
let host: LocalHost;
let directory: TestDirectory;
let operator: string;
const environmentId = uniqueId('e2e-sync');
const tenantName = uniqueId('e2e-sync');
const client = apiClient(() => host);

function api(method: string, route: string, token: string, body?: unknown) {
  return client(method, route, { token, ...(body === undefined ? {} : { body }) });
}

async function waitForRun(runId: string, token: string): Promise<Record<string, unknown>> {
  return until(`run ${runId}`, async () => {
    const body = (await api('GET', `environments/${environmentId}/sync-runs/${runId}`, token)).body as Record<
      string,
      unknown
    >;
    return body.status === 'queued' || body.status === 'running' ? undefined : body;
  });
}

beforeAll(async () => {
  host = await startTestHost({ queues: { maxPollingIntervalMs: 200 } });
  directory = await createTestDirectory({ displayName: 'Sync e2e' });
  operator = await managementToken('platform-operator');
});

afterAll(async () => {
  await host?.stop();
});

describe('sync through the local host', () => {
  it('configures, syncs on demand, deactivates on the timer, and shows it all over HTTP', async () => {
    const ada = await directory.addUser({ displayName: 'Ada E2E', mail: 'ada.e2e@contoso.test' });
    const bob = await directory.addUser({ displayName: 'Bob E2E', mail: 'bob.e2e@contoso.test' });
    const group = await directory.addGroup('E2E', [ada.id, bob.id]);

    const partner = await managementToken('partner', undefined, 'e2e-partner');
    expect(
      (
        await api('PUT', `tenants/${tenantName}`, partner, {
          directoryId: directory.id,
          clientId: directory.app.clientId,
          clientSecret: directory.app.clientSecret,
          environments: [environmentId],
          authorityHost: directory.authorityHost,
          graphBaseUrl: directory.graphBaseUrl,
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await api('PUT', `environments/${environmentId}`, operator, {
          name: 'E2E',
          externalUsersIntegration: true,
        })
      ).status,
    ).toBe(201);
    const admin = await managementToken('environment-admin', [environmentId], 'e2e-admin');
    const settings = await api('PUT', `environments/${environmentId}/external-users`, admin, {
      tenant: tenantName,
      groupsToSync: group.id.toUpperCase(),
      defaultMenus: ['Home'],
      periodicSync: true,
      deactivationLimit: 5,
    });
    expect(settings.status).toBe(200);

    const accepted = await api('POST', `environments/${environmentId}/sync`, admin);
    expect(accepted.status).toBe(202);
    const { runId } = accepted.body as { runId: string };
    expect(accepted.headers.get('location')).toBe(`/api/environments/${environmentId}/sync-runs/${runId}`);
    const run = await waitForRun(runId, admin);
    expect(run).toMatchObject({ status: 'succeeded', requestedBy: 'e2e-admin', counts: { added: 2 } });

    const users = await api('GET', `environments/${environmentId}/users`, admin);
    const listed = (users.body as { users: { objectId: string; email: string; active: boolean }[] }).users;
    expect(listed.map((u) => u.email).sort()).toEqual(['ada.e2e@contoso.test', 'bob.e2e@contoso.test']);

    await directory.removeMembers(group.id, [bob.id]);
    const tick = await fetch(`${host.url}/admin/functions/periodicSync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: '' }),
    });
    expect(tick.status).toBe(202);
    let latest: Record<string, unknown> | null = null;
    await until('the periodic run', async () => {
      const view = await api('GET', `environments/${environmentId}/external-users`, admin);
      latest = (view.body as { latestRun: Record<string, unknown> | null }).latestRun;
      const done =
        latest && latest.runId !== runId && latest.status !== 'queued' && latest.status !== 'running';
      return done ? true : undefined;
    }).catch(() => undefined);
    expect(latest).toMatchObject({
      trigger: 'periodic',
      requestedBy: 'schedule',
      status: 'succeeded',
      counts: { deactivated: 1, unchanged: 1 },
    });
    const changes = await api(
      'GET',
      `environments/${environmentId}/sync-runs/${String(latest!.runId)}/changes`,
      admin,
    );
    expect(changes.body).toEqual({
      changes: [
        {
          userId: expect.any(String) as string,
          objectId: bob.id,
          displayName: 'Bob E2E',
          action: 'deactivated',
          reason: 'removed-from-group',
        },
      ],
    });
    const runs = await api('GET', `environments/${environmentId}/sync-runs`, admin);
    expect((runs.body as { runs: { runId: string }[] }).runs.map((r) => r.runId)).toEqual([
      latest!.runId,
      runId,
    ]);
  });
});
