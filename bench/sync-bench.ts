/**
 * One benchmark size (BENCH_N) in its own process, so that peak RSS belongs to it alone. Started by
 * bench/run.ts with NODE_EXTRA_CA_CERTS trusting the dev directory. Prints one JSON line per
 * scenario on stdout, prefixed `RESULT `.
 */
import { randomUUID } from 'node:crypto';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { TableClient, TransactionAction } from '@azure/data-tables';
import { loadConfig } from '../shared/config.js';
import { StorageAccount } from '../shared/storage/account.js';
import { accountConnectionString } from '../scripts/azurite.js';
import { createAdminClient } from '../devdir/client.js';
import { generatedUserId } from '../devdir/ids.js';
import type { DevDirectoryAdmin } from '../devdir/admin.js';
import { createTenantsRepository, type TenantsRepository } from '../shared/tenants/repository.js';
import {
  createEnvironmentsRepository,
  type EnvironmentsRepository,
} from '../shared/environments/repository.js';
import { systemClock } from '../shared/clock.js';
import { createDirectoryReader } from '../shared/directory/reader.js';
import { createTokenSource } from '../shared/directory/token.js';
import { createSyncService, SYNC_QUEUE, type SyncService } from '../shared/sync/service.js';
import type { RunCounts } from '../shared/sync/runs.js';
import { decodeQueueMessage } from '../scripts/local-host/queue-listener.js';

const TABLES = ['users', 'useraccess', 'syncruns', 'syncstate', 'syncchanges', 'environments', 'tenants'];

class Counter {
  counts = new Map<string, number>();
  readonly policy: PipelinePolicy = {
    name: 'bench-counter',
    sendRequest: async (request, next) => {
      const url = new URL(request.url);
      const table = /^\/[^/]+\/(\$batch|[A-Za-z0-9]+)/.exec(url.pathname)?.[1] ?? url.pathname;
      const kind = `${request.method} ${table}`;
      this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
      return next(request);
    },
  };
  add(kind: string, n = 1): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + n);
  }
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort());
  }
  reset(): void {
    this.counts.clear();
  }
}

interface ScenarioResult {
  n: number;
  scenario: string;
  status: string;
  counts: RunCounts;
  wallMs: number;
  graphRequests: number;
  graphMinimum: number;
  tokenRequests: number;
  discoveryRequests: number;
  storage: Record<string, number>;
  storageWrites: number;
  storageReads: number;
  peakRssMb: number;
}

/** The bench's storage and repositories, made once its account is known. */
interface BenchWorld {
  readonly storage: StorageAccount;
  readonly tenants: TenantsRepository;
  readonly environments: EnvironmentsRepository;
}
let benchWorld: BenchWorld | undefined;

function world(): BenchWorld {
  if (!benchWorld) throw new Error('the bench storage is not set up yet');
  return benchWorld;
}

function storage(): StorageAccount {
  return world().storage;
}

let syncService: SyncService | undefined;

/** The sync as the worker runs it, minus session revocation (the bench has no sessions). */
/** One token source for the bench process, as the composition root keeps one per process. */
const tokens = createTokenSource();

function sync(): SyncService {
  syncService ??= createSyncService({
    storage: storage(),
    clock: systemClock,
    environments: world().environments,
    tenants: world().tenants,
    openDirectory: (connection) =>
      createDirectoryReader(connection, {
        fetch: (input, init) => fetch(input, init),
        clock: systemClock,
        tokens,
      }),
    onAccessDeactivated: async () => {},
  });
  return syncService;
}

function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

function pages(members: number): number {
  return Math.max(1, Math.ceil(members / 999));
}

