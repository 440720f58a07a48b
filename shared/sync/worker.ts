import { randomBytes } from 'node:crypto';
import { isAppError, toAppError } from '../errors.js';
import { isDirectoryError } from '../directory/errors.js';
import type { DirectoryReader } from '../directory/reader.js';
import type { ExternalUsersSettings } from '../environments/repository.js';
import type { EnvironmentUser } from '../users/model.js';
import { countChanges, mergeChanges } from './changes.js';
import type { SyncDeps } from './deps.js';
import { executePlan, planWriterOf, type BatchInfo, type PlanWriter } from './executor.js';
import { DEFAULT_LEASE_TIMING, keepLease, type LeaseKeeper, type LeaseTiming } from './lease-keeper.js';
import { parseSyncMessage } from './messages.js';
import {
  identitiesNeeded,
  planSync,
  readListedUsers,
  type Change,
  type ListedUser,
  type Plan,
} from './planner.js';
import { failedRun, type StoredRun } from './runs.js';
import type { SyncStores } from './stores.js';
import { phaseTimer, RUN_SUMMARY_MESSAGE, runSummary, type PhaseTimer } from './summary.js';

export interface WorkerOptions {
  /** After each write batch (tests stop a worker here). */
  readonly afterBatch?: (info: BatchInfo) => Promise<void>;
  readonly concurrency?: number;
  readonly log?: (message: string, data: Record<string, unknown>) => void;
  /** How long the running lease lasts and how often it is renewed (tests shorten both). */
  readonly leaseTiming?: LeaseTiming;
}

export type WorkerOutcome = 'succeeded' | 'failed' | 'halted' | 'skipped';

/** The queue trigger's service: executes queued runs, and gives up on poisoned ones. */
export interface SyncWorker {
  /** Executes one queued run. */
  executeSyncRun(entry: unknown, options?: WorkerOptions): Promise<WorkerOutcome>;
  /** A message the host gave up on: its run is marked failed and frees the environment. */
  failPoisonedRun(entry: unknown): Promise<void>;
}

/** A failed attempt hands its run back to the queue, tried this many times this far apart. */
const HAND_BACK_ATTEMPTS = 4;
const HAND_BACK_PAUSE_MS = 2_000;

const LEASE_EXPIRED = 'The run stopped without finishing (its lease expired).';

/** What one attempt holds while it runs: the run as last saved, and its lease. */
interface Attempt {
  run: StoredRun;
  readonly owner: string;
  readonly lease: LeaseKeeper;
  readonly timer: PhaseTimer;
  readonly log: NonNullable<WorkerOptions['log']>;
}

/** A run's source once checked: its settings and how to read its directory. */
interface Source {
  readonly settings: ExternalUsersSettings;
  readonly directoryId: string;
  readonly reader: DirectoryReader;
  /** The groups' display names, as the directory read gives them. */
  readonly groups: { id: string; displayName: string }[];
}

