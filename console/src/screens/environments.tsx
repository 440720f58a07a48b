import { useState } from 'preact/hooks';
import { can } from '../logic/principal.js';
import { fieldError, type Problem } from '../logic/problem.js';
import { href } from '../logic/routes.js';
import { Empty, Link, Loaded, ProblemMessage, useAction, useLoad } from '../ui/components.js';
import { Checkbox, Field, TextField } from '../ui/forms.js';
import { useConsole } from '../ui/context.js';
import { TenantsScreen } from './tenants.js';

export interface EnvironmentView {
  readonly id: string;
  readonly name: string;
  readonly externalUsersIntegration: boolean;
  /** Whether its external users settings were ever saved. */
  readonly externalUsersConfigured: boolean;
}

const envPath = (envId: string) => `environments/${encodeURIComponent(envId)}`;

/** The tabs of one environment. */
export function EnvironmentTabs({
  envId,
  current,
}: {
  envId: string;
  current: 'environment' | 'externalUsers' | 'runs' | 'users';
}) {
  const tabs = [
    { key: 'environment', label: 'Environment', path: href({ name: 'environment', envId }) },
    { key: 'externalUsers', label: 'External users', path: href({ name: 'externalUsers', envId }) },
    { key: 'runs', label: 'Sync runs', path: href({ name: 'runs', envId }) },
    { key: 'users', label: 'Users', path: href({ name: 'users', envId }) },
  ] as const;
  return (
    <nav class="tabs" aria-label={`Environment ${envId}`}>
      <ul>
        {tabs.map((tab) => (
          <li key={tab.key}>
            <Link href={tab.path} current={tab.key === current}>
              {tab.label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}

export function EnvironmentsScreen({ home = false }: { home?: boolean }) {
  const { principal, navigate } = useConsole();
  const [openId, setOpenId] = useState('');
  if (home && !can.manageEnvironments(principal) && !principal.roles.includes('environment-admin')) {
    return <TenantsScreen />;
  }
  return (
    <section>
      <h1 tabIndex={-1}>Environments</h1>
      {principal.roles.includes('environment-admin') && (
        <>
          <h2>Your environments</h2>
          {principal.environments.length === 0 ? (
            <Empty>You administer no environment yet.</Empty>
          ) : (
            <ul class="cards">
              {principal.environments.map((envId) => (
                <li key={envId}>
                  <Link href={href({ name: 'externalUsers', envId })}>{envId}</Link>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
      <h2>Open an environment</h2>
      <form
        class="inline"
        onSubmit={(event) => {
          event.preventDefault();
          if (openId.trim() !== '') navigate(href({ name: 'environment', envId: openId.trim() }));
        }}
      >
        <Field id="open-env" label="Environment ID">
          {(describedBy) => (
            <input
              id="open-env"
              value={openId}
              aria-describedby={describedBy}
              onInput={(e) => setOpenId(e.currentTarget.value)}
            />
          )}
        </Field>
        <button type="submit">Open</button>
      </form>
      {can.manageEnvironments(principal) && <CreateEnvironment />}
    </section>
  );
}

function CreateEnvironment() {
  const { api, navigate } = useConsole();
  const [form, setForm] = useState({ id: '', name: '' });
  const [integration, setIntegration] = useState(false);
  const { busy, problem, run } = useAction();
  const submit = () =>
    run(async () => {
      const envId = form.id.trim();
      await api.send('PUT', envPath(envId), { name: form.name, externalUsersIntegration: integration });
      navigate(href({ name: 'environment', envId }));
    });
  /** A required text field of the form; `field` names it in the API's validation messages. */
  const text = (key: 'id' | 'name', field: string, label: string, hint?: string) => (
    <TextField
      id={`new-env-${key}`}
      label={label}
      hint={hint}
      error={fieldError(problem, field)}
      required
      value={form[key]}
      onValue={(value) => setForm((f) => ({ ...f, [key]: value }))}
    />
  );
  return (
    <>
      <h2>Create an environment</h2>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        {text('id', 'envId', 'New environment ID', '1–64 of A–Z a–z 0–9 _ -')}
        {text('name', 'name', 'Name')}
        <Checkbox
          id="new-env-integration"
          label="External users integration"
          checked={integration}
          onChange={setIntegration}
        />
        {problem !== undefined && Object.keys(problem.errors).length === 0 && (
          <ProblemMessage problem={problem} />
        )}
        <button type="submit" disabled={busy}>
          Create
        </button>
      </form>
    </>
  );
}

interface EnvironmentFieldsProps {
  readonly value: EnvironmentView;
  readonly operator: boolean;
  readonly problem: Problem | undefined;
  /** Edits not saved yet; undefined shows the stored value. */
  readonly name: string | undefined;
  readonly onName: (name: string) => void;
  readonly integration: boolean | undefined;
  readonly onIntegration: (on: boolean) => void;
}

function EnvironmentFields(props: EnvironmentFieldsProps) {
  const { value, operator, problem } = props;
  return (
    <>
      <p>
        Environment ID: <code>{value.id}</code>
      </p>
      <Field id="env-name" label="Name" error={fieldError(problem, 'name')}>
        {(describedBy, invalid) => (
          <input
            id="env-name"
            value={props.name ?? value.name}
            readOnly={!operator}
            aria-describedby={describedBy}
            aria-invalid={invalid}
            onInput={(e) => props.onName(e.currentTarget.value)}
          />
        )}
      </Field>
      <Checkbox
        id="env-integration"
        label="External users integration"
        checked={props.integration ?? value.externalUsersIntegration}
        disabled={!operator}
        hint={
          operator
            ? 'Lets this environment sync users from a Microsoft Entra ID tenant.'
            : 'Only a platform operator can switch this.'
        }
        onChange={props.onIntegration}
      />
    </>
  );
}

export function EnvironmentScreen({ envId }: { envId: string }) {
  const { api, principal } = useConsole();
  const [loaded, , setLoaded] = useLoad(() => api.get<EnvironmentView>(envPath(envId)), envId);
  const [name, setName] = useState<string | undefined>();
  const [integration, setIntegration] = useState<boolean | undefined>();
  const { problem, run } = useAction();
  const [saved, setSaved] = useState(false);
  const operator = can.switchIntegration(principal);
  const save = (current: EnvironmentView) => {
    setSaved(false);
    return run(async () => {
      const updated = await api.send<EnvironmentView>('PUT', envPath(envId), {
        name: name ?? current.name,
        externalUsersIntegration: integration ?? current.externalUsersIntegration,
      });
      setLoaded(updated);
      setName(undefined);
      setIntegration(undefined);
      setSaved(true);
    });
  };
  return (
    <section>
      <h1 tabIndex={-1}>{loaded.state === 'ready' ? loaded.value.name : `Environment ${envId}`}</h1>
      <EnvironmentTabs envId={envId} current="environment" />
      <Loaded loaded={loaded} what="the environment">
        {(value) => (
          <form
            onSubmit={(event) => {
              event.preventDefault();
              void save(value);
            }}
          >
            <EnvironmentFields
              value={value}
              operator={operator}
              problem={problem}
              name={name}
              onName={setName}
              integration={integration}
              onIntegration={setIntegration}
            />
            {problem !== undefined && <ProblemMessage problem={problem} />}
            {saved && (
              <p role="status" class="ok">
                Saved.
              </p>
            )}
            {operator && <button type="submit">Save</button>}
          </form>
        )}
      </Loaded>
    </section>
  );
}
