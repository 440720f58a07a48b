import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalHost } from '../../scripts/local-host/local-host.js';
import { newRunId, ZERO_COUNTS } from '../../shared/sync/runs.js';
import { createSyncStores } from '../../shared/sync/stores.js';
import { apiClient, expectProblem } from '../support/api.js';
import {
  createTestDirectory,
  managementToken,
  type TestDirectory,
  type UserInfo,
} from '../support/dev-directory.js';
import { startTestHost } from '../support/host.js';
import { uid } from '../support/ids.js';
import { testServices } from '../support/storage.js';
import { until } from '../support/wait.js';

/**
 * Sync runs and users as an outside tester drives them: runs requested over HTTP and executed
 * by the host's queue worker against the dev directory; runs, changes and users read back page by
 * page with their continuation tokens.
 */
let host: LocalHost;
const api = apiClient(() => host);
const run = uid();
let directory: TestDirectory;
let operator: string;
let admin: string;
const ADMIN_SUB = `sync-admin-${run}`;
const BIG = 500;
const envBig = `cs-big-${run}`;
const envSmall = `cs-small-${run}`;
const tenant = `cs-${run}`;
let bigGroup: string;
let smallGroup: string;
let ada: UserInfo;
let bob: UserInfo;

type Run = Record<string, unknown> & { runId: string; status: string; counts: Record<string, number> };
interface User {
  id: string;
  objectId: string;
  active: boolean;
  menus: string[];
  groups: string[];
  [key: string]: unknown;
}
interface Change {
  userId: string;
  objectId: string;
  displayName: string;
  action: string;
  reason?: string;
  fields?: string[];
}

beforeAll(async () => {
  host = await startTestHost({ queues: { maxPollingIntervalMs: 200 } });
  directory = await createTestDirectory({ displayName: 'Contract sync' });
  operator = await managementToken('platform-operator');
  admin = await managementToken('environment-admin', [envBig, envSmall], ADMIN_SUB);

  ada = await directory.addUser({ displayName: 'Ada Contract', mail: `Ada.Contract.${run}@contoso.test` });
  bob = await directory.addUser({ displayName: 'Bob Contract', mail: `bob.contract.${run}@contoso.test` });
  smallGroup = (await directory.addGroup('Contract small', [ada.id, bob.id])).id;
  bigGroup = (await directory.addGroup('Contract big')).id;
  await directory.generateUsers(bigGroup, BIG, { prefix: `cs${run}` });

  const put = async (route: string, body: unknown) => {
    const answer = await api('PUT', route, { token: operator, body });
    expect(answer.status, `${route}: ${answer.text}`).toBeLessThan(300);
  };
  await put(`tenants/${tenant}`, {
    directoryId: directory.id,
    clientId: directory.app.clientId,
    clientSecret: directory.app.clientSecret,
    environments: [envBig, envSmall],
    authorityHost: directory.authorityHost,
    graphBaseUrl: directory.graphBaseUrl,
  });
  await put(`environments/${envBig}`, { name: 'Big', externalUsersIntegration: true });
  await put(`environments/${envSmall}`, { name: 'Small', externalUsersIntegration: true });
  await put(`environments/${envBig}/external-users`, {
    tenant,
    groupsToSync: `${bigGroup.toUpperCase()}, ${smallGroup}`,
    defaultMenus: ['Home'],
  });
  await put(`environments/${envSmall}/external-users`, {
    tenant,
    groupsToSync: smallGroup,
    defaultMenus: ['Projects'],
    deactivationLimit: 0,
  });
});

afterAll(async () => {
  await host?.stop();
});

async function finished(env: string, runId: string): Promise<Run> {
  return until(`run ${runId}`, async () => {
    const answer = await api('GET', `environments/${env}/sync-runs/${runId}`, { token: admin });
    expect(answer.status).toBe(200);
    const body = answer.body as Run;
    return body.status === 'queued' || body.status === 'running' ? undefined : body;
  });
}

async function syncNow(env: string, body?: unknown): Promise<Run> {
  const accepted = await api('POST', `environments/${env}/sync`, { token: admin, body });
  expect(accepted.status, accepted.text).toBe(202);
  return finished(env, (accepted.body as { runId: string }).runId);
}

