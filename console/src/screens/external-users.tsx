import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api.js';
import { fieldError, unplacedErrors, type Problem } from '../logic/problem.js';
import { href } from '../logic/routes.js';
import { isFinished, runSummary, formatDateTime, type SyncRun } from '../logic/runs.js';
import {
  EMPTY_SETTINGS_FORM,
  toPreviewBody,
  toSettingsBody,
  toSettingsForm,
  type SettingsForm,
  type SettingsView,
} from '../logic/settings-form.js';
import { Link, Loaded, ProblemMessage, useAction, useLoad } from '../ui/components.js';
import { Checkbox, FormProblems, TextField } from '../ui/forms.js';
import { useConsole } from '../ui/context.js';
import { EnvironmentTabs, type EnvironmentView } from './environments.js';
import { useRefreshWhenEnded, useRunProgress } from './run-progress.js';

/** The settings typed as text; the rest are checkboxes. */
type TextKey = Exclude<keyof SettingsForm, 'periodicSync'>;

interface SettingsAnswer extends SettingsView {
  readonly latestRun?: SyncRun | null;
  readonly groups?: readonly { readonly id: string; readonly displayName: string | null }[];
}

const FIELDS = [
  'tenant',
  'groupsToSync',
  'defaultMenus',
  'periodicSync',
  'deactivationLimit',
  'notificationEmails',
];

export function ExternalUsersScreen({ envId }: { envId: string }) {
  const { api } = useConsole();
  const base = `environments/${encodeURIComponent(envId)}`;
  // The environment first: a missing environment is a problem, missing settings are an empty form.
  // It says whether settings exist, so absent ones are never asked for (a 404 the browser would
  // report in its console as a failed request).
  const settings = async (): Promise<SettingsAnswer | undefined> => {
    const environment = await api.get<EnvironmentView>(base);
    return environment.externalUsersConfigured
      ? await api.get<SettingsAnswer>(`${base}/external-users`)
      : undefined;
  };
  const [loaded, , replace] = useLoad(settings, envId);
  // Saved settings and ended runs change what the page shows beside the form (configured or not,
  // group names, the latest run); the form keeps what is being typed.
  const refresh = async () => replace(await settings());
  return (
    <section>
      <h1 tabIndex={-1}>External users — {envId}</h1>
      <EnvironmentTabs envId={envId} current="externalUsers" />
      <Loaded loaded={loaded} what="the settings">
        {(value) => <SettingsEditor envId={envId} answer={value} refresh={refresh} />}
      </Loaded>
    </section>
  );
}

/** After a refused save, the first field named gets the focus, so its message is read out. */
function useFocusFirstInvalid(problem: Problem | undefined) {
  const firstInvalid = useRef<string | undefined>();
  useEffect(() => {
    if (firstInvalid.current !== undefined) {
      document.getElementById(`eu-${firstInvalid.current}`)?.focus();
      firstInvalid.current = undefined;
    }
  }, [problem]);
  return firstInvalid;
}

/** Queues a sync or a preview of the form's settings and follows it. */
function useRunStarter(envId: string) {
  const { api } = useConsole();
  const [run, runProblem, follow] = useRunProgress(envId);
  const [runKind, setRunKind] = useState<'sync' | 'preview'>('sync');
  const queue = async (kind: 'sync' | 'preview', form: SettingsForm) => {
    try {
      const queued = await api.send<SyncRun>(
        'POST',
        `environments/${encodeURIComponent(envId)}/sync`,
        kind === 'preview' ? toPreviewBody(form) : {},
      );
      setRunKind(kind);
      follow(queued.runId);
    } catch (error) {
      // A run already going is worth following rather than only refusing.
      if (error instanceof ApiError && error.problem.runId !== undefined) {
        setRunKind('sync');
        follow(error.problem.runId);
      }
      throw error;
    }
  };
  return { run, runProblem, runKind, queue };
}

interface SettingsFieldsProps {
  readonly form: SettingsForm;
  readonly problem: Problem | undefined;
  readonly set: <K extends keyof SettingsForm>(key: K) => (value: SettingsForm[K]) => void;
  readonly configuredGroups: readonly string[];
  readonly groupNames: ReadonlyMap<string, string | null>;
}

function SettingsFields({ form, problem, set, configuredGroups, groupNames }: SettingsFieldsProps) {
  const text = (
    key: TextKey,
    label: string,
    hint: string,
    extra: { rows?: number; inputMode?: 'numeric' } = {},
  ) => (
    <TextField
      id={`eu-${key}`}
      label={label}
      hint={hint}
      error={fieldError(problem, key)}
      value={form[key]}
      onValue={set(key)}
      {...extra}
    />
  );
  return (
    <>
      {text('tenant', 'Tenant', 'The name of the tenant configuration to sync from.')}
      {text('groupsToSync', 'Groups to Sync', 'Entra ID group object IDs, separated by commas.', {
        rows: 3,
      })}
      {configuredGroups.length > 0 && (
        <ul class="groups" aria-label="Synced groups">
          {configuredGroups.map((id) => (
            <li key={id}>
              <span class="group-name">{groupNames.get(id) ?? 'Name not read yet'}</span> <code>{id}</code>
            </li>
          ))}
        </ul>
      )}
      {text('defaultMenus', 'Default menu', 'Menus new users get, separated by commas.')}
      <Checkbox
        id="eu-periodicSync"
        label="Periodically Sync Users"
        checked={form.periodicSync}
        error={fieldError(problem, 'periodicSync')}
        onChange={set('periodicSync')}
      />
      {text(
        'deactivationLimit',
        'Deactivation limit',
        'A run that would deactivate more users than this halts until confirmed.',
        { inputMode: 'numeric' },
      )}
      {text(
        'notificationEmails',
        'Notification emails',
        'Up to 5 addresses, separated by commas, told when a run fails or halts.',
      )}
    </>
  );
}