// Long only as a factory: its body is the short functions below, closed over the deps.
export function createSyncWorker(deps: SyncDeps, stores: SyncStores): SyncWorker {
  const { leases, runs, changes, users } = stores;

  /** Saves the run only while this attempt still owns it; a run changed by anyone else is lost. */
  async function save(attempt: Attempt, update: Partial<StoredRun>): Promise<void> {
    attempt.lease.check();
    try {
      attempt.run = await runs.saveRun({ ...attempt.run, ...update });
    } catch (error) {
      if (isAppError(error, 'conflict')) attempt.lease.lose('the run was settled by someone else');
      throw error;
    }
  }

  async function finish(attempt: Attempt, update: Partial<StoredRun>): Promise<void> {
    const finishedAt = deps.clock.now().toISOString();
    // Before the run shows as finished, so that whoever sees it finished sees its tenant's health too.
    await afterRun({ ...attempt.run, ...update, finishedAt }, attempt.log);
    await save(attempt, { ...update, finishedAt });
    attempt.lease.stop();
    await leases.releaseLease(attempt.run.environment, attempt.run.runId, { owner: attempt.owner });
    attempt.log(RUN_SUMMARY_MESSAGE, runSummary(attempt.run, attempt.timer.phases));
  }

  /** Health and mails follow the run's outcome; their trouble is logged and never changes the run's outcome. */
  async function afterRun(run: StoredRun, log: Attempt['log']): Promise<void> {
    if (!deps.onRunFinished) return;
    try {
      await deps.onRunFinished(run);
    } catch (error) {
      log('sync run follow-up failed', { runId: run.runId, code: toAppError(error).code });
    }
  }

  /** Takes the run's lease and marks it running; an outcome instead when this worker must not run it. */
  async function begin(stored: StoredRun, options: WorkerOptions): Promise<Attempt | WorkerOutcome> {
    const owner = randomBytes(8).toString('hex');
    const timing = options.leaseTiming ?? DEFAULT_LEASE_TIMING;
    const startedAt = deps.clock.now();
    const start = await leases.startLease(
      stored.environment,
      stored.runId,
      owner,
      startedAt,
      timing.durationMs,
    );
    if (start.kind === 'held') return 'skipped';
    if (start.kind === 'lost') {
      const reason = start.expired ? LEASE_EXPIRED : 'Another run of this environment took over.';
      try {
        await runs.saveRun(failedRun(stored, 'internal', reason, deps.clock.now()));
      } catch (error) {
        if (!isAppError(error, 'conflict')) throw error;
      }
      return 'failed';
    }
    const lease = keepLease({
      leases,
      clock: deps.clock,
      environmentId: stored.environment,
      runId: stored.runId,
      owner,
      expiresAt: new Date(startedAt.getTime() + timing.durationMs),
      timing,
      onRenewalFailed: (error) =>
        options.log?.('sync lease renewal failed; retrying', {
          runId: stored.runId,
          code: toAppError(error).code,
        }),
    });
    const log = options.log ?? (() => undefined);
    const attempt: Attempt = { run: stored, owner, lease, timer: phaseTimer(), log };
    try {
      await save(attempt, { status: 'running', startedAt: stored.startedAt ?? startedAt.toISOString() });
    } catch (error) {
      lease.stop();
      if (lease.signal.aborted) return 'skipped';
      throw error;
    }
    return attempt;
  }

  /**
   * The environment's settings and tenant; the run fails when either is gone, or when the tenant no
   * longer lists the environment (docs/sync-rules.md, "The tenant must allow the environment").
   */
  async function openSource(attempt: Attempt): Promise<Source | undefined> {
    const environmentId = attempt.run.environment;
    const environment = await deps.environments.get(environmentId);
    const stored = environment?.externalUsersIntegration ? environment.externalUsers : undefined;
    // A dry run tries its proposed settings in place of the stored ones.
    const settings = stored && { ...stored, ...attempt.run.preview };
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
    if (!tenant.environments.includes(environmentId)) {
      const message = `Tenant "${settings.tenant}" no longer lists environment "${environmentId}"; add it to the tenant's environments.`;
      await finish(attempt, { status: 'failed', error: { code: 'tenant-not-allowed', message } });
      return undefined;
    }
    attempt.run = { ...attempt.run, tenant: settings.tenant };
    return {
      settings,
      directoryId: tenant.directoryId.toLowerCase(),
      reader: deps.openDirectory(tenant),
      groups: [],
    };
  }

  async function readDirectory(source: Source, lease: LeaseKeeper): Promise<Map<string, ListedUser>> {
    return readListedUsers(
      source.reader,
      source.directoryId,
      source.settings.groupsToSync,
      () => Promise.resolve(lease.check()),
      (group) => source.groups.push(group),
    );
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
    const reads = [readDirectory(source, attempt.lease), readAccess(run.environment)] as const;
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

  /** Stores the run's change list and counts, before anything is applied or finished. */
  async function record(attempt: Attempt, list: readonly Change[], unchanged: number): Promise<void> {
    attempt.lease.check();
    const changePages = await changes.writeChanges(attempt.run.runId, list);
    await save(attempt, { counts: countChanges(list, unchanged), changePages });
  }

  /** Every write checks the lease first, so a worker that lost it stops at its next batch. */
  function guardedWriter(lease: LeaseKeeper): PlanWriter {
    const writer = planWriterOf(users);
    return {
      async writeUsers(directoryId, rows, mode) {
        lease.check();
        await writer.writeUsers(directoryId, rows, mode);
      },
      async writeAccess(environmentId, rows, mode) {
        lease.check();
        await writer.writeAccess(environmentId, rows, mode);
      },
    };
  }

  /**
   * The new identities are created insert-only (docs/sync-rules.md, "One `added` per identity"):
   * where another run created one first, this run records `granted` instead. Returns the list
   * as it now stands and the rows left for the ordinary writes.
   */
  async function createIdentities(
    attempt: Attempt,
    source: Source,
    result: Plan,
    list: Change[],
    unchanged: number,
  ): Promise<{ list: Change[]; userWrites: Plan['userWrites'] }> {
    const added = new Set(
      result.changes.filter((c) => c.action === 'added').map((c) => c.objectId.toLowerCase()),
    );
    if (added.size === 0) return { list, userWrites: result.userWrites };
    const creates = result.userWrites.filter((row) => added.has(row.objectId.toLowerCase()));
    attempt.lease.check();
    const lost = await users.createUsers(source.directoryId, creates);
    const userWrites = result.userWrites.filter((row) => !added.has(row.objectId.toLowerCase()));
    if (lost.size === 0) return { list, userWrites };
    const settled = list.map((change) =>
      change.action === 'added' && lost.has(change.objectId.toLowerCase())
        ? { ...change, action: 'granted' as const }
        : change,
    );
    await record(attempt, settled, unchanged);
    return { list: settled, userWrites };
  }

  /**
   * Records the plan, then applies it: the history names every change before it is made, and a
   * retry of this run adds to what an earlier attempt recorded instead of replacing it
   * (docs/sync-rules.md, "History of runs and changes").
   */
  async function apply(
    attempt: Attempt,
    source: Source,
    result: Plan,
    options: WorkerOptions,
    timer: ReturnType<typeof phaseTimer>,
  ): Promise<void> {
    const { run, lease } = attempt;
    const recorded = run.changePages > 0 ? await changes.readAllChanges(run.runId) : [];
    const merged = mergeChanges(recorded, result.changes);
    // Users an earlier attempt already changed look unchanged now; they count once, as changed.
    const unchanged = Math.max(0, result.counts.unchanged - (merged.length - result.changes.length));
    if (merged.length > 0 || recorded.length > 0) await record(attempt, merged, unchanged);
    else attempt.run = { ...attempt.run, counts: countChanges(merged, unchanged) };
    timer.mark('recordMs');
    const { userWrites } = await createIdentities(attempt, source, result, merged, unchanged);
    const afterBatch = async (info: BatchInfo): Promise<void> => {
      lease.check();
      await options.afterBatch?.(info);
    };
    const concurrency = options.concurrency === undefined ? {} : { concurrency: options.concurrency };
    const remaining = { ...result, userWrites };
    await executePlan(
      run.environment,
      source.directoryId,
      remaining,
      { ...concurrency, afterBatch },
      guardedWriter(lease),
    );
    timer.mark('writeMs');
    if (result.deactivatedUserIds.length > 0) {
      lease.check();
      await deps.onAccessDeactivated(run.environment, result.deactivatedUserIds);
    }
  }

  /** A halted run applies nothing; its counts and changes say what it would have done. */
  async function halt(attempt: Attempt, result: Plan): Promise<WorkerOutcome> {
    await record(attempt, result.changes, result.counts.unchanged);
    await finish(attempt, { status: 'halted', haltReason: 'deactivation-limit' });
    return 'halted';
  }

  /**
   * A dry run records what the plan would change and nothing else: no user, access or session, no
   * group names. It never halts; it says that a run would.
   */
  async function preview(attempt: Attempt, result: Plan): Promise<WorkerOutcome> {
    const changePages = await changes.writeChanges(attempt.run.runId, result.changes);
    attempt.timer.mark('changesMs');
    attempt.run = { ...attempt.run, counts: result.counts, changePages };
    await finish(attempt, { status: 'succeeded', wouldHalt: result.halted });
    return 'succeeded';
  }

  async function runAttempt(attempt: Attempt, options: WorkerOptions): Promise<WorkerOutcome> {
    const { timer } = attempt;
    const source = await openSource(attempt);
    if (!source) return 'failed';
    const result = await plan(attempt, source, timer);
    if (attempt.run.dryRun === true) return preview(attempt, result);
    await deps.groupNames?.record(source.directoryId, source.groups, deps.clock.now());
    if (result.halted) return halt(attempt, result);
    await apply(attempt, source, result, options, timer);
    await finish(attempt, { status: 'succeeded' });
    return 'succeeded';
  }

  /**
   * A directory error fails the run. A lost lease ends the attempt without another write. Anything
   * else may be transient (storage): the run goes back to the queue, which retries the message and,
   * after 5 failures, moves it to the poison queue where it is marked failed.
   */
  async function handleFailure(
    attempt: Attempt,
    error: unknown,
    options: WorkerOptions,
  ): Promise<WorkerOutcome> {
    const { run, lease } = attempt;
    if (lease.signal.aborted) {
      options.log?.('sync run lost its lease; this worker stopped writing', { runId: run.runId });
      return 'skipped';
    }
    const appError = toAppError(error);
    if (isDirectoryError(appError) || appError.code === 'tenant-not-allowed') {
      await finish(attempt, { status: 'failed', error: { code: appError.code, message: appError.message } });
      return 'failed';
    }
    lease.stop();
    await handBack(attempt, options);
    throw error;
  }

  /**
   * Gives the run back to the queue: marked queued, its lease queued again for the message's next
   * delivery. Storage trouble is often short, so this is tried a few times; if it still fails, the
   * run blocks until its lease expires and then reads as failed.
   */
  async function handBack(attempt: Attempt, options: WorkerOptions): Promise<void> {
    const { run, owner } = attempt;
    for (let attemptNo = 1; ; attemptNo++) {
      try {
        if (attempt.run.status !== 'queued') await save(attempt, { status: 'queued' });
        await leases.releaseLease(run.environment, run.runId, { owner, requeueAt: deps.clock.now() });
        return;
      } catch (error) {
        if (attemptNo >= HAND_BACK_ATTEMPTS || !isAppError(error, 'storage-unavailable')) {
          options.log?.('sync run could not be handed back; it fails when its lease expires', {
            runId: run.runId,
            code: toAppError(error).code,
          });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, HAND_BACK_PAUSE_MS));
      }
    }
  }

  async function executeSyncRun(entry: unknown, options: WorkerOptions = {}): Promise<WorkerOutcome> {
    const message = parseSyncMessage(entry);
    const stored = await runs.getStoredRun(message.environmentId, message.runId);
    if (!stored) {
      options.log?.('sync message names no run; dropped', { ...message });
      return 'skipped';
    }
    if (stored.status !== 'queued' && stored.status !== 'running') return 'skipped';
    const attempt = await begin(stored, options);
    if (typeof attempt === 'string') return attempt;
    try {
      return await runAttempt(attempt, options);
    } catch (error) {
      return await handleFailure(attempt, error, options);
    } finally {
      attempt.lease.stop();
    }
  }

  async function failPoisonedRun(entry: unknown): Promise<void> {
    const message = parseSyncMessage(entry);
    const run = await runs.getStoredRun(message.environmentId, message.runId);
    if (!run || (run.status !== 'queued' && run.status !== 'running')) return;
    const abandoned = 'The run failed repeatedly and was abandoned.';
    try {
      await runs.saveRun(failedRun(run, 'internal', abandoned, deps.clock.now()));
    } catch (error) {
      // Someone settled the run meanwhile: theirs is the last word.
      if (!isAppError(error, 'conflict')) throw error;
      return;
    }
    await leases.releaseLease(run.environment, run.runId);
  }

  return { executeSyncRun, failPoisonedRun };
}
