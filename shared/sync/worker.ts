import { randomBytes } from 'node:crypto';
import { toAppError, type ErrorCode } from '../errors.js';
import type { DirectoryReader } from '../directory/reader.js';
import type { ExternalUsersSettings } from '../environments/repository.js';
import type { EnvironmentUser } from '../users/model.js';
import type { SyncDeps } from './deps.js';
import { executePlan, planWriterOf, type BatchInfo } from './executor.js';
import { RENEW_AFTER_MS } from './lease.js';
import { parseSyncMessage } from './messages.js';
import { identitiesNeeded, planSync, readListedUsers, type ListedUser, type Plan } from './planner.js';
import { failedRun, type StoredRun } from './runs.js';
import type { SyncStores } from './stores.js';

export interface WorkerOptions {
  /** After each write batch (tests stop a worker here). */
  readonly afterBatch?: (info: BatchInfo) => Promise<void>;
  readonly concurrency?: number;
  readonly log?: (message: string, data: Record<string, unknown>) => void;
}

export type WorkerOutcome = 'succeeded' | 'failed' | 'halted' | 'skipped';

/** The queue trigger's service: executes queued runs, and gives up on poisoned ones. */
export interface SyncWorker {
  /** Executes one queued run. */
  executeSyncRun(entry: unknown, options?: WorkerOptions): Promise<WorkerOutcome>;
  /** A message the host gave up on: its run is marked failed and frees the environment. */
  failPoisonedRun(entry: unknown): Promise<void>;
}

const DIRECTORY_CODES: readonly ErrorCode[] = [
  'directory-unreachable',
  'directory-timeout',
  'directory-throttled',
  'directory-credentials-invalid',
  'directory-credentials-expired',
  'directory-app-not-found',
  'directory-tenant-not-found',
  'directory-permission-missing',
  'group-not-found',
  'directory-malformed-answer',
];

const LEASE_EXPIRED = 'The run stopped without finishing (its lease expired).';

/** What one attempt holds while it runs: the run, its lease owner and the lease's heartbeat. */
interface Attempt {
  run: StoredRun;
  readonly owner: string;
  readonly heartbeat: () => Promise<void>;
}

/** A run's source once checked: its settings and how to read its directory. */
interface Source {
  readonly settings: ExternalUsersSettings;
  readonly directoryId: string;
  readonly reader: DirectoryReader;
}

/** Milliseconds spent in each phase of a run, for the log. */
function phaseTimer(): { mark(name: string): void; readonly phases: Record<string, number> } {
  const phases: Record<string, number> = {};
  let last = performance.now();
  return {
    phases,
    mark(name) {
      const now = performance.now();
      phases[name] = Math.round(now - last);
      last = now;
    },
  };
}

