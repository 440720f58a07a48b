import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { StorageAccount } from '../../shared/storage/account.js';
import type { SyncService } from '../../shared/sync/service.js';
import { createSyncStores } from '../../shared/sync/stores.js';
import { accountConnectionString } from '../../scripts/azurite.js';
import {
  testAccountName,
  testClock,
  testRepositories,
  testServices,
  useTestEnvironment,
} from '../support/storage.js';
import { createTestDirectory, type TestDirectory } from '../support/dev-directory.js';
import {
  allChanges,
  allUsers,
  configureSync,
  drainSyncQueue,
  setupSyncEnvironment,
  syncInstance,
  testSyncService,
} from './sync-support.js';
import { startStorageProxy, type StorageProxy } from './storage-proxy.js';
import { decodeQueueMessage } from '../../scripts/local-host/queue-listener.js';
import { SYNC_QUEUE } from '../../shared/sync/messages.js';

/**
 * Several app instances on one storage account: each "instance" here is a sync service with its own
 * StorageAccount (its own clients and connections), as two processes would have.
 */
let directory: TestDirectory;
let proxy: StorageProxy;

const instance = (storage: StorageAccount): SyncService => syncInstance(storage);

function accountAt(ports: { tablePort: number; queuePort: number }): StorageAccount {
  return new StorageAccount({
    kind: 'connection-string',
    connectionString: accountConnectionString(testAccountName(), ports),
  });
}

beforeAll(async () => {
  useTestEnvironment();
  directory = await createTestDirectory({ displayName: 'Scale-out' });
  proxy = await startStorageProxy(inject('azurite'));
});

afterAll(async () => {
  await proxy?.stop();
});

function manual(sync: SyncService, environmentId: string) {
  return sync.requestSync({
    environmentId,
    trigger: 'manual',
    requestedBy: 'admin',
    confirmDeactivations: false,
  });
}

/** The messages of the sync queue for these environments, taken off the queue. */
async function takeMessages(environmentIds: readonly string[]): Promise<unknown[]> {
  const queue = await testServices().storage.queue(SYNC_QUEUE);
  const taken: unknown[] = [];
  for (let round = 0; round < 10 && taken.length < environmentIds.length; round++) {
    const { receivedMessageItems } = await queue.receiveMessages({
      numberOfMessages: 32,
      visibilityTimeout: 30,
    });
    for (const message of receivedMessageItems) {
      const body = decodeQueueMessage(message.messageText) as { environmentId?: string };
      if (body.environmentId && environmentIds.includes(body.environmentId)) {
        taken.push(body);
        await queue.deleteMessage(message.messageId, message.popReceipt);
      }
    }
  }
  return taken;
}

