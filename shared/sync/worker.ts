import { randomBytes } from 'node:crypto';
import { isAppError, toAppError } from '../errors.js';
import { isDirectoryError } from '../directory/errors.js';
import type { RunLog, SyncDeps } from './deps.js';
import { DEFAULT_LEASE_TIMING, keepLease } from './lease-keeper.js';
import { parseSyncMessage } from './messages.js';
import { haltsAt } from './planner.js';
import { failedRun, isLive, type StoredRun } from './runs.js';
import type { SyncStores } from './stores.js';
import { phaseTimer, RUN_SUMMARY_MESSAGE, runSummary } from './summary.js';
import type { Attempt, WorkerOptions, WorkerOutcome } from './worker-attempt.js';
import { createReadSteps } from './worker-reads.js';
import { createWriteSteps } from './worker-writes.js';

export type { WorkerOptions, WorkerOutcome } from './worker-attempt.js';

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

/** A worker called without a log (tests, tools) has nowhere to tell what only a log would show. */
const ignoreLog: RunLog = () => undefined;

// Long only as a factory: its body is the short functions below, closed over the deps.
export function createSyncWorker(deps: SyncDeps, stores: SyncStores): SyncWorker {
  const { leases, runs } = stores;

  /** Saves the run only while this attempt still owns it; a run changed by anyone else is lost. */
  async function save(attempt: Attempt, update: Partial<StoredRun>): Promise<void> {
    attempt.lease.check();
    try {
      // With the attempt's log: trouble after a run's end never changes its outcome.
      attempt.run = await runs.saveRun({ ...attempt.run, ...update }, { log: attempt.log });
    } catch (error) {
      if (isAppError(error, 'conflict')) attempt.lease.lose('the run was settled by someone else');
      throw error;
    }
  }

  async function finish(attempt: Attempt, update: Partial<StoredRun>): Promise<void> {
    await save(attempt, { ...update, finishedAt: deps.clock.now().toISOString() });
    attempt.lease.stop();
    await leases.releaseLease(attempt.run.environment, attempt.run.runId, {
      owner: attempt.owner,
      applied: attempt.applied ?? null,
    });
    attempt.log(RUN_SUMMARY_MESSAGE, runSummary(attempt.run, attempt.timer.phases));
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
        await runs.saveRun(failedRun(stored, 'internal', reason, deps.clock.now()), {
          log: options.log ?? ignoreLog,
        });
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
    const log = options.log ?? ignoreLog;
    const attempt: Attempt = { run: stored, owner, lease, timer: phaseTimer(), log, applied: start.applied };
    try {
      await save(attempt, { status: 'running', startedAt: stored.startedAt ?? startedAt.toISOString() });
    } catch (error) {
      lease.stop();
      if (lease.signal.aborted) return 'skipped';
      throw error;
    }
    return attempt;
  }

  const { openSource, plan } = createReadSteps(deps, stores, { finish });
  const { history, apply, halt, preview } = createWriteSteps(deps, stores, { save, finish });

  async function runAttempt(attempt: Attempt, options: WorkerOptions): Promise<WorkerOutcome> {
    const { timer } = attempt;
    const source = await openSource(attempt);
    if (!source) return 'failed';
    const planned = await plan(attempt, source, timer);
    const { plan: result } = planned;
    if (!planned.readAccess) {
      attempt.log('sync run found the listing the last run applied; no access rows read', {
        runId: attempt.run.runId,
        rows: planned.listing.rows,
      });
    }
    if (attempt.run.dryRun === true) return preview(attempt, result);
    await deps.groupNames?.record(source.directoryId, source.groups, deps.clock.now());
    const runHistory = await history(attempt, source, result);
    const { confirmDeactivations } = attempt.run;
    if (result.halted || haltsAt(runHistory.deactivated, source.settings, confirmDeactivations)) {
      return halt(attempt, runHistory, result);
    }
    // Whatever a run that writes leaves behind if it stops, the last listing no longer describes it.
    if (result.userWrites.length + result.accessWrites.length > 0) attempt.applied = undefined;
    await apply(attempt, source, result, runHistory, options, timer);
    // A full read checked every row against the listing: the lease's release keeps it, checked now.
    if (planned.readAccess) attempt.applied = planned.listing;
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
        await leases.releaseLease(run.environment, run.runId, {
          owner,
          requeueAt: deps.clock.now(),
          applied: attempt.applied ?? null,
        });
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
    if (!isLive(stored)) return 'skipped';
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
    if (!run || !isLive(run)) return;
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
