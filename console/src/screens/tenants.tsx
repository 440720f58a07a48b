import { useState } from 'preact/hooks';
import { problemOf } from '../api.js';
import { fieldError, unplacedErrors, type Problem } from '../logic/problem.js';
import { href } from '../logic/routes.js';
import { formatDateTime } from '../logic/runs.js';
import {
  healthText,
  toTenantBody,
  type CheckResult,
  type TenantForm,
  type TenantView,
} from '../logic/tenants.js';
import { DataTable, Empty, Link, Loaded, ProblemMessage, useLoad } from '../ui/components.js';
import { FormProblems, TextField } from '../ui/forms.js';
import { useConsole } from '../ui/context.js';

export function TenantsScreen() {
  const { api } = useConsole();
  const [loaded] = useLoad(() => api.get<{ tenants: TenantView[] }>('tenants'), 'tenants');
  return (
    <section>
      <h1 tabIndex={-1}>Tenants</h1>
      <p>
        <Link href={href({ name: 'tenant', tenant: undefined })} class="button">
          New tenant
        </Link>
      </p>
      <Loaded loaded={loaded} what="the tenants">
        {(value) =>
          value.tenants.length === 0 ? (
            <Empty>
              No tenant yet. A tenant links one Microsoft Entra ID directory to the environments that may use
              it.
            </Empty>
          ) : (
            <DataTable
              label="Tenants"
              columns={['Name', 'Directory (tenant) ID', 'Environments allowed', 'Health']}
            >
              {value.tenants.map((tenant) => (
                <tr key={tenant.name}>
                  <td>
                    <Link href={href({ name: 'tenant', tenant: tenant.name })}>{tenant.name}</Link>
                  </td>
                  <td>
                    <code>{tenant.directoryId}</code>
                  </td>
                  <td>{tenant.environments.join(', ') || '—'}</td>
                  <td>{healthText(tenant.status)}</td>
                </tr>
              ))}
            </DataTable>
          )
        }
      </Loaded>
    </section>
  );
}

const TENANT_FIELDS = [
  'name',
  'directoryId',
  'clientId',
  'clientSecret',
  'environments',
  'authorityHost',
  'graphBaseUrl',
];

function blankForm(tenant: TenantView | undefined): TenantForm {
  return {
    name: tenant?.name ?? '',
    directoryId: tenant?.directoryId ?? '',
    clientId: tenant?.clientId ?? '',
    clientSecret: '',
    environments: (tenant?.environments ?? []).join(', '),
    authorityHost: tenant?.authorityHost ?? '',
    graphBaseUrl: tenant?.graphBaseUrl ?? '',
  };
}

export function TenantScreen({ name }: { name: string | undefined }) {
  const { api } = useConsole();
  const [loaded] = useLoad(
    () =>
      name === undefined
        ? Promise.resolve(undefined)
        : api.get<TenantView>(`tenants/${encodeURIComponent(name)}`),
    name ?? '(new)',
  );
  return (
    <section>
      <h1 tabIndex={-1}>{name === undefined ? 'New tenant' : `Tenant ${name}`}</h1>
      <p>
        <Link href={href({ name: 'tenants' })}>All tenants</Link>
      </p>
      <Loaded loaded={loaded} what="the tenant">
        {(value) => <TenantEditor key={name ?? '(new)'} tenant={value} />}
      </Loaded>
    </section>
  );
}

function TenantFacts({ tenant }: { tenant: TenantView }) {
  return (
    <dl class="facts">
      <dt>Health</dt>
      <dd>{healthText(tenant.status)}</dd>
      <dt>Owner</dt>
      <dd>{tenant.owner}</dd>
      <dt>Client secret</dt>
      <dd>{tenant.hasClientSecret ? 'Stored (never shown)' : 'Not set'}</dd>
      <dt>Updated</dt>
      <dd>{formatDateTime(tenant.updatedAt)}</dd>
    </dl>
  );
}

interface TenantFieldsProps {
  readonly form: TenantForm;
  readonly problem: Problem | undefined;
  readonly creating: boolean;
  readonly onField: (key: keyof TenantForm) => (value: string) => void;
}

