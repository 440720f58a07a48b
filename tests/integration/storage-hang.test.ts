import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildServices } from '../../shared/app/services.js';
import { createDirectoryReader } from '../../shared/directory/reader.js';
import { createEnvironmentsRepository } from '../../shared/environments/repository.js';
import { DEFAULT_STORAGE_TIMING, StorageAccount, type StorageTiming } from '../../shared/storage/account.js';
import { createSyncService, type SyncService } from '../../shared/sync/service.js';
import { createTenantsRepository } from '../../shared/tenants/repository.js';
import { startLocalHost, type LocalHost } from '../../scripts/local-host/local-host.js';
import { accountConnectionString } from '../../scripts/azurite.js';
import {
  testAccountName,
  testClock,
  testPorts,
  testServices,
  useTestEnvironment,
} from '../support/storage.js';
import { createTestDirectory, type TestDirectory } from '../support/dev-directory.js';
import {
  allUsers,
  FAST_READER,
  queuedRun,
  readerDeps,
  setupSyncEnvironment,
  testSyncService,
} from './sync-support.js';
import { startStorageProxy, type StorageProxy } from './storage-proxy.js';

/**
 * Storage that accepts connections and never answers (a hung front end, a black-holed route),
 * unlike a refused or reset connection that fails at once: every storage call must still end.
 */
let proxy: StorageProxy;
let directory: TestDirectory;

function accountAt(ports: { tablePort: number; queuePort: number }, timing?: StorageTiming): StorageAccount {
  return new StorageAccount(
    { kind: 'connection-string', connectionString: accountConnectionString(testAccountName(), ports) },
    timing,
  );
}

/** A sync service whose storage goes through the proxy. */
function instanceBehindProxy(timing: StorageTiming): SyncService {
  const storage = accountAt(proxy, timing);
  return createSyncService({
    storage,
    clock: testClock,
    environments: createEnvironmentsRepository({ storage, clock: testClock }),
    tenants: createTenantsRepository({
      storage,
      clock: testClock,
      secretsKeys: testServices().config.secretsKeys,
    }),
    openDirectory: (connection) => createDirectoryReader(connection, readerDeps(FAST_READER)),
    onAccessDeactivated: async () => {},
  });
}

beforeAll(async () => {
  useTestEnvironment();
  proxy = await startStorageProxy(inject('azurite'));
  directory = await createTestDirectory({ displayName: 'Storage hang' });
});

afterAll(async () => {
  await proxy?.stop();
});

describe('storage that hangs', () => {
  it('the storage timeouts are at most 30 s a try', () => {
    expect(DEFAULT_STORAGE_TIMING.tryTimeoutMs).toBeLessThanOrEqual(30_000);
    expect(DEFAULT_STORAGE_TIMING.retries).toBeLessThanOrEqual(2);
  });

  it('health answers 503 within seconds while storage hangs, and 200 once it answers again', async () => {
    proxy.mode = 'pass';
    const config = useTestEnvironment();
    let host: LocalHost | undefined;
    try {
      host = await startLocalHost({
        port: 0,
        functionsDir: path.resolve('functions'),
        // Built with the production timing: the health check bounds itself.
        services: buildServices(config, testPorts({ storage: accountAt(proxy) })),
        timers: false,
        queues: false,
        log: () => {},
      });
      const health = async (): Promise<{ status: number; body: unknown; ms: number }> => {
        const started = Date.now();
        const answer = await fetch(`${host!.url}/api/health`);
        return { status: answer.status, body: await answer.json(), ms: Date.now() - started };
      };
      expect((await health()).status).toBe(200);

      proxy.mode = 'hang';
      const hung = await health();
      expect(hung.status).toBe(503);
      expect(hung.body).toMatchObject({ type: '/problems/storage-unavailable', status: 503 });
      expect(hung.ms).toBeLessThan(10_000);

      proxy.mode = 'pass';
      const back = await health();
      expect(back.status).toBe(200);
    } finally {
      proxy.mode = 'pass';
      await host?.stop();
    }
  }, 40_000);

  it('a run whose storage hangs mid-run ends in bounded time, writes nothing after, and the next run converges', async () => {
    proxy.mode = 'pass';
    const size = 300;
    const group = await directory.addGroup('Hang');
    await directory.generateUsers(group.id, size, { prefix: 'Hang' });
    const environmentId = await setupSyncEnvironment({ directory, groups: [group.id] });
    const healthy = testSyncService();
    const queued = await queuedRun(healthy, environmentId);
    const { message } = queued;

    const hanging = instanceBehindProxy({ tryTimeoutMs: 1_000, retries: 1, maxRetryDelayMs: 200 });
    const started = Date.now();
    const attempt = hanging
      .executeSyncRun(message, {
        concurrency: 1,
        leaseTiming: { durationMs: 4_000, renewEveryMs: 1_000 },
        afterBatch: () => {
          proxy.mode = 'hang';
          return Promise.resolve();
        },
      })
      .then(
        (outcome) => ({ outcome }),
        (error: unknown) => ({ error }),
      );
    const ended = await attempt;
    const elapsed = Date.now() - started;
    expect(elapsed, JSON.stringify(ended)).toBeLessThan(30_000);
    // Either it saw its lease run out (and stopped) or its writes failed (and it gave up).
    expect('outcome' in ended ? ended.outcome : 'threw').toMatch(/^(skipped|threw)$/);

    proxy.mode = 'pass';
    const partial = (await allUsers(environmentId)).length;
    expect(partial).toBeLessThan(size);
    // Its running lease lasts 4 s and nobody renews it now.
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    expect((await allUsers(environmentId)).length).toBe(partial);
    expect(await healthy.getSyncRun(environmentId, queued.runId)).toMatchObject({ status: 'failed' });

    const rerun = await queuedRun(healthy, environmentId);
    expect(await healthy.executeSyncRun(rerun.message)).toBe('succeeded');
    expect(await healthy.getSyncRun(environmentId, rerun.runId)).toMatchObject({ status: 'succeeded' });
    const users = await allUsers(environmentId);
    expect(users).toHaveLength(size);
    expect(new Set(users.map((u) => u.objectId)).size).toBe(size);
    expect(users.every((u) => u.active)).toBe(true);
  }, 60_000);
});