async function runOnce(
  admin: DevDirectoryAdmin,
  directoryId: string,
  environmentId: string,
  counter: Counter,
  groupSizes: number[],
  n: number,
  scenario: string,
): Promise<ScenarioResult> {
  await admin.resetRequestLog(directoryId);
  counter.reset();
  const started = performance.now();
  const queued = await sync().requestSync({
    environmentId,
    trigger: 'manual',
    requestedBy: 'bench',
    confirmDeactivations: true,
  });
  counter.add('queue send');
  const queue = await storage().queue(SYNC_QUEUE);
  const { receivedMessageItems } = await queue.receiveMessages({
    numberOfMessages: 1,
    visibilityTimeout: 600,
  });
  counter.add('queue receive');
  const message = receivedMessageItems[0];
  if (!message) throw new Error('no message');
  await sync().executeSyncRun(decodeQueueMessage(message.messageText), {
    log: (text, data) => process.stderr.write(`    ${text} ${JSON.stringify(data)}\n`),
  });
  await queue.deleteMessage(message.messageId, message.popReceipt);
  counter.add('queue delete');
  const wallMs = Math.round(performance.now() - started);
  const run = await sync().getSyncRun(environmentId, queued.runId);
  const log = await admin.requestLog(directoryId);
  const graph = log.filter((e) => e.kind === 'graph' || e.kind === 'graph-batch-part').length;
  const tokens = log.filter((e) => e.kind === 'token').length;
  const discovery = log.filter((e) => e.kind === 'discovery').length;
  const storageCounts = counter.snapshot();
  // getSyncRun above is the bench's own read: leave it out.
  storageCounts['GET syncruns'] = (storageCounts['GET syncruns'] ?? 1) - 1;
  let writes = 0;
  let reads = 0;
  for (const [kind, count] of Object.entries(storageCounts)) {
    if (kind.startsWith('GET ') || kind === 'queue receive') reads += count;
    else writes += count;
  }
  return {
    n,
    scenario,
    status: run?.status ?? 'missing',
    counts: run?.counts ?? ({} as RunCounts),
    wallMs,
    graphRequests: graph,
    graphMinimum: groupSizes.reduce((sum, size) => sum + 1 + pages(size), 0) + tokens,
    tokenRequests: tokens,
    discoveryRequests: discovery,
    storage: storageCounts,
    storageWrites: writes,
    storageReads: reads,
    peakRssMb: peakRssMb(),
  };
}

/**
 * Azurite's floor: `perTable` rows written into each of `tables` tables, spread over `buckets`
 * partitions per table as the sync spreads them, in 100-row single-partition transactions,
 * `concurrency` in flight. Nothing else: no reads, no planning.
 */
async function floor(
  perTable: number,
  tables: number,
  buckets: number,
  concurrency: number,
): Promise<{ wallMs: number; requests: number }> {
  // Only keys are prepared up front; rows are built as each batch is sent, so the floor adds little
  // to the process's peak RSS (which the sync's figures report).
  const batches: { client: TableClient; partitionKey: string; prefix: string; rowKeys: string[] }[] = [];
  for (let t = 0; t < tables; t++) {
    const client: TableClient = await storage().table(`benchfloor${t}${buckets}`);
    const prefix = randomUUID();
    const byPartition = new Map<string, string[]>();
    for (let i = 0; i < perTable; i++) {
      const rowKey = randomUUID();
      const partitionKey = buckets === 1 ? prefix : `${prefix}~${rowKey.charAt(0)}`;
      let keys = byPartition.get(partitionKey);
      if (!keys) byPartition.set(partitionKey, (keys = []));
      keys.push(rowKey);
    }
    for (const [partitionKey, keys] of byPartition) {
      for (let start = 0; start < keys.length; start += 100) {
        batches.push({ client, partitionKey, prefix, rowKeys: keys.slice(start, start + 100) });
      }
    }
  }
  const toActions = (batch: (typeof batches)[number]): TransactionAction[] =>
    batch.rowKeys.map((rowKey, i) => [
      'upsert',
      {
        partitionKey: batch.partitionKey,
        rowKey,
        directoryId: batch.prefix,
        objectId: rowKey,
        displayName: `Floor user ${i}`,
        email: `floor${i}@example.com`,
        emailLower: `floor${i}@example.com`,
        active: true,
        menus: '["Home"]',
        groups: `["${batch.prefix}"]`,
        deactivatedAt: '',
        deactivationReason: '',
      },
      'Merge',
    ]);
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        await batch.client.submitTransaction(toActions(batch));
      }
    }),
  );
  return { wallMs: Math.round(performance.now() - started), requests: batches.length };
}

