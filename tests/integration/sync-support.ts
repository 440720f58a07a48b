import { testClock, testRepositories, testServices } from '../support/storage.js';
import { randomUUID } from 'node:crypto';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { systemClock } from '../../shared/clock.js';
import { createDirectoryReader, type DirectoryDeps } from '../../shared/directory/reader.js';
import { createTokenSource } from '../../shared/directory/token.js';
import { createEnvironmentsRepository } from '../../shared/environments/repository.js';
import type { StorageAccount } from '../../shared/storage/account.js';
import { SYNC_QUEUE } from '../../shared/sync/messages.js';
import { createTenantsRepository } from '../../shared/tenants/repository.js';
import { createSyncStores, type SyncStores } from '../../shared/sync/stores.js';
import {
  createSyncService,
  type AccessDeactivatedHandler,
  type RequestSyncInput,
  type SyncService,
  type WorkerOptions,
  type WorkerOutcome,
} from '../../shared/sync/service.js';
import type { SyncRun } from '../../shared/sync/runs.js';
import type { RunTrigger } from '../../shared/sync/run-model.js';
import type { Change } from '../../shared/sync/planner.js';
import {
  createUsersRepository,
  type EnvironmentUser,
  type UsersRepository,
} from '../../shared/users/repository.js';
import type { TestDirectory } from '../support/dev-directory.js';
import { uniqueId } from '../support/ids.js';
import { drainQueue, ofEnvironment, takeMessage } from '../support/queues.js';

/** What a test may set of a reader's deps; the rest are the real network and clock. */
export type ReaderOptions = Partial<DirectoryDeps>;

/** One token source for the test process, as the composition root keeps one per process. */
const TOKENS = createTokenSource();

/** Retries without real waiting, so throttling tests take milliseconds. */
export const FAST_READER: ReaderOptions = {
  sleep: async () => {},
  limits: { maxRetries: 5, giveUpAfterMs: 5 * 60_000, baseDelayMs: 1, maxDelayMs: 5 },
};

export function readerDeps(options: ReaderOptions): DirectoryDeps {
  return { fetch: (input, init) => fetch(input, init), clock: systemClock, tokens: TOKENS, ...options };
}

export interface TestSyncOptions {
  /** How the directory is read (default FAST_READER). */
  readonly reader?: ReaderOptions;
  /** Default: nothing happens (these tests look at access, not sessions). */
  readonly onAccessDeactivated?: AccessDeactivatedHandler;
}

/** A sync service over this worker's Azurite account, the real repositories and the dev directory. */
export function testSyncService(options: TestSyncOptions = {}): SyncService {
  return createSyncService({
    storage: testServices().storage,
    clock: testClock,
    environments: testRepositories().environments,
    tenants: testRepositories().tenants,
    openDirectory: (connection) =>
      createDirectoryReader(connection, readerDeps(options.reader ?? FAST_READER)),
    onAccessDeactivated: options.onAccessDeactivated ?? (async () => {}),
  });
}

/**
 * An app instance of its own on `storage` (its own clients, as another Functions instance on the
 * same account has), with the dev directory's fast reader; `periodicSchedule` as the instance's.
 */
export function syncInstance(storage: StorageAccount, periodicSchedule?: string): SyncService {
  const { config } = testServices();
  return createSyncService({
    storage,
    clock: testClock,
    environments: createEnvironmentsRepository({ storage, clock: testClock }),
    tenants: createTenantsRepository({ storage, clock: testClock, secretsKeys: config.secretsKeys }),
    openDirectory: (connection) => createDirectoryReader(connection, readerDeps(FAST_READER)),
    onAccessDeactivated: async () => {},
    ...(periodicSchedule === undefined ? {} : { periodicSchedule }),
  });
}

/** The sync's tables over this worker's account, for looking at runs directly. */
export function testSyncStores(): SyncStores {
  return createSyncStores(testServices().storage, testClock);
}

export function testUsersRepository(): UsersRepository {
  return createUsersRepository(testServices().storage);
}

export type DrainOptions = WorkerOptions & TestSyncOptions;

export interface SyncEnvironmentInput {
  readonly directory: TestDirectory;
  readonly groups: readonly string[];
  readonly environmentId?: string;
  readonly tenantName?: string;
  readonly defaultMenus?: readonly string[];
  readonly deactivationLimit?: number;
  readonly periodicSync?: boolean;
  readonly integration?: boolean;
}

/** A tenant for the directory and an environment configured to sync `groups`, straight in storage. */
export async function setupSyncEnvironment(input: SyncEnvironmentInput): Promise<string> {
  const environmentId = input.environmentId ?? uniqueId('env');
  const tenantName = input.tenantName ?? uniqueId('t');
  const connection = input.directory.tenantConnection(tenantName, [environmentId]);
  await testRepositories().tenants.save({
    ...connection,
    owner: 'test-partner',
    environments: [environmentId],
  });
  await testRepositories().environments.save({
    id: environmentId,
    name: environmentId,
    externalUsersIntegration: input.integration ?? true,
  });
  await configureSync(environmentId, tenantName, input);
  return environmentId;
}

export async function configureSync(
  environmentId: string,
  tenant: string,
  input: Pick<SyncEnvironmentInput, 'groups' | 'defaultMenus' | 'deactivationLimit' | 'periodicSync'>,
): Promise<void> {
  await testRepositories().environments.saveSettings(environmentId, {
    tenant,
    groupsToSync: input.groups.map((g) => g.toLowerCase()),
    defaultMenus: input.defaultMenus ?? ['Home'],
    periodicSync: input.periodicSync ?? false,
    deactivationLimit: input.deactivationLimit ?? 50,
  });
}

