import { useEffect, useState } from 'preact/hooks';
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
import {
  DataTable,
  Empty,
  Link,
  Loaded,
  Loading,
  ProblemMessage,
  useAction,
  useLoad,
  type Loadable,
} from '../ui/components.js';
import { useConsole } from '../ui/context.js';
import { EnvironmentTabs } from './environments.js';
import { useRunProgress } from './run-progress.js';

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
      <Loaded loaded={loaded} what="the runs">
        {(value) =>
          value.runs.length === 0 ? (
            <Empty>No run yet. Start one with "Sync" on the External users tab.</Empty>
          ) : (
            <>
              <DataTable label="Sync runs" columns={['Queued', 'Status', 'Trigger', 'Changes']}>
                {value.runs.map((run) => (
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
              {value.runs.length >= limit && limit < MAX_LIMIT && (
                <button
                  type="button"
                  class="secondary"
                  onClick={() => setLimit(Math.min(MAX_LIMIT, limit + PAGE))}
                >
                  Show more runs
                </button>
              )}
            </>
          )
        }
      </Loaded>
    </section>
  );
}

interface ChangesPage {
  readonly changes: RunChange[];
  readonly continuationToken?: string;
}

function RunFacts({ run }: { run: SyncRun }) {
  return (
    <dl class="facts">
      <dt>Status</dt>
      <dd>{runSummary(run)}</dd>
      <dt>Trigger</dt>
      <dd>
        {run.trigger === 'manual' ? `Manual, by ${run.requestedBy}` : 'Periodic'}
        {run.dryRun === true ? ' (preview: nothing applied)' : ''}
      </dd>
      <dt>Queued</dt>
      <dd>{formatDateTime(run.queuedAt)}</dd>
      <dt>Finished</dt>
      <dd>{formatDateTime(run.finishedAt)}</dd>
      <dt>Counts</dt>
      <dd>{countsSummary(run.counts)}</dd>
    </dl>
  );
}

/** A halted run's held-back deactivations, and the button that queues a run applying them. */
function HaltedRun({ envId, run }: { envId: string; run: SyncRun }) {
  const { api, navigate } = useConsole();
  const { busy, problem, run: act } = useAction();
  const confirm = () =>
    act(async () => {
      const queued = await api.send<SyncRun>('POST', `environments/${encodeURIComponent(envId)}/sync`, {
        confirmDeactivations: true,
      });
      navigate(href({ name: 'run', envId, runId: queued.runId }));
    });
  return (
    <div class="halted">
      <p>
        This run held back {run.counts?.deactivated ?? 0} deactivations (listed below) because they exceed the
        deactivation limit. Nothing was applied.
      </p>
      <button type="button" disabled={busy} onClick={() => void confirm()}>
        Confirm deactivations
      </button>
      <ProblemMessage problem={problem} />
    </div>
  );
}

export function RunScreen({ envId, runId }: { envId: string; runId: string }) {
  const base = `environments/${encodeURIComponent(envId)}`;
  const [run, runProblem, follow] = useRunProgress(envId);
  useEffect(() => follow(runId), [runId]);
  const loaded: Loadable<SyncRun> =
    runProblem !== undefined
      ? { state: 'failed' as const, problem: runProblem }
      : run === undefined || run.runId !== runId
        ? { state: 'loading' as const }
        : { state: 'ready' as const, value: run };
  return (
    <section>
      <h1 tabIndex={-1}>Sync run {runId}</h1>
      <EnvironmentTabs envId={envId} current="runs" />
      <Loaded loaded={loaded} what="the run">
        {(value) => (
          <>
            <RunFacts run={value} />
            {value.status === 'halted' && <HaltedRun envId={envId} run={value} />}
            {isFinished(value.status) ? (
              <Changes
                base={`${base}/sync-runs/${encodeURIComponent(runId)}/changes`}
                halted={value.status === 'halted'}
              />
            ) : (
              <p role="status" class="loading">
                The run is {value.status}; its changes show once it ends.
              </p>
            )}
          </>
        )}
      </Loaded>
    </section>
  );
}

function Changes({ base, halted }: { base: string; halted: boolean }) {
  const { api } = useConsole();
  const [pages, setPages] = useState<ChangesPage[]>([]);
  const { busy, problem, run } = useAction();
  const loadPage = (token: string | undefined) =>
    run(async () => {
      const page = await api.get<ChangesPage>(
        token === undefined ? base : `${base}?continuationToken=${encodeURIComponent(token)}`,
      );
      setPages((previous) => [...previous, page]);
    });
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