// Long only as a factory: its body is the short functions below, closed over the deps.
export function createSyncWorker(deps: SyncDeps, stores: SyncStores): SyncWorker {
  const { leases, runs, changes, users } = stores;
  const writer = planWriterOf(users);

  /**
   * Renews the lease at most every RENEW_AFTER_MS. Batches run concurrently; they share one renewal
   * in flight, since a second conditional write would lose to the first and read as a lost lease.
   */
  function heartbeatOf(run: StoredRun, owner: string): () => Promise<void> {
    let renewedAt = deps.clock.now().getTime();
    let pending: Promise<void> | undefined;
    return () => {
      if (pending) return pending;
      const now = deps.clock.now();
      if (now.getTime() - renewedAt < RENEW_AFTER_MS) return Promise.resolve();
      pending = leases
        .renewLease(run.environment, run.runId, owner, now)
        .then(() => {
          renewedAt = now.getTime();
        })
        .finally(() => {
          pending = undefined;
        });
      return pending;
    };
  }

  async function finish(attempt: Attempt, update: Partial<StoredRun>): Promise<void> {
    const { run, owner } = attempt;
    await runs.saveRun({ ...run, ...update, finishedAt: deps.clock.now().toISOString() });
    await leases.releaseLease(run.environment, run.runId, { owner });
  }

  /** Takes the run's lease and marks it running; an outcome instead when this worker must not run it. */
  async function begin(stored: StoredRun): Promise<Attempt | WorkerOutcome> {
    const owner = randomBytes(8).toString('hex');
    const start = await leases.startLease(stored.environment, stored.runId, owner, deps.clock.now());
    if (start.kind === 'held') return 'skipped';
    if (start.kind === 'lost') {
      const reason = start.expired ? LEASE_EXPIRED : 'Another run of this environment took over.';
      await runs.saveRun(failedRun(stored, 'internal', reason, deps.clock.now()));
      return 'failed';
    }
    const run: StoredRun = { ...stored, status: 'running', startedAt: deps.clock.now().toISOString() };
    await runs.saveRun(run);
    return { run, owner, heartbeat: heartbeatOf(run, owner) };
  }

  /** The environment's settings and tenant; the run fails when either is gone. */
  async function openSource(attempt: Attempt): Promise<Source | undefined> {
    const environment = await deps.environments.get(attempt.run.environment);
    const settings = environment?.externalUsersIntegration ? environment.externalUsers : undefined;
    if (!settings) {
      const message = 'The external users integration is off or not configured.';
      await finish(attempt, { status: 'failed', error: { code: 'integration-disabled', message } });
      return undefined;
    }
    const tenant = await deps.tenants.getConnection(settings.tenant);
    if (!tenant) {
      const message = `Tenant "${settings.tenant}" does not exist.`;
      await finish(attempt, { status: 'failed', error: { code: 'not-found', message } });
      return undefined;
    }
    return { settings, directoryId: tenant.directoryId.toLowerCase(), reader: deps.openDirectory(tenant) };
  }

  async function readDirectory(
    source: Source,
    heartbeat: () => Promise<void>,
  ): Promise<Map<string, ListedUser>> {
    return readListedUsers(source.reader, source.directoryId, source.settings.groupsToSync, heartbeat);
  }

  async function readAccess(environmentId: string): Promise<Map<string, EnvironmentUser>> {
    const access = new Map<string, EnvironmentUser>();
    await users.forEachAccessRow(environmentId, (record) => access.set(record.id, record));
    return access;
  }

  /**
   * Reads everything before writing anything (docs/sync-rules.md, "Fail closed on directory
   * errors"): a directory error fails the run with nobody touched.
   */
  async function plan(attempt: Attempt, source: Source, timer: ReturnType<typeof phaseTimer>): Promise<Plan> {
    const { run } = attempt;
    // Both are reads: the access rows come in while the directory pages. Both settle before
    // anything else happens, a failure of either included.
    const reads = [readDirectory(source, attempt.heartbeat), readAccess(run.environment)] as const;
    await Promise.allSettled(reads);
    const [listed, access] = await Promise.all(reads);
    timer.mark('readDirectoryAndAccessMs');
    const needed = identitiesNeeded(listed, access);
    const identities = await users.readIdentities(source.directoryId, needed);
    timer.mark('readIdentitiesMs');
    const result = planSync({
      directoryId: source.directoryId,
      settings: source.settings,
      confirmDeactivations: run.confirmDeactivations,
      listed,
      access: access.values(),
      identities,
      now: deps.clock.now(),
    });
    // The plan holds what it needs; the maps of 100,000 users can go before the writes.
    listed.clear();
    access.clear();
    timer.mark('planMs');
    return result;
  }

  /** Writes the plan, ends the deactivated users' sessions and records the changes. */
  async function apply(
    attempt: Attempt,
    source: Source,
    result: Plan,
    options: WorkerOptions,
    timer: ReturnType<typeof phaseTimer>,
  ): Promise<void> {
    const { run } = attempt;
    const afterBatch = async (info: BatchInfo): Promise<void> => {
      await attempt.heartbeat();
      await options.afterBatch?.(info);
    };
    const concurrency = options.concurrency === undefined ? {} : { concurrency: options.concurrency };
    await executePlan(run.environment, source.directoryId, result, { ...concurrency, afterBatch }, writer);
    timer.mark('writeMs');
    if (result.deactivatedUserIds.length > 0) {
      await deps.onAccessDeactivated(run.environment, result.deactivatedUserIds);
    }
    const changePages = await changes.writeChanges(run.runId, result.changes);
    timer.mark('changesMs');
    attempt.run = { ...run, counts: result.counts, changePages };
  }

  async function runAttempt(attempt: Attempt, options: WorkerOptions): Promise<WorkerOutcome> {
    const source = await openSource(attempt);
    if (!source) return 'failed';
    const timer = phaseTimer();
    const result = await plan(attempt, source, timer);
    await apply(attempt, source, result, options, timer);
    if (result.halted) {
      await finish(attempt, { status: 'halted', haltReason: 'deactivation-limit' });
      return 'halted';
    }
    await finish(attempt, { status: 'succeeded' });
    const { run } = attempt;
    options.log?.('sync run finished', {
      runId: run.runId,
      environment: run.environment,
      counts: result.counts,
      ...timer.phases,
    });
    return 'succeeded';
  }

  /**
   * A directory error fails the run. Anything else may be transient (storage): the run goes back to
   * the queue, which retries the message and, after 5 failures, moves it to the poison queue where
   * it is marked failed.
   */
  async function handleFailure(
    attempt: Attempt,
    error: unknown,
    options: WorkerOptions,
  ): Promise<WorkerOutcome> {
    const { run, owner } = attempt;
    const appError = toAppError(error);
    if (DIRECTORY_CODES.includes(appError.code)) {
      await finish(attempt, { status: 'failed', error: { code: appError.code, message: appError.message } });
      options.log?.('sync run failed on the directory', { runId: run.runId, code: appError.code });
      return 'failed';
    }
    await runs.saveRun({ ...run, status: 'queued' });
    await leases.releaseLease(run.environment, run.runId, { owner, requeueAt: deps.clock.now() });
    throw error;
  }

  async function executeSyncRun(entry: unknown, options: WorkerOptions = {}): Promise<WorkerOutcome> {
    const message = parseSyncMessage(entry);
    const stored = await runs.getStoredRun(message.environmentId, message.runId);
    if (!stored) {
      options.log?.('sync message names no run; dropped', { ...message });
      return 'skipped';
    }
    if (stored.status !== 'queued' && stored.status !== 'running') return 'skipped';
    const attempt = await begin(stored);
    if (typeof attempt === 'string') return attempt;
    try {
      return await runAttempt(attempt, options);
    } catch (error) {
      return handleFailure(attempt, error, options);
    }
  }

  async function failPoisonedRun(entry: unknown): Promise<void> {
    const message = parseSyncMessage(entry);
    const run = await runs.getStoredRun(message.environmentId, message.runId);
    if (!run || (run.status !== 'queued' && run.status !== 'running')) return;
    const abandoned = 'The run failed repeatedly and was abandoned.';
    await runs.saveRun(failedRun(run, 'internal', abandoned, deps.clock.now()));
    await leases.releaseLease(run.environment, run.runId);
  }

  return { executeSyncRun, failPoisonedRun };
}