async function main(): Promise<void> {
  const n = Number(process.env.BENCH_N);
  const origin = process.env.BENCH_DEVDIR_ORIGIN!;
  const ports = {
    tablePort: Number(process.env.BENCH_TABLE_PORT),
    queuePort: Number(process.env.BENCH_QUEUE_PORT),
  };
  const account = process.env.BENCH_ACCOUNT ?? 'worker1';
  const config = loadConfig(
    {
      AZURE_FUNCTIONS_ENVIRONMENT: 'Development',
      AzureWebJobsStorage: accountConnectionString(account, ports),
      SECRETS_KEY: 'YmVuY2gtb25seS1zZWNyZXRzLWtleS0zMi1ieXRlcyE=',
    },
    { localStateDir: '.dev/bench' },
  );
  const storageAccount = new StorageAccount(config.storage);
  benchWorld = {
    storage: storageAccount,
    tenants: createTenantsRepository({
      storage: storageAccount,
      clock: systemClock,
      secretsKeys: config.secretsKeys,
    }),
    environments: createEnvironmentsRepository({ storage: storageAccount, clock: systemClock }),
  };
  const counter = new Counter();
  for (const name of TABLES) (await storage().table(name)).pipeline.addPolicy(counter.policy);

  const admin = createAdminClient(origin);
  const directory = await admin.createDirectory({ displayName: `Bench ${n}` });
  // Three overlapping groups, one nested: B holds A as a member, so A's users are listed twice.
  const sizeA = Math.round(n * 0.5);
  const sizeB = Math.round(n * 0.3);
  const sizeC = n - sizeA - sizeB;
  const groupA = await admin.addGroup(directory.id, { displayName: 'Bench A' });
  const groupB = await admin.addGroup(directory.id, { displayName: 'Bench B', members: [groupA.id] });
  const groupC = await admin.addGroup(directory.id, { displayName: 'Bench C' });
  const blockA = await admin.generateUsers(directory.id, groupA.id, sizeA, { prefix: 'A' });
  await admin.generateUsers(directory.id, groupB.id, sizeB, { prefix: 'B' });
  const blockC = await admin.generateUsers(directory.id, groupC.id, sizeC, { prefix: 'C' });

  const environmentId = `bench-${n}`;
  const tenantName = `bench-${n}`;
  const app = directory.applications[0]!;
  await world().tenants.save({
    name: tenantName,
    owner: 'bench',
    directoryId: directory.id,
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    environments: [environmentId],
    authorityHost: directory.authorityHost,
    graphBaseUrl: directory.graphBaseUrl,
  });
  await world().environments.save({ id: environmentId, name: environmentId, externalUsersIntegration: true });
  await world().environments.saveSettings(environmentId, {
    tenant: tenantName,
    groupsToSync: [groupA.id, groupB.id, groupC.id],
    defaultMenus: ['Home'],
    periodicSync: false,
    deactivationLimit: n,
  });

  const emit = (result: unknown) => process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  emit({ n, scenario: 'baseline', peakRssMb: peakRssMb() });
  const floors = process.env.BENCH_FLOORS !== '0';
  // The floor once before the runs too: the machine is shared, so bracket the runs with it.
  if (floors)
    emit({
      n,
      scenario: 'floor',
      when: 'before',
      entities: 2 * n,
      partitions: 32,
      concurrency: 4,
      ...(await floor(n, 2, 16, 4)),
    });
  let sizes = [sizeA, sizeA + sizeB, sizeC];
  emit(await runOnce(admin, directory.id, environmentId, counter, sizes, n, 'initial'));
  emit(await runOnce(admin, directory.id, environmentId, counter, sizes, n, 'no-op'));

  // 1% of the members change: 0.4% renamed, 0.3% removed from their group, 0.3% new.
  const renamed = Math.round(n * 0.004);
  const removed = Math.round(n * 0.003);
  const added = Math.round(n * 0.003);
  for (let i = 0; i < renamed; i++) {
    await admin.updateUser(directory.id, generatedUserId(blockC.block, i), { displayName: `Renamed ${i}` });
  }
  const removedIds = Array.from({ length: removed }, (_, i) => generatedUserId(blockA.block, i));
  await admin.removeMembers(directory.id, groupA.id, removedIds);
  await admin.generateUsers(directory.id, groupC.id, added, { prefix: 'New' });
  sizes = [sizeA - removed, sizeA - removed + sizeB, sizeC + added];
  emit(await runOnce(admin, directory.id, environmentId, counter, sizes, n, '1% change'));

  // The floor: the rows the initial sync had to write (N identities + N access rows, 16 partitions
  // each), written directly; and, for reference, N rows into a single partition.
  counter.reset();
  if (!floors) return;
  for (const [perTable, tables, buckets, concurrency] of [
    [n, 2, 16, 4],
    [n, 2, 16, 1],
    ...(n <= 20_000 ? [[n, 1, 1, 1] as const] : []),
  ] as const) {
    const measured = await floor(perTable, tables, buckets, concurrency);
    emit({
      n,
      scenario: 'floor',
      entities: perTable * tables,
      partitions: tables * buckets,
      concurrency,
      ...measured,
    });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