function TenantFields({ form, problem, creating, onField }: TenantFieldsProps) {
  const text = (key: keyof TenantForm, label: string, hint?: string, type = 'text') => (
    <TextField
      id={`tenant-${key}`}
      label={label}
      hint={hint}
      error={fieldError(problem, key)}
      type={type}
      autoComplete={type === 'password' ? 'new-password' : 'off'}
      value={form[key]}
      onValue={onField(key)}
    />
  );
  return (
    <>
      {creating && text('name', 'Name', '1–63 of a–z 0–9 -')}
      {text('directoryId', 'Directory (tenant) ID')}
      {text('clientId', 'Client ID', 'The application (client) ID of the app registration.')}
      {text(
        'clientSecret',
        'Client secret',
        creating
          ? 'Write-only: it is stored encrypted and never shown again.'
          : 'Write-only: leave empty to keep the stored secret.',
        'password',
      )}
      {text(
        'environments',
        'Environments allowed',
        'Environment IDs that may use this tenant, separated by commas.',
      )}
      {text('authorityHost', 'Authority host', 'Optional; https://login.microsoftonline.com when empty.')}
      {text('graphBaseUrl', 'Graph base URL', 'Optional; https://graph.microsoft.com when empty.')}
    </>
  );
}

function CheckResultView({ check }: { check: CheckResult }) {
  return (
    <div class={check.ok ? 'ok' : 'problem'}>
      <p>
        <strong>{check.ok ? 'Connection works.' : 'Connection failed.'}</strong> Token:{' '}
        {check.token.ok ? 'obtained' : (check.token.error?.message ?? 'refused')}
      </p>
      {check.groups.length > 0 && (
        <ul>
          {check.groups.map((g) => (
            <li key={g.id}>
              {g.displayName ?? g.id}: {g.ok ? 'readable' : (g.error?.message ?? 'not readable')}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** Checks the stored tenant's connection, then reloads the tenant for the health the check recorded. */
function useConnectionCheck(
  tenant: TenantView | undefined,
  setTenant: (tenant: TenantView) => void,
  setBusy: (busy: boolean) => void,
) {
  const { api } = useConsole();
  const [check, setCheck] = useState<CheckResult | undefined>();
  const [checkProblem, setCheckProblem] = useState<Problem | undefined>();
  const checkConnection = async () => {
    if (tenant === undefined) return;
    setBusy(true);
    setCheck(undefined);
    setCheckProblem(undefined);
    try {
      setCheck(await api.send<CheckResult>('POST', `tenants/${encodeURIComponent(tenant.name)}/check`));
      setTenant(await api.get<TenantView>(`tenants/${encodeURIComponent(tenant.name)}`));
    } catch (error) {
      setCheckProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  };
  return { check, checkProblem, checkConnection };
}

/** Save, and for a stored tenant the connection check. */
function TenantActions({ busy, onCheck }: { busy: boolean; onCheck: (() => void) | undefined }) {
  return (
    <div class="actions">
      <button type="submit" disabled={busy}>
        Save
      </button>
      {onCheck !== undefined && (
        <button type="button" class="secondary" disabled={busy} onClick={onCheck}>
          Check connection
        </button>
      )}
    </div>
  );
}

function TenantEditor({ tenant: initial }: { tenant: TenantView | undefined }) {
  const { api, navigate } = useConsole();
  const [tenant, setTenant] = useState(initial);
  const [form, setForm] = useState<TenantForm>(() => blankForm(initial));
  const [problem, setProblem] = useState<Problem | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const creating = tenant === undefined;
  const set = (key: keyof TenantForm) => (value: string) => setForm((f) => ({ ...f, [key]: value }));

  const save = async () => {
    setBusy(true);
    setProblem(undefined);
    setNotice(undefined);
    try {
      const tenantName = creating ? form.name.trim() : tenant.name;
      const stored = await api.send<TenantView>(
        'PUT',
        `tenants/${encodeURIComponent(tenantName)}`,
        toTenantBody(form),
      );
      setTenant(stored);
      setForm(blankForm(stored));
      setNotice(creating ? 'Tenant created.' : 'Tenant saved.');
      if (creating) navigate(href({ name: 'tenant', tenant: stored.name }));
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  };
  const { check, checkProblem, checkConnection } = useConnectionCheck(tenant, setTenant, setBusy);
  const stray = unplacedErrors(problem, TENANT_FIELDS);
  return (
    <>
      {tenant !== undefined && <TenantFacts tenant={tenant} />}
      <form
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void save();
        }}
      >
        <TenantFields form={form} problem={problem} creating={creating} onField={set} />
        <FormProblems problem={problem} stray={stray} />
        <div role="status" aria-live="polite">
          {notice !== undefined && <p class="ok">{notice}</p>}
        </div>
        <TenantActions
          busy={busy}
          onCheck={tenant === undefined ? undefined : () => void checkConnection()}
        />
      </form>
      <div aria-live="polite">{check !== undefined && <CheckResultView check={check} />}</div>
      <ProblemMessage problem={checkProblem} />
    </>
  );
}
