import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE_TABLE } from '../../shared/sync/lease.js';
import { testServices, useTestEnvironment } from '../support/storage.js';
import { createTestDirectory, type TestDirectory } from '../support/dev-directory.js';
import {
  HOST_SCRIPT,
  hostProcessSettings,
  startHostProcess,
  stopHostProcesses,
  untilHost,
  type HostProcess,
} from '../support/host-process.js';
import { allUsers, setupSyncEnvironment, testSyncService } from '../integration/sync-support.js';

/**
 * The compiled app as its own process (`npm run host`, local host), killed with SIGKILL in the
 * middle of a run, started again: the environment is blocked until the dead run's lease expires,
 * and the next run converges with nothing duplicated and nothing lost.
 */
const SECRETS_KEY = 'dGVzdC1vbmx5LXNlY3JldHMta2V5LTMyLWJ5dGVzISE=';
let directory: TestDirectory;
const hosts: HostProcess[] = [];

async function startHost(): Promise<HostProcess> {
  const host = await startHostProcess(await hostProcessSettings(SECRETS_KEY));
  hosts.push(host);
  return host;
}

function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  return untilHost(hosts, 'the run', probe, timeoutMs);
}

beforeAll(async () => {
  useTestEnvironment({ SECRETS_KEY });
  directory = await createTestDirectory({ displayName: 'Host kill' });
});

afterAll(stopHostProcesses);

describe('kill -9 of the host mid-run', () => {
  it('blocks until the lease expires; after a restart the next run converges', async () => {
    expect(existsSync(HOST_SCRIPT)).toBe(true);
    const group = await directory.addGroup('Killed host');
    await directory.generateUsers(group.id, 3000, { prefix: 'Kill' });
    const environmentId = await setupSyncEnvironment({ directory, groups: [group.id] });
    const sync = testSyncService();

    const first = await startHost();
    const run = await sync.requestSync({
      environmentId,
      trigger: 'manual',
      requestedBy: 'admin',
      confirmDeactivations: false,
    });
    // Killed once the run has recorded its plan: its writes (identities, address index, access) are
    // then under way, and the access rows, written last, are not all there.
    await waitFor(async () => {
      const page = await sync.getRunChanges(environmentId, run.runId, undefined);
      return page.changes.length > 0 ? true : undefined;
    }, 30_000);
    await first.stop('SIGKILL');
    const partial = (await allUsers(environmentId)).length;
    expect(partial).toBeLessThan(3000);

    // The dead run still holds the environment.
    await expect(
      sync.requestSync({
        environmentId,
        trigger: 'manual',
        requestedBy: 'admin',
        confirmDeactivations: false,
      }),
    ).rejects.toMatchObject({ code: 'sync-in-progress' });
    // Its lease runs out (moved into the past rather than waited for).
    const state = await testServices().storage.table(STATE_TABLE);
    await state.updateEntity(
      { partitionKey: environmentId, rowKey: 'state', expiresAt: new Date(Date.now() - 1000).toISOString() },
      'Merge',
    );
    expect(await sync.getSyncRun(environmentId, run.runId)).toMatchObject({ status: 'failed' });

    await startHost();
    const rerun = await sync.requestSync({
      environmentId,
      trigger: 'manual',
      requestedBy: 'admin',
      confirmDeactivations: false,
    });
    const finished = await waitFor(async () => {
      const current = await sync.getSyncRun(environmentId, rerun.runId);
      return current.status === 'queued' || current.status === 'running' ? undefined : current;
    }, 60_000);
    expect(finished.status).toBe('succeeded');
    const users = await allUsers(environmentId);
    expect(users).toHaveLength(3000);
    expect(new Set(users.map((u) => u.objectId)).size).toBe(3000);
    expect(users.every((u) => u.active)).toBe(true);
  }, 120_000);
});
