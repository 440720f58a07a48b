import { countChanges, mergeChanges } from './changes.js';
import type { SyncDeps } from './deps.js';
import { executePlan, planWriterOf, type BatchInfo, type PlanWriter } from './executor.js';
import type { LeaseKeeper } from './lease-keeper.js';
import type { Change, Plan } from './planner.js';
import type { SyncStores } from './stores.js';
import type { PhaseTimer } from './summary.js';
import type { Attempt, RunWrites, Source, WorkerOptions, WorkerOutcome } from './worker-attempt.js';

/**
 * The run's change list as this attempt leaves it: what earlier attempts recorded (and may have
 * applied), with this plan's changes added.
 */
export interface RunHistory {
  readonly list: readonly Change[];
  /** This plan's unchanged users, less those an earlier attempt changed (they count as changed). */
  readonly unchanged: number;
  /** Whether an earlier attempt recorded anything: its list has to be rewritten even if empty now. */
  readonly hadRecord: boolean;
  /** The list's deactivations: what the deactivation limit is held against. */
  readonly deactivated: number;
}

export interface WriteSteps {
  readonly history: (attempt: Attempt, source: Source, result: Plan) => Promise<RunHistory>;
  readonly apply: (
    attempt: Attempt,
    source: Source,
    result: Plan,
    history: RunHistory,
    options: WorkerOptions,
    timer: PhaseTimer,
  ) => Promise<void>;
  readonly halt: (attempt: Attempt, history: RunHistory, result: Plan) => Promise<WorkerOutcome>;
  readonly preview: (attempt: Attempt, result: Plan) => Promise<WorkerOutcome>;
}

/**
 * An attempt's steps after planning: a real run's writes, a halted run's record, a dry run's preview.
 * Long only as a factory: its body is the short functions below, closed over the deps.
 */
export function createWriteSteps(
  deps: SyncDeps,
  stores: Pick<SyncStores, 'changes' | 'users'>,
  { save, finish }: RunWrites,
): WriteSteps {
  const { changes, users } = stores;

  /** Stores the run's change list and counts, before anything is applied or finished. */
  async function record(attempt: Attempt, list: readonly Change[], unchanged: number): Promise<void> {
    attempt.lease.check();
    const changePages = await changes.writeChanges(attempt.run.runId, list, attempt.run.changePages);
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
      async writeEmailIndex(entries, mode) {
        lease.check();
        await writer.writeEmailIndex(entries, mode);
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
    list: readonly Change[],
    unchanged: number,
  ): Promise<{ list: readonly Change[]; userWrites: Plan['userWrites'] }> {
    const added = new Set(
      result.changes.filter((c) => c.action === 'added').map((c) => c.objectId.toLowerCase()),
    );
    if (added.size === 0) return { list, userWrites: result.userWrites };
    const creates = result.userWrites.filter((row) => added.has(row.objectId.toLowerCase()));
    attempt.lease.check();
    const lost = await users.createUsers(source.directoryId, creates, attempt.run.runId);
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
   * An earlier attempt that lost an identity's creation race and stopped before recording so left
   * `added` where `granted` is true: each identity recorded `added` and not new any more is checked
   * against the run that created its row (docs/sync-rules.md, "One `added` per identity").
   */
  async function correctLostCreations(
    attempt: Attempt,
    source: Source,
    recorded: readonly Change[],
    fresh: readonly Change[],
  ): Promise<readonly Change[]> {
    const stillNew = new Set(fresh.filter((c) => c.action === 'added').map((c) => c.objectId.toLowerCase()));
    const doubtful = recorded
      .filter((c) => c.action === 'added' && !stillNew.has(c.objectId.toLowerCase()))
      .map((c) => c.objectId.toLowerCase());
    if (doubtful.length === 0) return recorded;
    const creators = await users.creatorsOf(source.directoryId, doubtful);
    // A row without a creator predates the marker: what was recorded stands.
    const lostRace = (change: Change): boolean => {
      const creator = creators.get(change.objectId.toLowerCase());
      return creator !== undefined && creator !== '' && creator !== attempt.run.runId;
    };
    return recorded.map((change) =>
      change.action === 'added' && lostRace(change) ? { ...change, action: 'granted' as const } : change,
    );
  }

  /**
   * A retry of this run adds to what an earlier attempt recorded instead of replacing it
   * (docs/sync-rules.md, "History of runs and changes"), whether it then applies or halts.
   */
  async function history(attempt: Attempt, source: Source, result: Plan): Promise<RunHistory> {
    const earlier = attempt.run.changePages > 0 ? await changes.readAllChanges(attempt.run.runId) : [];
    const recorded = await correctLostCreations(attempt, source, earlier, result.changes);
    const list = mergeChanges(recorded, result.changes);
    // Users an earlier attempt already changed look unchanged now; they count once, as changed.
    const unchanged = Math.max(0, result.counts.unchanged - (list.length - result.changes.length));
    const { deactivated } = countChanges(list, unchanged);
    return { list, unchanged, hadRecord: recorded.length > 0, deactivated };
  }

  /** Records the run's history, then applies the plan: the history names every change before it is made. */
  async function apply(
    attempt: Attempt,
    source: Source,
    result: Plan,
    { list, unchanged, hadRecord }: RunHistory,
    options: WorkerOptions,
    timer: PhaseTimer,
  ): Promise<void> {
    const { run, lease } = attempt;
    if (list.length > 0 || hadRecord) await record(attempt, list, unchanged);
    else attempt.run = { ...attempt.run, counts: countChanges(list, unchanged) };
    timer.mark('recordMs');
    const { userWrites } = await createIdentities(attempt, source, result, list, unchanged);
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

  /**
   * A halted run applies nothing more; its counts and changes say what it would have done, after
   * what an earlier attempt of it already did.
   */
  async function halt(
    attempt: Attempt,
    { list, unchanged, deactivated }: RunHistory,
    result: Plan,
  ): Promise<WorkerOutcome> {
    await record(attempt, list, unchanged);
    // What this attempt holds back; the rest of the list's deactivations an earlier one applied.
    const heldBack = result.counts.deactivated;
    const applied = deactivated - heldBack;
    await finish(attempt, {
      status: 'halted',
      haltReason: 'deactivation-limit',
      ...(applied > 0 ? { heldBack } : {}),
    });
    return 'halted';
  }

  /**
   * A dry run records what the plan would change and nothing else: no user, access or session, no
   * group names. It never halts; it says that a run would.
   */
  async function preview(attempt: Attempt, result: Plan): Promise<WorkerOutcome> {
    const changePages = await changes.writeChanges(
      attempt.run.runId,
      result.changes,
      attempt.run.changePages,
    );
    attempt.timer.mark('changesMs');
    attempt.run = { ...attempt.run, counts: result.counts, changePages };
    await finish(attempt, { status: 'succeeded', wouldHalt: result.halted });
    return 'succeeded';
  }

  return { history, apply, halt, preview };
}
