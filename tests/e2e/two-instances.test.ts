import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE_TABLE } from '../../shared/sync/lease.js';
import { apiClient, expectProblem, type Api } from '../support/api.js';
import { testServices, useTestEnvironment } from '../support/storage.js';
import { createTestDirectory, managementToken, type TestDirectory } from '../support/dev-directory.js';
import {
  HOST_SCRIPT,
  hostProcessSettings,
  startHostProcess,
  stopHostProcesses,
  untilHost,
  type HostProcess,
} from '../support/host-process.js';
import { allUsers, setupSyncEnvironment } from '../integration/sync-support.js';

/**
 * Two app instances on one storage account, as Functions scales out: two local-host processes
 * (`npm run host`) on the same Azurite account and the same dev directory, each with its own queue
 * listener and timer. Requests, ticks and workers race across the processes, never inside one.
 */
const SECRETS_KEY = 'dHdvLWluc3RhbmNlcy10ZXN0LW9ubHkta2V5LTMyYnk=';
let directory: TestDirectory;
let operator: string;
let hosts: HostProcess[] = [];
let apis: Api[] = [];

interface RunView {
  readonly runId: string;
  readonly status: string;
  readonly trigger: string;
  readonly counts: { readonly added: number; readonly granted: number };
}

const settled = (run: RunView): boolean => run.status !== 'queued' && run.status !== 'running';

function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  return untilHost(hosts, what, probe, timeoutMs);
}

async function runsOf(api: Api, environmentId: string): Promise<RunView[]> {
  const answer = await api('GET', `environments/${environmentId}/sync-runs?limit=100`, { token: operator });
  expect(answer.status, answer.text).toBe(200);
  return (answer.body as { runs: RunView[] }).runs;
}

async function runOf(api: Api, environmentId: string, runId: string): Promise<RunView> {
  const answer = await api('GET', `environments/${environmentId}/sync-runs/${runId}`, { token: operator });
  expect(answer.status, answer.text).toBe(200);
  return answer.body as RunView;
}

function untilSettled(api: Api, environmentId: string, runId: string): Promise<RunView> {
  return waitFor(`run ${runId} of ${environmentId}`, async () => {
    const run = await runOf(api, environmentId, runId);
    return settled(run) ? run : undefined;
  });
}

async function fireTimer(host: HostProcess): Promise<number> {
  const answer = await fetch(`${host.url}/admin/functions/periodicSync`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input: '' }),
  });
  return answer.status;
}

/** Invocations of the queue worker that a host has started and not yet finished. */
function workerInvocationsInFlight(host: HostProcess): Set<string> {
  const open = new Set<string>();
  for (const match of host.output().matchAll(/Execut(ing|ed) 'Functions\.syncWorker' \((.*?)\)/g)) {
    const id = /Id=([0-9a-f-]+)/.exec(match[2]!)?.[1];
    if (id === undefined) continue;
    if (match[1] === 'ing') open.add(id);
    else open.delete(id);
  }
  return open;
}

beforeAll(async () => {
  expect(existsSync(HOST_SCRIPT)).toBe(true);
  useTestEnvironment({ SECRETS_KEY });
  directory = await createTestDirectory({ displayName: 'Two instances' });
  operator = await managementToken('platform-operator');
  // One port each, chosen one after the other so that the two cannot be handed the same.
  const settings = [await hostProcessSettings(SECRETS_KEY), await hostProcessSettings(SECRETS_KEY)];
  hosts = await Promise.all(settings.map((s) => startHostProcess(s)));
  apis = hosts.map((host) => apiClient(() => host));
}, 60_000);

afterAll(stopHostProcesses);

