import { beforeAll, describe, expect, it } from 'vitest';
import { useTestEnvironment } from '../support/storage.js';
import { createTestDirectory, type TestDirectory } from '../support/dev-directory.js';
import { call, useManagementKeys, type ManagementKeys } from './handler-support.js';
import { drainSyncQueue, FAST_READER, setupSyncEnvironment } from '../integration/sync-support.js';

let keys: ManagementKeys;
let directory: TestDirectory;

beforeAll(async () => {
  useTestEnvironment();
  keys = await useManagementKeys();
  await import('../../functions/sync.js');
  directory = await createTestDirectory({ displayName: 'Sync HTTP' });
});

function adminOf(environmentId: string, sub = 'admin-1') {
  return keys.token({ sub, roles: ['environment-admin'], environments: [environmentId] });
}

describe('POST /api/environments/{envId}/sync and the runs API', () => {
  it('queues a run (202 + Location), refuses a second (409 with runId), shows it through every GET', async () => {
    const group = await directory.addGroup('Http');
    await directory.generateUsers(group.id, 450, { prefix: 'Http user with a fairly long display name' });
    const environmentId = await setupSyncEnvironment({ directory, groups: [group.id] });
    const token = await adminOf(environmentId);

    const accepted = await call('syncRequest', {
      method: 'POST',
      path: `environments/${environmentId}/sync`,
      params: { envId: environmentId },
      token,
    });
    expect(accepted.status).toBe(202);
    const body = accepted.body as { runId: string };
    expect(body).toEqual({ runId: body.runId, status: 'queued', trigger: 'manual' });
    expect(accepted.headers.location).toBe(`/api/environments/${environmentId}/sync-runs/${body.runId}`);

    const refused = await call('syncRequest', {
      method: 'POST',
      path: `environments/${environmentId}/sync`,
      params: { envId: environmentId },
      token,
      body: { confirmDeactivations: true },
    });
    expect(refused.status).toBe(409);
    expect(refused.headers['content-type']).toBe('application/problem+json');
    expect(refused.body).toMatchObject({
      type: '/problems/sync-in-progress',
      status: 409,
      runId: body.runId,
    });

    const queued = await call('syncRunGet', {
      method: 'GET',
      path: `environments/${environmentId}/sync-runs/${body.runId}`,
      params: { envId: environmentId, runId: body.runId },
      token,
    });
    expect(queued.status).toBe(200);
    expect(queued.body).toEqual({
      runId: body.runId,
      environment: environmentId,
      trigger: 'manual',
      requestedBy: 'admin-1',
      status: 'queued',
      queuedAt: expect.any(String) as string,
      counts: { added: 0, granted: 0, updated: 0, deactivated: 0, reactivated: 0, unchanged: 0 },
    });

    await drainSyncQueue({ reader: FAST_READER });
    const done = await call('syncRunGet', {
      method: 'GET',
      path: `environments/${environmentId}/sync-runs/${body.runId}`,
      params: { envId: environmentId, runId: body.runId },
      token,
    });
    expect(done.body).toMatchObject({ status: 'succeeded', counts: { added: 450 } });

    const seen = new Set<string>();
    let continuationToken: string | undefined;
    let pages = 0;
    do {
      const query = continuationToken === undefined ? '' : `?continuationToken=${continuationToken}`;
      const page = await call('syncRunChanges', {
        method: 'GET',
        path: `environments/${environmentId}/sync-runs/${body.runId}/changes${query}`,
        params: { envId: environmentId, runId: body.runId },
        token,
      });
      expect(page.status).toBe(200);
      const pageBody = page.body as {
        changes: { userId: string; action: string }[];
        continuationToken?: string;
      };
      for (const change of pageBody.changes) {
        expect(change.action).toBe('added');
        seen.add(change.userId);
      }
      continuationToken = pageBody.continuationToken;
      pages++;
    } while (continuationToken !== undefined);
    expect(pages).toBeGreaterThan(1);
    expect(seen.size).toBe(450);

    const list = await call('syncRunsList', {
      method: 'GET',
      path: `environments/${environmentId}/sync-runs?limit=1`,
      params: { envId: environmentId },
      token,
    });
    expect(list.body).toEqual({ runs: [done.body] });
  });

  it('a second run is listed first; limit is validated; unknown runs are 404', async () => {
    const group = await directory.addGroup('Runs list');
    const environmentId = await setupSyncEnvironment({ directory, groups: [group.id] });
    const token = await adminOf(environmentId);
    const runIds: string[] = [];
    for (let i = 0; i < 2; i++) {
      const accepted = await call('syncRequest', {
        method: 'POST',
        path: `environments/${environmentId}/sync`,
        params: { envId: environmentId },
        token,
        body: {},
      });
      runIds.push((accepted.body as { runId: string }).runId);
      await drainSyncQueue({ reader: FAST_READER });
    }
    const list = await call('syncRunsList', {
      method: 'GET',
      path: `environments/${environmentId}/sync-runs`,
      params: { envId: environmentId },
      token,
    });
    expect((list.body as { runs: { runId: string }[] }).runs.map((r) => r.runId)).toEqual(runIds.reverse());
    for (const bad of ['0', 'abc', '-3', '1.5']) {
      const refused = await call('syncRunsList', {
        method: 'GET',
        path: `environments/${environmentId}/sync-runs?limit=${bad}`,
        params: { envId: environmentId },
        token,
      });
      expect(refused.status).toBe(400);
    }
    const operator = await keys.token({ sub: 'op', roles: ['platform-operator'] });
    const unknownEnvironment = await call('syncRunsList', {
      method: 'GET',
      path: 'environments/env-missing-runs/sync-runs',
      params: { envId: 'env-missing-runs' },
      token: operator,
    });
    expect(unknownEnvironment.status).toBe(404);
    const missing = await call('syncRunGet', {
      method: 'GET',
      path: `environments/${environmentId}/sync-runs/nope`,
      params: { envId: environmentId, runId: 'nope' },
      token,
    });
    expect(missing.status).toBe(404);
    const missingChanges = await call('syncRunChanges', {
      method: 'GET',
      path: `environments/${environmentId}/sync-runs/0000000000000-000000000000/changes`,
      params: { envId: environmentId, runId: '0000000000000-000000000000' },
      token,
    });
    expect(missingChanges.status).toBe(404);
  });

  it('refuses without a token (401), for another environment (403), when off (409), a bad body (400)', async () => {
    const group = await directory.addGroup('Refusals');
    const environmentId = await setupSyncEnvironment({ directory, groups: [group.id] });
    const off = await setupSyncEnvironment({ directory, groups: [group.id], integration: false });
    const post = (envId: string, token: string | undefined, body?: unknown) =>
      call('syncRequest', {
        method: 'POST',
        path: `environments/${envId}/sync`,
        params: { envId },
        ...(token === undefined ? {} : { token }),
        ...(body === undefined ? {} : { body }),
      });
    expect((await post(environmentId, undefined)).status).toBe(401);
    expect((await post(environmentId, await adminOf('someone-else'))).status).toBe(403);
    const disabled = await post(off, await keys.token({ sub: 'op', roles: ['platform-operator'] }));
    expect(disabled.status).toBe(409);
    expect(disabled.body).toMatchObject({ type: '/problems/integration-disabled' });
    const bad = await post(environmentId, await adminOf(environmentId), { confirmDeactivations: 'yes' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({
      type: '/problems/validation',
      errors: { confirmDeactivations: expect.any(String) as string },
    });
    // A member the request does not know is refused, never ignored: a misspelt preview must not
    // start a real run.
    const misspelt = await post(environmentId, await adminOf(environmentId), {
      dryrun: true,
      groupsToSync: group.id,
    });
    expect(misspelt.status).toBe(400);
    expect(misspelt.body).toMatchObject({
      type: '/problems/validation',
      errors: { dryrun: 'is not accepted here' },
    });
    const listed = await call('syncRunsList', {
      method: 'GET',
      path: `environments/${environmentId}/sync-runs`,
      params: { envId: environmentId },
      token: await adminOf(environmentId),
    });
    expect(listed.body).toEqual({ runs: [] });
    const runs = await call('syncRunsList', {
      method: 'GET',
      path: `environments/${environmentId}/sync-runs`,
      params: { envId: environmentId },
      token: await adminOf('someone-else'),
    });
    expect(runs.status).toBe(403);
  });
});