describe('several instances on one storage account', () => {
  it('concurrent requests on two instances: exactly one run; the timer on both: one run per environment', async () => {
    const group = await directory.addGroup('Concurrent');
    await directory.generateUsers(group.id, 5, { prefix: 'Conc' });
    const a = instance(accountAt(inject('azurite')));
    const b = instance(accountAt(proxy));
    const environmentId = await setupSyncEnvironment({ directory, groups: [group.id] });
    const results = await Promise.allSettled([manual(a, environmentId), manual(b, environmentId)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({
      reason: { code: 'sync-in-progress' },
    });
    await drainSyncQueue();

    const periodic = await Promise.all(
      [1, 2, 3].map(() => setupSyncEnvironment({ directory, groups: [group.id], periodicSync: true })),
    );
    const [first, second] = await Promise.all([
      a.queuePeriodicRuns({ onSchedule: true }),
      b.queuePeriodicRuns({ onSchedule: true }),
    ]);
    for (const environment of periodic) {
      const queuedBy = [first, second].filter((r) => r.queued.includes(environment));
      expect(queuedBy, environment).toHaveLength(1);
      expect(await a.listSyncRuns(environment, 10)).toHaveLength(1);
    }
    await drainSyncQueue();
  });

  it('rule 14: two environments meeting the same new users at once record each `added` once', async () => {
    const group = await directory.addGroup('Shared');
    await directory.generateUsers(group.id, 120, { prefix: 'Shared' });
    const tenantName = `t-${randomUUID().slice(0, 12)}`;
    const environments = [`env-${randomUUID().slice(0, 8)}`, `env-${randomUUID().slice(0, 8)}`];
    await testRepositories().tenants.save({
      ...directory.tenantConnection(tenantName, environments),
      owner: 'test-partner',
      environments,
    });
    for (const id of environments) {
      await testRepositories().environments.save({ id, name: id, externalUsersIntegration: true });
      await configureSync(id, tenantName, { groups: [group.id] });
    }
    const a = instance(accountAt(inject('azurite')));
    const b = instance(accountAt(inject('azurite')));
    const runs = [await manual(a, environments[0]!), await manual(b, environments[1]!)];
    const messages = await takeMessages(environments);
    expect(messages).toHaveLength(2);
    const outcomes = await Promise.all([a.executeSyncRun(messages[0]), b.executeSyncRun(messages[1])]);
    expect(outcomes).toEqual(['succeeded', 'succeeded']);
    const added = new Map<string, number>();
    for (const [i, run] of runs.entries()) {
      const changes = await allChanges(a, environments[i]!, run.runId);
      expect(changes).toHaveLength(120);
      for (const change of changes.filter((c) => c.action === 'added')) {
        added.set(change.objectId, (added.get(change.objectId) ?? 0) + 1);
      }
      const stored = await a.getSyncRun(environments[i]!, run.runId);
      expect(stored.counts.added + stored.counts.granted).toBe(120);
    }
    expect(added.size).toBe(120);
    expect([...added.values()].every((n) => n === 1)).toBe(true);
  });
});

describe('rule 13: the tenant must allow the environment', () => {
  it('a run queued before, requested after or ticked after the change fails with tenant-not-allowed, nothing changed', async () => {
    const group = await directory.addGroup('Allowed');
    await directory.generateUsers(group.id, 3, { prefix: 'Allowed' });
    const tenantName = `t-${randomUUID().slice(0, 12)}`;
    const environmentId = await setupSyncEnvironment({
      directory,
      groups: [group.id],
      tenantName,
      periodicSync: true,
    });
    const sync = testSyncService();
    const queued = await manual(sync, environmentId);
    // The partner drops the environment from the tenant while the run waits in the queue.
    await testRepositories().tenants.save({
      ...directory.tenantConnection(tenantName, []),
      owner: 'test-partner',
      environments: [],
    });
    await drainSyncQueue();
    expect(await sync.getSyncRun(environmentId, queued.runId)).toMatchObject({
      status: 'failed',
      error: { code: 'tenant-not-allowed' },
    });
    expect(await allUsers(environmentId)).toHaveLength(0);
    // Requested and ticked after the change: accepted, and each run fails the same way, so the
    // environment's admins see why (and are mailed) instead of a sync that silently never happens.
    const requested = await manual(sync, environmentId);
    await drainSyncQueue();
    const tick = await sync.queuePeriodicRuns({ onSchedule: true });
    expect(tick.queued).toContain(environmentId);
    await drainSyncQueue();
    const runs = await sync.listSyncRuns(environmentId, 10);
    expect(runs.map((run) => run.runId)).toContain(requested.runId);
    expect(runs).toHaveLength(3);
    for (const run of runs) {
      expect(run).toMatchObject({ status: 'failed', error: { code: 'tenant-not-allowed' } });
    }
    expect(await allUsers(environmentId)).toHaveLength(0);
  });
});

describe('leases across instances', () => {
  it('a worker cut off from storage during its lease renewals is taken over; it never writes again and the rerun converges', async () => {
    const group = await directory.addGroup('Takeover');
    await directory.generateUsers(group.id, 300, { prefix: 'Take' });
    const environmentId = await setupSyncEnvironment({ directory, groups: [group.id] });
    proxy.mode = 'pass';
    const cutOff = instance(accountAt(proxy));
    const healthy = instance(accountAt(inject('azurite')));
    const first = await manual(healthy, environmentId);
    const [message] = await takeMessages([environmentId]);
    let batches = 0;
    let release!: () => void;
    const resumed = new Promise<void>((resolve) => (release = resolve));
    let reached!: () => void;
    const atBatch = new Promise<void>((resolve) => (reached = resolve));
    const leaseTiming = { durationMs: 1500, renewEveryMs: 300 };
    const worker = cutOff.executeSyncRun(message, {
      concurrency: 1,
      leaseTiming,
      afterBatch: async () => {
        if (++batches === 1) {
          reached();
          await resumed;
        }
      },
    });
    await atBatch;
    const usersBefore = (await allUsers(environmentId)).length;
    // Storage refuses this instance: its renewals fail, its lease runs out.
    proxy.mode = 'reset';
    await new Promise((r) => setTimeout(r, leaseTiming.durationMs + 300));
    expect(await healthy.getSyncRun(environmentId, first.runId)).toMatchObject({ status: 'failed' });
    const second = await manual(healthy, environmentId);
    proxy.mode = 'pass';
    release();
    expect(await worker).toBe('skipped');
    expect((await allUsers(environmentId)).length).toBe(usersBefore);
    expect(await healthy.getSyncRun(environmentId, first.runId)).toMatchObject({ status: 'failed' });

    await drainSyncQueue();
    const rerun = await healthy.getSyncRun(environmentId, second.runId);
    expect(rerun.status).toBe('succeeded');
    const users = await allUsers(environmentId);
    expect(users).toHaveLength(300);
    expect(new Set(users.map((u) => u.objectId)).size).toBe(300);
    // Between the two runs, every user's access is in a history exactly once.
    const listed = [
      ...(await allChanges(healthy, environmentId, first.runId)).filter((c) =>
        users.some((u) => u.id === c.userId),
      ),
      ...(await allChanges(healthy, environmentId, second.runId)),
    ];
    expect(new Set(listed.map((c) => c.userId)).size).toBe(300);
    const stores = createSyncStores(testServices().storage, testClock);
    expect(await stores.leases.getLeaseState(environmentId)).toBeUndefined();
  }, 40_000);
});

describe('storage faults mid-run', () => {
  for (const mode of ['reset', '503'] as const) {
    it(`storage that ${mode === 'reset' ? 'resets connections' : 'answers 503'} between batches: the run is retried, converges, and lists each change once`, async () => {
      const group = await directory.addGroup(`Faulty ${mode}`);
      await directory.generateUsers(group.id, 250, { prefix: `Fault${mode}` });
      const environmentId = await setupSyncEnvironment({ directory, groups: [group.id] });
      proxy.mode = 'pass';
      const faulty = instance(accountAt(proxy));
      const run = await manual(faulty, environmentId);
      const [message] = await takeMessages([environmentId]);
      let batches = 0;
      const attempt = faulty.executeSyncRun(message, {
        concurrency: 1,
        afterBatch: async () => {
          if (++batches !== 2) return;
          proxy.mode = mode;
          // Storage comes back while the worker is handing the run back to the queue.
          setTimeout(() => (proxy.mode = 'pass'), 6_000);
          await Promise.resolve();
        },
      });
      // Either the storage client's own retries ride the fault out, or the attempt hands the run back.
      const outcome = await attempt.catch((error: unknown) => error);
      if (outcome !== 'succeeded') {
        expect(outcome).toMatchObject({ code: 'storage-unavailable' });
        expect(await faulty.getSyncRun(environmentId, run.runId)).toMatchObject({ status: 'queued' });
        // The queue delivers the message again.
        expect(await faulty.executeSyncRun(message)).toBe('succeeded');
      }
      expect(mode === '503' || outcome !== 'succeeded').toBe(true);
      const finished = await faulty.getSyncRun(environmentId, run.runId);
      expect(finished.counts).toMatchObject({ added: 250, granted: 0 });
      const changes = await allChanges(faulty, environmentId, run.runId);
      expect(changes).toHaveLength(250);
      expect(new Set(changes.map((c) => c.userId)).size).toBe(250);
      const users = await allUsers(environmentId);
      expect(users).toHaveLength(250);
      expect(users.every((u) => u.active)).toBe(true);
      // A rerun finds nothing left to do.
      const rerun = await manual(faulty, environmentId);
      await drainSyncQueue();
      expect(await faulty.getSyncRun(environmentId, rerun.runId)).toMatchObject({
        status: 'succeeded',
        counts: { added: 0, granted: 0, unchanged: 250 },
      });
    }, 60_000);
  }
});