/** Follows continuationToken to the end; returns the items and how many pages it took. */
async function allPages<T>(route: string, key: string): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let pages = 0;
  let token: string | undefined;
  do {
    const query = token === undefined ? '' : `?continuationToken=${encodeURIComponent(token)}`;
    const answer = await api('GET', `${route}${query}`, { token: admin });
    expect(answer.status, answer.text).toBe(200);
    const body = answer.body as Record<string, unknown>;
    expect(Object.keys(body).every((k) => k === key || k === 'continuationToken')).toBe(true);
    items.push(...(body[key] as T[]));
    token = body.continuationToken as string | undefined;
    if (token !== undefined) expect(typeof token).toBe('string');
    pages++;
    expect(pages).toBeLessThan(50);
  } while (token !== undefined);
  return { items, pages };
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

describe('§3.4 a manual run through the queue worker', () => {
  let firstRun: Run;

  it('202 + Location; a second request while it runs is 409 naming it; the run record has the contract shape', async () => {
    // One slow Graph answer keeps the first run busy while the second request comes in.
    await directory.slowResponses({ delayMs: 1500, requests: 1 });
    const accepted = await api('POST', `environments/${envBig}/sync`, { token: admin });
    expect(accepted.status).toBe(202);
    const { runId } = accepted.body as { runId: string };
    expect(accepted.body).toEqual({ runId, status: 'queued', trigger: 'manual' });
    expect(accepted.headers.get('location')).toBe(`/api/environments/${envBig}/sync-runs/${runId}`);
    const second = await api('POST', `environments/${envBig}/sync`, { token: admin });
    expect(expectProblem(second, 409, '/problems/sync-in-progress').runId).toBe(runId);

    firstRun = await finished(envBig, runId);
    await directory.slowResponses(null);
    expect(firstRun).toMatchObject({
      runId,
      environment: envBig,
      trigger: 'manual',
      requestedBy: ADMIN_SUB,
      status: 'succeeded',
      counts: { added: BIG + 2, granted: 0, updated: 0, deactivated: 0, reactivated: 0, unchanged: 0 },
    });
    expect(Object.keys(firstRun.counts).sort()).toEqual(Object.keys(ZERO_COUNTS).sort());
    for (const key of ['queuedAt', 'startedAt', 'finishedAt']) expect(firstRun[key]).toMatch(ISO);
    expect(firstRun).not.toHaveProperty('haltReason');
    // Location is a working address of the run.
    const byLocation = await fetch(`${host.url}${accepted.headers.get('location')}`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(byLocation.status).toBe(200);
    expect(await byLocation.json()).toEqual(firstRun);

    const view = await api('GET', `environments/${envBig}/external-users`, { token: admin });
    expect((view.body as { latestRun: unknown }).latestRun).toEqual(firstRun);
  });

  it('changes: every user once, page by page through continuationToken', async () => {
    const { items, pages } = await allPages<Change>(
      `environments/${envBig}/sync-runs/${firstRun.runId}/changes`,
      'changes',
    );
    expect(pages).toBeGreaterThan(1);
    expect(items).toHaveLength(BIG + 2);
    expect(new Set(items.map((c) => c.userId)).size).toBe(BIG + 2);
    for (const change of items) {
      expect(change.action).toBe('added');
      expect(
        Object.keys(change).every((k) =>
          ['userId', 'objectId', 'displayName', 'action', 'reason', 'fields'].includes(k),
        ),
      ).toBe(true);
    }
    expect(items.find((c) => c.objectId === ada.id)).toMatchObject({ displayName: 'Ada Contract' });
    expectProblem(
      await api(
        'GET',
        `environments/${envBig}/sync-runs/${firstRun.runId}/changes?continuationToken=%21%21`,
        {
          token: admin,
        },
      ),
      400,
      '/problems/validation',
    );
  });

  it('a later run with no change in the directory counts everyone unchanged and lists no change', async () => {
    const again = await syncNow(envBig);
    expect(again).toMatchObject({ status: 'succeeded', counts: { added: 0, unchanged: BIG + 2 } });
    const changes = await api('GET', `environments/${envBig}/sync-runs/${again.runId}/changes`, {
      token: admin,
    });
    expect(changes.body).toEqual({ changes: [] });
  });
});

describe('§3.4 sync-runs list: newest first, limit default 20, at most 100', () => {
  it('answers 20 by default, N for limit=N, never more than 100', async () => {
    const env = `cs-runs-${run}`;
    const put = await api('PUT', `environments/${env}`, {
      token: operator,
      body: { name: 'Runs', externalUsersIntegration: true },
    });
    expect(put.status).toBe(201);
    const base = Date.now() - 3_600_000;
    const seeded: string[] = [];
    for (let i = 0; i < 105; i++) {
      const queuedAt = new Date(base + i * 1000);
      const runId = newRunId(queuedAt);
      seeded.push(runId);
      await createSyncStores(testServices().storage, testServices().clock).runs.createRun({
        runId,
        environment: env,
        trigger: i % 2 === 0 ? 'manual' : 'periodic',
        requestedBy: i % 2 === 0 ? 'someone' : 'schedule',
        status: 'succeeded',
        queuedAt: queuedAt.toISOString(),
        startedAt: queuedAt.toISOString(),
        finishedAt: queuedAt.toISOString(),
        counts: { ...ZERO_COUNTS },
        confirmDeactivations: false,
        changePages: 0,
      });
    }
    const newestFirst = [...seeded].reverse();
    const list = async (query: string) => {
      const answer = await api('GET', `environments/${env}/sync-runs${query}`, { token: operator });
      return answer;
    };
    const ids = (answer: { body: unknown }) => (answer.body as { runs: Run[] }).runs.map((r) => r.runId);

    const byDefault = await list('');
    expect(byDefault.status).toBe(200);
    expect(ids(byDefault)).toEqual(newestFirst.slice(0, 20));
    expect(ids(await list('?limit=1'))).toEqual(newestFirst.slice(0, 1));
    expect(ids(await list('?limit=100'))).toEqual(newestFirst.slice(0, 100));
    // "At most 100": a larger limit never yields more (read as a cap, or refused as invalid).
    for (const limit of ['101', '1000']) {
      const over = await list(`?limit=${limit}`);
      if (over.status === 200) expect(ids(over)).toEqual(newestFirst.slice(0, 100));
      else expectProblem(over, 400, '/problems/validation');
    }
    expectProblem(await list('?limit=0'), 400, '/problems/validation');
    expectProblem(await list('?limit=ten'), 400, '/problems/validation');
  });
});

describe('§3.5 users of an environment', () => {
  it('lists every user once through continuationToken, in the contract shape', async () => {
    const { items, pages } = await allPages<User>(`environments/${envBig}/users`, 'users');
    expect(pages).toBeGreaterThan(1);
    expect(items).toHaveLength(BIG + 2);
    expect(new Set(items.map((u) => u.id)).size).toBe(BIG + 2);
    const adaUser = items.find((u) => u.objectId === ada.id);
    expect(adaUser).toEqual({
      id: expect.any(String) as string,
      source: 'external',
      directoryId: directory.id.toLowerCase(),
      objectId: ada.id,
      displayName: 'Ada Contract',
      email: `Ada.Contract.${run}@contoso.test`,
      active: true,
      menus: ['Home'],
      groups: [smallGroup],
    });
    expect(items.every((u) => u.active && u.source === 'external' && !('deactivatedAt' in u))).toBe(true);
    const one = await api('GET', `environments/${envBig}/users/${adaUser!.id}`, { token: admin });
    expect(one.status).toBe(200);
    expect(one.body).toEqual(adaUser);
    expectProblem(
      await api('GET', `environments/${envBig}/users?continuationToken=not-a-token`, { token: admin }),
      400,
      '/problems/validation',
    );
    expectProblem(
      await api('GET', `environments/${envBig}/users/no-such-user`, { token: admin }),
      404,
      '/problems/not-found',
    );
  });

  it('PATCH changes menus; touching displayName, email or active is 409 managed-externally and changes nothing', async () => {
    const users = (await api('GET', `environments/${envBig}/users`, { token: admin })).body as {
      users: User[];
    };
    const target = users.users[0]!;
    const route = `environments/${envBig}/users/${target.id}`;
    const patched = await api('PATCH', route, { token: admin, body: { menus: ['Home', 'Reports'] } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body).toEqual({ ...target, menus: ['Home', 'Reports'] });
    for (const body of [
      { displayName: 'Renamed' },
      { email: 'other@example.test' },
      { active: false },
      { menus: ['Nothing'], displayName: target.displayName },
    ]) {
      expectProblem(await api('PATCH', route, { token: admin, body }), 409, '/problems/managed-externally');
    }
    expect((await api('GET', route, { token: admin })).body).toEqual({
      ...target,
      menus: ['Home', 'Reports'],
    });
    expectProblem(
      await api('PATCH', `environments/${envBig}/users/no-such-user`, { token: admin, body: { menus: [] } }),
      404,
      '/problems/not-found',
    );
  });

  it('one id per person across environments; a halted run lists what it would do; deactivation shows time and reason', async () => {
    const first = await syncNow(envSmall);
    expect(first).toMatchObject({ status: 'succeeded', counts: { added: 0, granted: 2 } });
    const small = (await api('GET', `environments/${envSmall}/users`, { token: admin })).body as {
      users: User[];
    };
    const big = await allPages<User>(`environments/${envBig}/users`, 'users');
    for (const person of [ada, bob]) {
      const here = small.users.find((u) => u.objectId === person.id);
      const there = big.items.find((u) => u.objectId === person.id);
      expect(here?.id).toBeDefined();
      expect(here?.id).toBe(there?.id);
      expect(here?.menus).toEqual(['Projects']);
    }
    const bobId = small.users.find((u) => u.objectId === bob.id)!.id;

    await directory.removeMembers(smallGroup, [bob.id]);
    // deactivationLimit 0: one deactivation halts the run, which applies nothing.
    const halted = await syncNow(envSmall);
    expect(halted).toMatchObject({
      status: 'halted',
      haltReason: 'deactivation-limit',
      counts: { deactivated: 1, unchanged: 1 },
    });
    expect(
      (await api('GET', `environments/${envSmall}/sync-runs/${halted.runId}/changes`, { token: admin })).body,
    ).toEqual({
      changes: [
        {
          userId: bobId,
          objectId: bob.id,
          displayName: 'Bob Contract',
          action: 'deactivated',
          reason: 'removed-from-group',
        },
      ],
    });
    expect(
      (await api('GET', `environments/${envSmall}/users/${bobId}`, { token: admin })).body,
    ).toMatchObject({
      active: true,
    });

    const confirmed = await syncNow(envSmall, { confirmDeactivations: true });
    expect(confirmed).toMatchObject({ status: 'succeeded', counts: { deactivated: 1, unchanged: 1 } });
    const deactivated = (await api('GET', `environments/${envSmall}/users/${bobId}`, { token: admin }))
      .body as User;
    expect(deactivated).toMatchObject({ active: false, deactivationReason: 'removed-from-group' });
    expect(deactivated.deactivatedAt).toMatch(ISO);
    // Access to the other environment is untouched until its own run.
    expect((await api('GET', `environments/${envBig}/users/${bobId}`, { token: admin })).body).toMatchObject({
      active: true,
    });

    await directory.addMembers(smallGroup, [bob.id]);
    const back = await syncNow(envSmall);
    expect(back).toMatchObject({ status: 'succeeded', counts: { reactivated: 1 } });
    const reactivated = (await api('GET', `environments/${envSmall}/users/${bobId}`, { token: admin }))
      .body as User;
    expect(reactivated).toMatchObject({ active: true, menus: ['Projects'] });
    expect(reactivated).not.toHaveProperty('deactivatedAt');
    expect(reactivated).not.toHaveProperty('deactivationReason');
  });
});

describe('§3.3 + §3.4 settings changes drive the next run', () => {
  it('dropping a group halts over the limit, lists what it would do, and exactly the limit goes ahead', async () => {
    // Bob leaves the directory group, the big group leaves the settings.
    await directory.removeMembers(smallGroup, [bob.id]);
    const narrowed = await api('PUT', `environments/${envBig}/external-users`, {
      token: admin,
      body: { tenant, groupsToSync: smallGroup, defaultMenus: ['Home'] },
    });
    expect(narrowed.status).toBe(200);
    expect(narrowed.body).toMatchObject({ groupsToSync: smallGroup, deactivationLimit: 50 });
    const halted = await syncNow(envBig);
    expect(halted).toMatchObject({
      status: 'halted',
      haltReason: 'deactivation-limit',
      counts: { deactivated: BIG + 1, unchanged: 1, added: 0 },
    });
    const wouldDo = await allPages<Change>(
      `environments/${envBig}/sync-runs/${halted.runId}/changes`,
      'changes',
    );
    expect(wouldDo.items).toHaveLength(BIG + 1);
    expect(wouldDo.items.find((c) => c.objectId === bob.id)).toMatchObject({
      action: 'deactivated',
      reason: 'removed-from-group',
    });
    expect(wouldDo.items.filter((c) => c.reason === 'group-removed')).toHaveLength(BIG);
    const stillActive = await allPages<User>(`environments/${envBig}/users`, 'users');
    expect(stillActive.items.every((u) => u.active)).toBe(true);

    const atLimit = await api('PUT', `environments/${envBig}/external-users`, {
      token: admin,
      body: { tenant, groupsToSync: smallGroup, defaultMenus: ['Home'], deactivationLimit: BIG + 1 },
    });
    expect(atLimit.status).toBe(200);
    const applied = await syncNow(envBig);
    expect(applied).toMatchObject({ status: 'succeeded', counts: { deactivated: BIG + 1, unchanged: 1 } });
    const after = await allPages<User>(`environments/${envBig}/users`, 'users');
    const reasons = new Map<string, number>();
    for (const user of after.items) {
      const key = user.active ? 'active' : String(user.deactivationReason);
      reasons.set(key, (reasons.get(key) ?? 0) + 1);
    }
    expect(Object.fromEntries(reasons)).toEqual({ active: 1, 'group-removed': BIG, 'removed-from-group': 1 });
    expect(after.items.find((u) => u.objectId === ada.id)).toMatchObject({
      active: true,
      groups: [smallGroup],
    });
  });
});

describe('§3.4 runs that fail, update and deactivate for a disabled account', () => {
  it('a missing group fails the run with an error and deactivates nobody', async () => {
    await directory.failGroup(smallGroup, 404);
    const failed = await syncNow(envSmall, { confirmDeactivations: true });
    await directory.clearFaults();
    expect(failed).toMatchObject({ status: 'failed', counts: { deactivated: 0 } });
    const error = failed.error as { code: unknown; message: unknown };
    expect(typeof error.code).toBe('string');
    expect(typeof error.message).toBe('string');
    const users = (await api('GET', `environments/${envSmall}/users`, { token: admin })).body as {
      users: User[];
    };
    expect(users.users.every((u) => u.active)).toBe(true);
  });

  it('a rename is an update naming its fields; a disabled account is deactivated as account-disabled', async () => {
    const newMail = `ada.renamed.${run}@contoso.test`;
    await directory.updateUser(ada.id, { displayName: 'Ada Renamed', mail: newMail });
    const renamed = await syncNow(envSmall, { confirmDeactivations: true });
    // Bob left the small group in the previous describe block.
    expect(renamed).toMatchObject({ status: 'succeeded', counts: { updated: 1, deactivated: 1 } });
    const changes = (
      await api('GET', `environments/${envSmall}/sync-runs/${renamed.runId}/changes`, { token: admin })
    ).body as { changes: Change[] };
    const update = changes.changes.find((c) => c.objectId === ada.id);
    expect(update).toMatchObject({ action: 'updated', displayName: 'Ada Renamed' });
    expect(update?.fields).toEqual(expect.arrayContaining(['displayName', 'email']));
    const adaId = update!.userId;
    expect(
      (await api('GET', `environments/${envSmall}/users/${adaId}`, { token: admin })).body,
    ).toMatchObject({
      displayName: 'Ada Renamed',
      email: newMail,
      active: true,
    });

    await directory.disableUser(ada.id);
    const disabled = await syncNow(envSmall, { confirmDeactivations: true });
    expect(disabled).toMatchObject({ status: 'succeeded', counts: { deactivated: 1 } });
    const user = (await api('GET', `environments/${envSmall}/users/${adaId}`, { token: admin })).body as User;
    expect(user).toMatchObject({ active: false, deactivationReason: 'account-disabled' });
    expect(user.deactivatedAt).toMatch(ISO);
  });
});