interface SettingsActionsProps {
  readonly busy: boolean;
  /** A run is going: another sync waits for it to end. */
  readonly running: boolean;
  readonly onRun: (kind: 'sync' | 'preview') => void;
}

function SettingsActions({ busy, running, onRun }: SettingsActionsProps) {
  return (
    <div class="actions">
      <button type="submit" disabled={busy}>
        Save
      </button>
      <button type="button" class="secondary" disabled={busy} onClick={() => onRun('preview')}>
        Preview
      </button>
      <button type="button" class="secondary" disabled={busy || running} onClick={() => onRun('sync')}>
        Sync
      </button>
    </div>
  );
}

interface RunStatusProps {
  readonly envId: string;
  readonly notice: string | undefined;
  readonly run: SyncRun | undefined;
  readonly runKind: 'sync' | 'preview';
}

function RunStatus({ envId, notice, run, runKind }: RunStatusProps) {
  return (
    <div role="status" aria-live="polite" class="run-status">
      {notice !== undefined && <p>{notice}</p>}
      {run !== undefined && (
        <p>
          {runKind === 'preview' ? 'Preview' : 'Sync'} {run.runId}: {runSummary(run)}{' '}
          {isFinished(run.status) && (
            <Link href={href({ name: 'run', envId, runId: run.runId })}>See the changes</Link>
          )}
        </p>
      )}
    </div>
  );
}

function LatestRun({ envId, latest }: { envId: string; latest: SyncRun | null }) {
  return (
    <>
      <h2>Latest run</h2>
      {latest === null ? (
        <p class="empty">No run yet.</p>
      ) : (
        <p>
          <Link href={href({ name: 'run', envId, runId: latest.runId })}>
            {formatDateTime(latest.queuedAt)}
          </Link>
          : {runSummary(latest)}
        </p>
      )}
    </>
  );
}

/** The form's values, starting from the stored settings; `set(key)` makes a field's change handler. */
function useSettingsForm(answer: SettingsAnswer | undefined) {
  const [form, setForm] = useState<SettingsForm>(() =>
    answer === undefined ? EMPTY_SETTINGS_FORM : toSettingsForm(answer),
  );
  const set =
    <K extends keyof SettingsForm>(key: K) =>
    (value: SettingsForm[K]) =>
      setForm((f) => ({ ...f, [key]: value }));
  return { form, setForm, set };
}

interface SettingsEditorProps {
  readonly envId: string;
  readonly answer: SettingsAnswer | undefined;
  readonly refresh: () => Promise<void>;
}

function SettingsEditor({ envId, answer, refresh }: SettingsEditorProps) {
  const { api } = useConsole();
  const { form, setForm, set } = useSettingsForm(answer);
  const { busy, problem, run: attempt } = useAction();
  const [notice, setNotice] = useState<string | undefined>();
  const [savedGroups, setSavedGroups] = useState(answer?.groupsToSync ?? '');
  const { run, runProblem, runKind, queue } = useRunStarter(envId);
  const refreshProblem = useRefreshWhenEnded(run, refresh);
  const firstInvalid = useFocusFirstInvalid(problem);

  const act = (what: string, action: () => Promise<void>) => {
    setNotice(undefined);
    return attempt(action, (found) => {
      firstInvalid.current = FIELDS.find((field) => fieldError(found, field) !== undefined);
      setNotice(`${what} failed.`);
    });
  };
  const save = () =>
    act('Saving', async () => {
      const path = `environments/${encodeURIComponent(envId)}/external-users`;
      const saved = await api.send<SettingsView>('PUT', path, toSettingsBody(form));
      setForm(toSettingsForm(saved));
      setSavedGroups(saved.groupsToSync ?? '');
      setNotice('Settings saved.');
      await refresh();
    });
  const startRun = (kind: 'sync' | 'preview') =>
    void act(kind === 'sync' ? 'Sync' : 'Preview', () => queue(kind, form));

  return (
    <>
      {answer === undefined && (
        <p class="empty">The integration is not configured yet: fill in the settings and save.</p>
      )}
      <form
        class="settings"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void save();
        }}
      >
        <SettingsFields
          form={form}
          problem={problem}
          set={set}
          configuredGroups={savedGroups.split(',').filter((id) => id !== '')}
          groupNames={new Map((answer?.groups ?? []).map((g) => [g.id, g.displayName]))}
        />
        <FormProblems problem={problem} stray={unplacedErrors(problem, FIELDS)} />
        <SettingsActions
          busy={busy}
          running={run !== undefined && !isFinished(run.status)}
          onRun={startRun}
        />
      </form>
      <RunStatus envId={envId} notice={notice} run={run} runKind={runKind} />
      <ProblemMessage problem={runProblem ?? refreshProblem} />
      <LatestRun envId={envId} latest={answer?.latestRun ?? null} />
    </>
  );
}
