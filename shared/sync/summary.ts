import type { StoredRun } from './runs.js';

/** Milliseconds spent in each phase of a run, for its summary. */
export interface PhaseTimer {
  mark(name: string): void;
  readonly phases: Readonly<Record<string, number>>;
}

export function phaseTimer(now: () => number = () => performance.now()): PhaseTimer {
  const phases: Record<string, number> = {};
  let last = now();
  return {
    phases,
    mark(name) {
      const at = now();
      phases[name] = Math.round(at - last);
      last = at;
    },
  };
}

/** The message of a run's one summary entry: operators query the logs by it. */
export const RUN_SUMMARY_MESSAGE = 'SyncRunSummary';

/**
 * Pure: the one structured entry a run logs when it ends: flat fields, so that they land as
 * custom dimensions (and, written into the message as JSON, can be parsed from it too).
 */
export function runSummary(
  run: StoredRun,
  phases: Readonly<Record<string, number>>,
): Record<string, unknown> {
  const durationMs =
    run.startedAt && run.finishedAt ? Date.parse(run.finishedAt) - Date.parse(run.startedAt) : undefined;
  return {
    runId: run.runId,
    environment: run.environment,
    tenant: run.tenant ?? '',
    trigger: run.trigger,
    status: run.status,
    dryRun: run.dryRun === true,
    wouldHalt: run.wouldHalt === true,
    errorCode: run.error?.code ?? '',
    added: run.counts.added,
    granted: run.counts.granted,
    updated: run.counts.updated,
    deactivated: run.counts.deactivated,
    reactivated: run.counts.reactivated,
    unchanged: run.counts.unchanged,
    ...(durationMs === undefined ? {} : { durationMs }),
    ...phases,
  };
}
