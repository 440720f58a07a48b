/**
 * One benchmark size (BENCH_N) in its own process, so that peak RSS belongs to it alone. Started by
 * bench/run.ts with NODE_EXTRA_CA_CERTS trusting the dev directory. Prints one JSON line per
 * scenario on stdout, prefixed `RESULT `. Each scenario reports its phases (reading the directory,
 * reading storage, planning, writing rows, writing the change log, finishing) with wall time, CPU
 * time of this process and of the watched ones (BENCH_WATCH_PIDS) and peak RSS / heap. The phases
 * are marked from the edges the sync exposes: the directory reader it is given and the storage
 * requests it sends. BENCH_RUNS=initial runs the initial sync only; BENCH_NO_OPS=k runs the manual
 * no-op k times; BENCH_PROFILE_DIR=<dir> writes
 * a CPU and an allocation profile of the initial sync there (BENCH_PROFILE_RUN=no-op or '1% change':
 * of that scenario instead; see bench/profile-summary.ts).
 */
import { mkdir } from 'node:fs/promises';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
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
import { createDirectoryReader, type DirectoryReader } from '../shared/directory/reader.js';
import { createTokenSource, type DirectoryConnection } from '../shared/directory/token.js';
import { createSyncService, SYNC_QUEUE, type SyncService } from '../shared/sync/service.js';
import type { RunCounts } from '../shared/sync/runs.js';
import type { RunTrigger } from '../shared/sync/run-model.js';
import { decodeQueueMessage } from '../scripts/local-host/queue-listener.js';
import { seedBenchDirectory, tenantLink, type BenchDirectory } from './bench-directory.js';
import { PhaseProbe, Profiler, watchedPids, type PhaseFigures } from './probe.js';

const TABLES = [
  'users',
  'useraccess',
  'useraccessemail',
  'syncruns',
  'syncstate',
  'syncchanges',
  'environments',
  'tenants',
];

/** Whether a request body (text, or bytes as transactions send them) holds `text`. */
function bodyHas(body: unknown, text: string): boolean {
  return (typeof body === 'string' || Buffer.isBuffer(body)) && body.includes(text);
}

/**
 * Which phase a storage request starts: row transactions start the writes, the change log's
 * table its own phase, and a run record written after those the finish. Reads of rows end when
 * their response arrives, so the planning starts at the last one (see `lastRowRead`).
 */
function phaseOfRequest(
  method: string,
  table: string,
  body: unknown,
  current: string | undefined,
): string | undefined {
  if (table === '$batch') {
    if (bodyHas(body, '/syncchanges(')) return 'change log';
    // Merges name the row (`/users(PartitionKey=…)`), inserts the table (`POST …/users HTTP/1.1`).
    if (['/users(', '/users ', '/useraccess(', '/useraccess '].some((t) => bodyHas(body, t))) return 'writes';
    return undefined;
  }
  if (method === 'GET' && (table === 'users' || table === 'useraccess')) return 'storage reads';
  if (table === 'syncruns' && method !== 'GET' && (current === 'writes' || current === 'change log')) {
    return 'finish';
  }
  return undefined;
}

