import { useEffect, useState } from 'preact/hooks';
import { problemOf } from '../api.js';
import type { Problem } from '../logic/problem.js';
import { isFinished, type SyncRun } from '../logic/runs.js';
import { useConsole } from '../ui/context.js';

const POLL_MS = 1000;

/** Follows a run until it ends; every state it passes through is announced. */
export function useRunProgress(
  envId: string,
): [SyncRun | undefined, Problem | undefined, (runId: string) => void] {
  const { api } = useConsole();
  const [run, setRun] = useState<SyncRun | undefined>();
  const [problem, setProblem] = useState<Problem | undefined>();
  const [runId, follow] = useState<string | undefined>();
  useEffect(() => {
    if (runId === undefined) return undefined;
    let timer: number | undefined;
    let current = true;
    const poll = async () => {
      try {
        const latest = await api.get<SyncRun>(
          `environments/${encodeURIComponent(envId)}/sync-runs/${encodeURIComponent(runId)}`,
        );
        if (!current) return;
        setRun(latest);
        if (!isFinished(latest.status)) timer = window.setTimeout(() => void poll(), POLL_MS);
      } catch (error) {
        if (current) setProblem(problemOf(error));
      }
    };
    setProblem(undefined);
    void poll();
    return () => {
      current = false;
      window.clearTimeout(timer);
    };
  }, [envId, runId]);
  return [run, problem, (id) => follow(id)];
}

/** Reads the settings again once the followed run has ended; a failure to read is shown. */
export function useRefreshWhenEnded(run: SyncRun | undefined, refresh: () => Promise<void>) {
  const [problem, setProblem] = useState<Problem | undefined>();
  const ended = run !== undefined && isFinished(run.status) ? run.runId : undefined;
  useEffect(() => {
    if (ended === undefined) return;
    setProblem(undefined);
    refresh().catch((error: unknown) => setProblem(problemOf(error)));
  }, [ended]);
  return problem;
}