describe('two local-host processes on one storage account', () => {
  it('concurrent sync requests on both instances: exactly one 202, the other 409 naming that run', async () => {
    const environments = await Promise.all(
      [1, 2, 3].map(async (n) => {
        const group = await directory.addGroup(`Two instances ${n}`);
        await directory.generateUsers(group.id, 5, { prefix: `Twin${n}` });
        return setupSyncEnvironment({ directory, groups: [group.id] });
      }),
    );
    for (const environmentId of environments) {
      const answers = await Promise.all(
        apis.map((api) => api('POST', `environments/${environmentId}/sync`, { token: operator })),
      );
      const accepted = answers.filter((a) => a.status === 202);
      expect(accepted, answers.map((a) => a.text).join('\n')).toHaveLength(1);
      const refused = answers.find((a) => a.status !== 202)!;
      const problem = expectProblem(refused, 409, '/problems/sync-in-progress');
      const { runId } = accepted[0]!.body as { runId: string };
      expect(problem.runId).toBe(runId);
    }
    for (const environmentId of environments) {
      const runs = await runsOf(apis[1]!, environmentId);
      expect(runs).toHaveLength(1);
      expect(await untilSettled(apis[0]!, environmentId, runs[0]!.runId)).toMatchObject({
        status: 'succeeded',
        counts: { added: 5 },
      });
    }
  }, 120_000);

  it('the timer fired on both instances at once queues one run per environment, and so does the next tick', async () => {
    const environments = await Promise.all(
      [1, 2, 3].map(async (n) => {
        const group = await directory.addGroup(`Two ticks ${n}`);
        await directory.generateUsers(group.id, 3, { prefix: `Tick${n}` });
        return setupSyncEnvironment({ directory, groups: [group.id], periodicSync: true });
      }),
    );
    expect(await Promise.all(hosts.map(fireTimer))).toEqual([202, 202]);
    for (const environmentId of environments) {
      const [run] = await waitFor(`the periodic run of ${environmentId}`, async () => {
        const runs = await runsOf(apis[0]!, environmentId);
        return runs.length > 0 && runs.every(settled) ? runs : undefined;
      });
      expect(run).toMatchObject({ trigger: 'periodic', status: 'succeeded', counts: { added: 3 } });
    }
    // The runs have ended; the timer run by hand on both again is a new tick: one more run each.
    expect(await Promise.all(hosts.map(fireTimer))).toEqual([202, 202]);
    for (const environmentId of environments) {
      const runs = await waitFor(`the second periodic run of ${environmentId}`, async () => {
        const all = await runsOf(apis[1]!, environmentId);
        return all.length > 1 && all.every(settled) ? all : undefined;
      });
      expect(runs).toHaveLength(2);
      expect(runs.every((run) => run.trigger === 'periodic')).toBe(true);
    }
  }, 120_000);

  it('a worker killed mid-run on one instance: the other takes over once its lease expires, and the next run converges', async () => {
    const size = 3000;
    const group = await directory.addGroup('Killed instance');
    await directory.generateUsers(group.id, size, { prefix: 'Killed' });
    const environmentId = await setupSyncEnvironment({ directory, groups: [group.id] });
    const accepted = await apis[0]!('POST', `environments/${environmentId}/sync`, { token: operator });
    expect(accepted.status, accepted.text).toBe(202);
    const { runId } = accepted.body as { runId: string };

    // Whichever instance took the message is writing; it is the one killed. It has recorded its
    // plan, so its writes (identities, address index, access rows last) are under way.
    const victim = await waitFor('a worker mid-run', async () => {
      const changes = await apis[0]!('GET', `environments/${environmentId}/sync-runs/${runId}/changes`, {
        token: operator,
      });
      const recorded = (changes.body as { changes?: unknown[] }).changes ?? [];
      if (recorded.length === 0) return undefined;
      const busy = hosts.filter((host) => workerInvocationsInFlight(host).size > 0);
      return busy.length === 1 ? busy[0] : undefined;
    });
    await victim.stop('SIGKILL');
    const survivor = hosts.find((host) => host !== victim)!;
    const api = apiClient(() => survivor);
    // A transaction already sent when the process died may still be committed by storage.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const partial = (await allUsers(environmentId)).length;
    expect(partial).toBeLessThan(size);

    // Until its lease expires, the dead run holds the environment on the other instance too.
    const blocked = await api('POST', `environments/${environmentId}/sync`, { token: operator });
    expect(expectProblem(blocked, 409, '/problems/sync-in-progress').runId).toBe(runId);
    // The lease runs out (moved into the past rather than waited for: it lasts minutes).
    const state = await testServices().storage.table(STATE_TABLE);
    await state.updateEntity(
      { partitionKey: environmentId, rowKey: 'state', expiresAt: new Date(Date.now() - 1000).toISOString() },
      'Merge',
    );
    expect(await runOf(api, environmentId, runId)).toMatchObject({ status: 'failed' });

    const rerun = await api('POST', `environments/${environmentId}/sync`, { token: operator });
    expect(rerun.status, rerun.text).toBe(202);
    const next = await untilSettled(api, environmentId, (rerun.body as { runId: string }).runId);
    expect(next.status).toBe('succeeded');
    // What the dead run applied is not applied again; what it left undone is done now.
    expect(next.counts.added + next.counts.granted).toBe(size - partial);
    const users = await allUsers(environmentId);
    expect(users).toHaveLength(size);
    expect(new Set(users.map((u) => u.objectId)).size).toBe(size);
    expect(users.every((u) => u.active)).toBe(true);
  }, 180_000);
});