/** Runs the worker on every message of the sync queue, as the host would. */
export async function drainSyncQueue(options: DrainOptions = {}): Promise<WorkerOutcome[]> {
  const sync = testSyncService(options);
  const outcomes: WorkerOutcome[] = [];
  await drainQueue(SYNC_QUEUE, async (message) => {
    outcomes.push(await sync.executeSyncRun(message, options));
  });
  return outcomes;
}

/** A run requested by `input`, queued and executed by the worker; returns the finished run. */
async function runRequested(input: RequestSyncInput, options: DrainOptions = {}): Promise<SyncRun> {
  const queued = await testSyncService(options).requestSync(input);
  await drainSyncQueue(options);
  const run = await testSyncStores().runs.getRun(input.environmentId, queued.runId);
  if (!run) throw new Error('the run disappeared');
  return run;
}

/** A manual run, queued and executed; returns the finished run. */
export function syncNow(
  environmentId: string,
  options: DrainOptions & { confirmDeactivations?: boolean } = {},
): Promise<SyncRun> {
  const confirmDeactivations = options.confirmDeactivations ?? false;
  return runRequested(
    { environmentId, trigger: 'manual', requestedBy: 'test-admin', confirmDeactivations },
    options,
  );
}

/** A dry run of the stored settings, queued and executed; returns the finished run. */
export function dryRunNow(environmentId: string): Promise<SyncRun> {
  return runRequested({
    environmentId,
    trigger: 'manual',
    requestedBy: 'test-admin',
    confirmDeactivations: false,
    dryRun: {},
  });
}

/** A periodic run, queued and executed as the timer's would be; returns the finished run. */
export function periodicNow(environmentId: string, options: DrainOptions = {}): Promise<SyncRun> {
  return runRequested(
    { environmentId, trigger: 'periodic', requestedBy: 'schedule', confirmDeactivations: false },
    options,
  );
}

/**
 * Queues a run on `sync` and takes its message off the queue, as a host instance would, without
 * running it.
 */
export async function queuedRun(
  sync: SyncService,
  environmentId: string,
  trigger: RunTrigger = 'manual',
): Promise<{ runId: string; message: unknown }> {
  const run = await sync.requestSync({
    environmentId,
    trigger,
    requestedBy: trigger === 'periodic' ? 'schedule' : 'test-admin',
    confirmDeactivations: false,
  });
  return { runId: run.runId, message: await takeMessage(SYNC_QUEUE, ofEnvironment(environmentId)) };
}

export async function allUsers(environmentId: string): Promise<EnvironmentUser[]> {
  const repository = testUsersRepository();
  const users: EnvironmentUser[] = [];
  let token: string | undefined;
  do {
    const page = await repository.listEnvironmentUsers(
      environmentId,
      token === undefined ? { pageSize: 1000 } : { pageSize: 1000, continuationToken: token },
    );
    users.push(...page.users);
    token = page.continuationToken;
  } while (token !== undefined);
  return users;
}

export function byObjectId(users: readonly EnvironmentUser[]): Map<string, EnvironmentUser> {
  return new Map(users.map((u) => [u.objectId, u]));
}

/**
 * Adds `sendRequest` as a pipeline policy of this worker's clients of `tables`; the returned
 * function removes it.
 */
export async function attachTablePolicy(
  tables: readonly string[],
  sendRequest: PipelinePolicy['sendRequest'],
): Promise<() => Promise<void>> {
  const name = `test-${randomUUID()}`;
  for (const tableName of tables) {
    (await testServices().storage.table(tableName)).pipeline.addPolicy({ name, sendRequest });
  }
  return async () => {
    for (const tableName of tables) {
      (await testServices().storage.table(tableName)).pipeline.removePolicy({ name });
    }
  };
}

/** Counts requests to storage tables, by kind (method + table), through a pipeline policy. */
export class TableRequestCounter {
  readonly counts = new Map<string, number>();
  private readonly detachers: (() => Promise<void>)[] = [];

  async attach(tables: readonly string[]): Promise<void> {
    const detach = await attachTablePolicy(tables, async (request, next) => {
      const url = new URL(request.url);
      const table = /^\/[^/]+\/(\$batch|[A-Za-z0-9]+)/.exec(url.pathname)?.[1] ?? url.pathname;
      const key = `${request.method} ${table}`;
      this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
      return next(request);
    });
    this.detachers.push(detach);
  }

  async detach(): Promise<void> {
    for (const detach of this.detachers.splice(0)) await detach();
  }

  reset(): void {
    this.counts.clear();
  }

  /** Requests that change data: everything but GET. */
  writes(): Record<string, number> {
    return Object.fromEntries([...this.counts].filter(([key]) => !key.startsWith('GET ')));
  }

  total(filter: (key: string) => boolean = () => true): number {
    let sum = 0;
    for (const [key, n] of this.counts) if (filter(key)) sum += n;
    return sum;
  }
}

/** Every change a run lists, page by page as the API serves them. */
export async function allChanges(sync: SyncService, environmentId: string, runId: string): Promise<Change[]> {
  const all: Change[] = [];
  let token: string | undefined;
  do {
    const page = await sync.getRunChanges(environmentId, runId, token);
    all.push(...page.changes);
    token = page.continuationToken;
  } while (token !== undefined);
  return all;
}