class Counter {
  counts = new Map<string, number>();
  probe: PhaseProbe | undefined;
  lastRowRead = 0;
  readonly policy: PipelinePolicy = {
    name: 'bench-counter',
    sendRequest: async (request, next) => {
      const url = new URL(request.url);
      const table = /^\/[^/]+\/(\$batch|[A-Za-z0-9]+)/.exec(url.pathname)?.[1] ?? url.pathname;
      // The email index's transactions apart, to show what the index costs of the writes.
      const emailIndex = table === '$batch' && bodyHas(request.body, '/useraccessemail');
      const kind = `${request.method} ${table}${emailIndex ? ' useraccessemail' : ''}`;
      this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
      const phase = this.probe && phaseOfRequest(request.method, table, request.body, this.probe.current);
      if (this.probe && phase !== undefined && phase !== this.probe.current) {
        if (phase === 'writes' && this.probe.current === 'storage reads') {
          this.probe.enter('plan', this.lastRowRead);
        }
        this.probe.enter(phase);
      }
      try {
        return await next(request);
      } finally {
        if (phase === 'storage reads') this.lastRowRead = performance.now();
      }
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
  /** The process's peak RSS so far (it never goes down: later scenarios include earlier peaks). */
  peakRssMb: number;
  /** This scenario's own peak of sampled RSS. */
  scenarioPeakRssMiB: number;
  phases: PhaseFigures[];
  workerPhases: Record<string, unknown>;
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

/**
 * The directory opener of the run being measured: the bench swaps in a marking reader per run
 * (the service is built once, as the host builds it).
 */
/** One token source for the bench process, as the composition root keeps one per process. */
const tokens = createTokenSource();

/** A directory reader as the composition root builds one. */
function plainReader(connection: DirectoryConnection): DirectoryReader {
  return createDirectoryReader(connection, {
    fetch: (input, init) => fetch(input, init),
    clock: systemClock,
    tokens,
  });
}

let openDirectory: (connection: DirectoryConnection) => DirectoryReader = plainReader;

let syncService: SyncService | undefined;

/** The sync as the worker runs it, minus session revocation (the bench has no sessions). */

function sync(): SyncService {
  syncService ??= createSyncService({
    storage: storage(),
    clock: systemClock,
    environments: world().environments,
    tenants: world().tenants,
    openDirectory: (connection) => openDirectory(connection),
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

/** The directory reader the worker would make, marking when reading starts and when the last group ends. */
function markingReader(
  probe: PhaseProbe,
  groupCount: number,
): (connection: DirectoryConnection) => DirectoryReader {
  return (connection) => {
    const inner = plainReader(connection);
    let finished = 0;
    return {
      acquireToken: () => inner.acquireToken(),
      readGroup(groupId) {
        probe.enter('directory');
        return inner.readGroup(groupId);
      },
      async *listGroupUsers(groupId) {
        yield* inner.listGroupUsers(groupId);
        if (++finished === groupCount) probe.enter('after directory');
      },
    };
  };
}

/** Sends one manual run to the queue, takes it off and runs it as the queue trigger would. */
async function queueAndRun(
  environmentId: string,
  counter: Counter,
  probe: PhaseProbe,
  groupCount: number,
  trigger: RunTrigger,
): Promise<{ runId: string; workerPhases: Record<string, unknown> }> {
  // A periodic run never carries the confirmation; the bench's deactivation limit is N anyway.
  const queued = await sync().requestSync({
    environmentId,
    trigger,
    requestedBy: trigger === 'periodic' ? 'schedule' : 'bench',
    confirmDeactivations: trigger === 'manual',
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
  let workerPhases: Record<string, unknown> = {};
  openDirectory = markingReader(probe, groupCount);
  await sync().executeSyncRun(decodeQueueMessage(message.messageText), {
    log: (text, data) => {
      workerPhases = Object.fromEntries(Object.entries(data).filter(([key]) => key.endsWith('Ms')));
      process.stderr.write(`    ${text} ${JSON.stringify(data)}\n`);
    },
  });
  probe.enter('queue');
  await queue.deleteMessage(message.messageId, message.popReceipt);
  counter.add('queue delete');
  return { runId: queued.runId, workerPhases };
}

/** The run's storage requests by kind, with its reads and writes summed. */
function storageTotals(counter: Counter): { storage: Record<string, number>; reads: number; writes: number } {
  const storageCounts = counter.snapshot();
  // The bench's own read of the run afterwards: leave it out.
  storageCounts['GET syncruns'] = (storageCounts['GET syncruns'] ?? 1) - 1;
  let writes = 0;
  let reads = 0;
  for (const [kind, count] of Object.entries(storageCounts)) {
    if (kind.startsWith('GET ') || kind === 'queue receive') reads += count;
    else writes += count;
  }
  return { storage: storageCounts, reads, writes };
}

async function runOnce(
  admin: DevDirectoryAdmin,
  directoryId: string,
  environmentId: string,
  counter: Counter,
  groupSizes: number[],
  n: number,
  scenario: string,
  profileDir?: string,
  trigger: RunTrigger = 'manual',
): Promise<ScenarioResult> {
  await admin.resetRequestLog(directoryId);
  counter.reset();
  const probe = new PhaseProbe(watchedPids(process.env.BENCH_WATCH_PIDS));
  const profiler = profileDir === undefined ? undefined : new Profiler();
  await profiler?.start();
  counter.probe = probe;
  probe.start('queue');
  const started = performance.now();
  const { runId, workerPhases } = await queueAndRun(
    environmentId,
    counter,
    probe,
    groupSizes.length,
    trigger,
  );
  const wallMs = Math.round(performance.now() - started);
  counter.probe = undefined;
  const offsets = profiler === undefined ? [] : probe.offsets(profiler.startedAt);
  const phases = probe.stop();
  if (profiler !== undefined && profileDir !== undefined) {
    await profiler.stop(profileDir, `${scenario.replace(/\W+/g, '-')}-${n}`, {
      n,
      scenario,
      offsets,
      phases,
    });
  }
  const run = await sync().getSyncRun(environmentId, runId);
  const log = await admin.requestLog(directoryId);
  const graph = log.filter((e) => e.kind === 'graph' || e.kind === 'graph-batch-part').length;
  const tokens = log.filter((e) => e.kind === 'token').length;
  const discovery = log.filter((e) => e.kind === 'discovery').length;
  const { storage: storageCounts, reads, writes } = storageTotals(counter);
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
    scenarioPeakRssMiB: Math.max(...phases.map((p) => p.peakRssMiB)),
    phases,
    workerPhases,
  };
}

/** Sets up the bench's storage and repositories and counts every table request on them. */
async function openBenchWorld(): Promise<Counter> {
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
  return counter;
}

/** The tenant and environment that sync the three groups. */
async function saveBenchEnvironment(
  n: number,
  directory: BenchDirectory,
  groupIds: string[],
): Promise<string> {
  const environmentId = `bench-${n}`;
  const tenantName = `bench-${n}`;
  await world().tenants.save({ name: tenantName, owner: 'bench', ...tenantLink(directory, environmentId) });
  await world().environments.save({ id: environmentId, name: environmentId, externalUsersIntegration: true });
  await world().environments.saveSettings(environmentId, {
    tenant: tenantName,
    groupsToSync: groupIds,
    defaultMenus: ['Home'],
    periodicSync: false,
    deactivationLimit: n,
  });
  return environmentId;
}

async function main(): Promise<void> {
  const n = Number(process.env.BENCH_N);
  const counter = await openBenchWorld();
  const admin = createAdminClient(process.env.BENCH_DEVDIR_ORIGIN!);
  const { directory, groups, sizeA, sizeB, sizeC, blockA, blockC } = await seedBenchDirectory(admin, n);
  const environmentId = await saveBenchEnvironment(n, directory, [groups.a, groups.b, groups.c]);

  const emit = (result: unknown) => {
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
    // With --expose-gc (BENCH_NODE_OPTIONS), what survives the scenario: data a run leaves behind.
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc) {
      gc();
      const { heapUsed, rss } = process.memoryUsage();
      process.stderr.write(
        `    live after: heap used ${Math.round(heapUsed / 2 ** 20)} MiB, rss ${Math.round(rss / 2 ** 20)} MiB\n`,
      );
    }
  };
  emit({ n, scenario: 'baseline', peakRssMb: peakRssMb() });
  let sizes = [sizeA, sizeA + sizeB, sizeC];
  const profileDir = process.env.BENCH_PROFILE_DIR;
  if (profileDir !== undefined) await mkdir(profileDir, { recursive: true });
  // BENCH_PROFILE_RUN names the scenario profiled (the initial sync unless told).
  const profiled = (scenario: string) =>
    scenario === (process.env.BENCH_PROFILE_RUN ?? 'initial') ? profileDir : undefined;
  emit(await runOnce(admin, directory.id, environmentId, counter, sizes, n, 'initial', profiled('initial')));
  if (process.env.BENCH_RUNS === 'initial') return;
  emit(await runOnce(admin, directory.id, environmentId, counter, sizes, n, 'no-op', profiled('no-op')));
  // BENCH_NO_OPS=k runs the manual no-op k times in all: one run's wall time moves by ±10 % here.
  for (let i = 2; i <= Number(process.env.BENCH_NO_OPS ?? '1'); i++) {
    emit(await runOnce(admin, directory.id, environmentId, counter, sizes, n, `no-op ${i}`));
  }
  // The same, queued by the timer: it trusts the listing the last run applied (no access rows read).
  const periodic = 'no-op (periodic)';
  emit(
    await runOnce(
      admin,
      directory.id,
      environmentId,
      counter,
      sizes,
      n,
      periodic,
      profiled(periodic),
      'periodic',
    ),
  );

  // 1% of the members change: 0.4% renamed, 0.3% removed from their group, 0.3% new.
  const renamed = Math.round(n * 0.004);
  const removed = Math.round(n * 0.003);
  const added = Math.round(n * 0.003);
  for (let i = 0; i < renamed; i++) {
    await admin.updateUser(directory.id, generatedUserId(blockC.block, i), { displayName: `Renamed ${i}` });
  }
  const removedIds = Array.from({ length: removed }, (_, i) => generatedUserId(blockA.block, i));
  await admin.removeMembers(directory.id, groups.a, removedIds);
  await admin.generateUsers(directory.id, groups.c, added, { prefix: 'New' });
  sizes = [sizeA - removed, sizeA - removed + sizeB, sizeC + added];
  emit(
    await runOnce(admin, directory.id, environmentId, counter, sizes, n, '1% change', profiled('1% change')),
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    // The cause too: a storage failure's own status and message are in it.
    for (let e: unknown = error; e !== undefined; e = e instanceof Error ? e.cause : undefined) {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : JSON.stringify(e)}\n`);
    }
    process.exit(1);
  },
);
