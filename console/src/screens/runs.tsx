import { useEffect, useState } from 'preact/hooks';
import { problemOf } from '../api.js';
import type { Problem } from '../logic/problem.js';
import { href } from '../logic/routes.js';
import {
  changeReason,
  countsSummary,
  isFinished,
  formatDateTime,
  runSummary,
  STATUS_LABELS,
  type RunChange,
  type SyncRun,
} from '../logic/runs.js';
import { DataTable, Empty, Link, Loading, ProblemMessage, useLoad } from '../ui/components.js';
import { useConsole } from '../ui/context.js';
import { EnvironmentTabs } from './environments.js';
import { useRunProgress } from './external-users.js';

const PAGE = 20;
const MAX_LIMIT = 100;

export function RunsScreen({ envId }: { envId: string }) {
  const { api } = useConsole();
  const [limit, setLimit] = useState(PAGE);
  const [loaded] = useLoad(
    () => api.get<{ runs: SyncRun[] }>(`environments/${encodeURIComponent(envId)}/sync-runs?limit=${limit}`),
    `${envId}|${limit}`,
  );
  return (
    <section>
      <h1 tabIndex={-1}>Sync runs — {envId}</h1>
      <EnvironmentTabs envId={envId} current="runs" />
      {loaded.state === 'loading' && <Loading what="the runs" />}
      {loaded.state === 'failed' && <ProblemMessage problem={loaded.problem} />}
      {loaded.state === 'ready' &&
        (loaded.value.runs.length === 0 ? (
          <Empty>No run yet. Start one with "Sync" on the External users tab.</Empty>
        ) : (
          <>
            <DataTable label="Sync runs" columns={['Queued', 'Status', 'Trigger', 'Changes']}>
              {loaded.value.runs.map((run) => (
                <tr key={run.runId}>
                  <td>
                    <Link href={href({ name: 'run', envId, runId: run.runId })}>
                      {formatDateTime(run.queuedAt)}
                    </Link>
                  </td>
                  <td>
                    {STATUS_LABELS[run.status]}
                    {run.dryRun === true ? ' (preview)' : ''}
                  </td>
                  <td>{run.trigger === 'manual' ? `Manual, by ${run.requestedBy}` : 'Periodic'}</td>
                  <td>{countsSummary(run.counts)}</td>
                </tr>
              ))}
            </DataTable>
            {loaded.value.runs.length >= limit && limit < MAX_LIMIT && (
              <button
                type="button"
                class="secondary"
                onClick={() => setLimit(Math.min(MAX_LIMIT, limit + PAGE))}
              >
                Show more runs
              </button>
            )}
          </>
        ))}
    </section>
  );
}

interface ChangesPage {
  readonly changes: RunChange[];
  readonly continuationToken?: string;
}

export function RunScreen({ envId, runId }: { envId: string; runId: string }) {
  const { api, navigate } = useConsole();
  const base = `environments/${encodeURIComponent(envId)}`;
  const [run, runProblem, follow] = useRunProgress(envId);
  useEffect(() => follow(runId), [runId]);
  const loaded =
    runProblem !== undefined
      ? { state: 'failed' as const, problem: runProblem }
      : run === undefined || run.runId !== runId
        ? { state: 'loading' as const }
        : { state: 'ready' as const, value: run };
  const [problem, setProblem] = useState<Problem | undefined>();
  const [busy, setBusy] = useState(false);
  const confirm = async () => {
    setBusy(true);
    setProblem(undefined);
    try {
      const queued = await api.send<SyncRun>('POST', `${base}/sync`, { confirmDeactivations: true });
      navigate(href({ name: 'run', envId, runId: queued.runId }));
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section>
      <h1 tabIndex={-1}>Sync run {runId}</h1>
      <EnvironmentTabs envId={envId} current="runs" />
      {loaded.state === 'loading' && <Loading what="the run" />}
      {loaded.state === 'failed' && <ProblemMessage problem={loaded.problem} />}
      {loaded.state === 'ready' && (
        <>
          <dl class="facts">
            <dt>Status</dt>
            <dd>{runSummary(loaded.value)}</dd>
            <dt>Trigger</dt>
            <dd>
              {loaded.value.trigger === 'manual' ? `Manual, by ${loaded.value.requestedBy}` : 'Periodic'}
              {loaded.value.dryRun === true ? ' (preview: nothing applied)' : ''}
            </dd>
            <dt>Queued</dt>
            <dd>{formatDateTime(loaded.value.queuedAt)}</dd>
            <dt>Finished</dt>
            <dd>{formatDateTime(loaded.value.finishedAt)}</dd>
            <dt>Counts</dt>
            <dd>{countsSummary(loaded.value.counts)}</dd>
          </dl>
          {loaded.value.status === 'halted' && (
            <div class="halted">
              <p>
                This run held back {loaded.value.counts?.deactivated ?? 0} deactivations (listed below)
                because they exceed the deactivation limit. Nothing was applied.
              </p>
              <button type="button" disabled={busy} onClick={() => void confirm()}>
                Confirm deactivations
              </button>
              <ProblemMessage problem={problem} />
            </div>
          )}
          {isFinished(loaded.value.status) ? (
            <Changes
              base={`${base}/sync-runs/${encodeURIComponent(runId)}/changes`}
              halted={loaded.value.status === 'halted'}
            />
          ) : (
            <p role="status" class="loading">
              The run is {loaded.value.status}; its changes show once it ends.
            </p>
          )}
        </>
      )}
    </section>
  );
}

function Changes({ base, halted }: { base: string; halted: boolean }) {
  const { api } = useConsole();
  const [pages, setPages] = useState<ChangesPage[]>([]);
  const [problem, setProblem] = useState<Problem | undefined>();
  const [busy, setBusy] = useState(false);
  const loadPage = async (token: string | undefined) => {
    setBusy(true);
    try {
      const page = await api.get<ChangesPage>(
        token === undefined ? base : `${base}?continuationToken=${encodeURIComponent(token)}`,
      );
      setPages((previous) => [...previous, page]);
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  };
  const [first] = useLoad(async () => {
    setPages([]);
    await loadPage(undefined);
    return true;
  }, base);
  const changes = pages.flatMap((p) => p.changes);
  const next = pages[pages.length - 1]?.continuationToken;
  return (
    <>
      <h2>{halted ? 'Changes held back' : 'Changes'}</h2>
      {first.state === 'loading' && <Loading what="the changes" />}
      <ProblemMessage problem={problem} />
      {first.state === 'ready' && changes.length === 0 && problem === undefined && (
        <Empty>This run changed nothing.</Empty>
      )}
      {changes.length > 0 && (
        <DataTable label="Changes" columns={['User', 'Change', 'Reason']}>
          {changes.map((change, index) => (
            <tr key={`${change.userId}-${index}`}>
              <td>{change.displayName}</td>
              <td>{change.action}</td>
              <td>{changeReason(change)}</td>
            </tr>
          ))}
        </DataTable>
      )}
      {next !== undefined && (
        <button type="button" class="secondary" disabled={busy} onClick={() => void loadPage(next)}>
          More changes
        </button>
      )}
    </>
  );
}
