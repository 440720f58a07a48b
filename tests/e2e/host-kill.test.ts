import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../scripts/azurite.js';
import { STATE_TABLE } from '../../shared/sync/lease.js';
import { testConnectionString, testServices, useTestEnvironment } from '../support/storage.js';
import { createTestDirectory, type TestDirectory } from '../support/dev-directory.js';
import { allUsers, setupSyncEnvironment, testSyncService } from '../integration/sync-support.js';

/**
 * The compiled app as its own process (`npm run host`, local host), killed with SIGKILL in the
 * middle of a run, started again: the environment is blocked until the dead run's lease expires,
 * and the next run converges with nothing duplicated and nothing lost.
 */
const SECRETS_KEY = 'dGVzdC1vbmx5LXNlY3JldHMta2V5LTMyLWJ5dGVzISE=';
let directory: TestDirectory;
const children = new Set<ChildProcess>();
const output: string[] = [];

async function startHost(): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['dist-dev/scripts/host.js'], {
    env: {
      ...process.env,
      USE_LOCAL_HOST: '1',
      AZURE_FUNCTIONS_ENVIRONMENT: 'Development',
      PORT: String(port),
      AzureWebJobsStorage: testConnectionString(),
      SECRETS_KEY,
      DIRECTORY_HOSTS: new URL(inject('devDirectory').origin).host,
      // No periodic runs of other tests' environments in this process.
      SYNC_SCHEDULE: '0 0 0 1 1 *',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    try {
      return (await fetch(`${url}/api/health`)).status === 200 ? true : undefined;
    } catch {
      return undefined;
    }
  }, 30_000);
  return { child, url };
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met in time\n${output.join('')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  useTestEnvironment({ SECRETS_KEY });
  directory = await createTestDirectory({ displayName: 'Host kill' });
});

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

describe('kill -9 of the host mid-run', () => {
  it('blocks until the lease expires; after a restart the next run converges', async () => {
    expect(existsSync('dist-dev/scripts/host.js')).toBe(true);
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
    await waitFor(async () => ((await allUsers(environmentId)).length > 0 ? true : undefined), 30_000);
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
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
