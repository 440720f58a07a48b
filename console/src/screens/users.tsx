import { useEffect, useState } from 'preact/hooks';
import { problemOf } from '../api.js';
import { fieldError, type Problem } from '../logic/problem.js';
import { href } from '../logic/routes.js';
import { splitList } from '../logic/settings-form.js';
import { filterUsers, type EnvironmentUser, type UserFilter } from '../logic/users.js';
import { DataTable, Empty, Link, Loading, ProblemMessage, useAction, useLoad } from '../ui/components.js';
import { Field, TextField } from '../ui/forms.js';
import { useConsole } from '../ui/context.js';
import { EnvironmentTabs } from './environments.js';

interface UsersPage {
  readonly users: EnvironmentUser[];
  readonly continuationToken?: string;
}

/** The environment's users, loaded a page at a time; `more` appends the next page. */
function useUserPages(envId: string) {
  const { api } = useConsole();
  const base = `environments/${encodeURIComponent(envId)}/users`;
  const [users, setUsers] = useState<EnvironmentUser[]>([]);
  const [next, setNext] = useState<string | undefined>();
  const [state, setState] = useState<'loading' | 'ready'>('loading');
  const [problem, setProblem] = useState<Problem | undefined>();
  const load = async (token: string | undefined) => {
    setState('loading');
    try {
      const page = await api.get<UsersPage>(
        token === undefined ? base : `${base}?continuationToken=${encodeURIComponent(token)}`,
      );
      setUsers((previous) => (token === undefined ? page.users : [...previous, ...page.users]));
      setNext(page.continuationToken);
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setState('ready');
    }
  };
  useEffect(() => {
    setProblem(undefined);
    void load(undefined);
  }, [envId]);
  return { users, next, state, problem, load };
}

function UserFilters({ filter, onFilter }: { filter: UserFilter; onFilter: (filter: UserFilter) => void }) {
  return (
    <form class="inline filters" role="search" onSubmit={(e) => e.preventDefault()}>
      <Field id="users-filter" label="Filter by name or email">
        {(describedBy) => (
          <input
            id="users-filter"
            type="search"
            value={filter.text}
            aria-describedby={describedBy}
            onInput={(e) => onFilter({ ...filter, text: e.currentTarget.value })}
          />
        )}
      </Field>
      <Field id="users-status" label="Status">
        {(describedBy) => (
          <select
            id="users-status"
            value={filter.status}
            aria-describedby={describedBy}
            onChange={(e) => onFilter({ ...filter, status: e.currentTarget.value as UserFilter['status'] })}
          >
            <option value="all">All</option>
            <option value="active">Active</option>
            <option value="deactivated">Deactivated</option>
          </select>
        )}
      </Field>
    </form>
  );
}

function UsersTable({ envId, users }: { envId: string; users: EnvironmentUser[] }) {
  return (
    <DataTable label="Users" columns={['Name', 'Email', 'Status', 'Menus']}>
      {users.map((user) => (
        <tr key={user.id}>
          <td>
            <Link href={href({ name: 'user', envId, userId: user.id })}>{user.displayName}</Link>
          </td>
          <td>{user.email}</td>
          <td>
            {user.active
              ? 'Active'
              : `Deactivated${user.deactivationReason === undefined ? '' : ` (${user.deactivationReason})`}`}
          </td>
          <td>{user.menus.join(', ')}</td>
        </tr>
      ))}
    </DataTable>
  );
}

export function UsersScreen({ envId }: { envId: string }) {
  const { users, next, state, problem, load } = useUserPages(envId);
  const [filter, setFilter] = useState<UserFilter>({ text: '', status: 'all' });
  const shown = filterUsers(users, filter);
  return (
    <section>
      <h1 tabIndex={-1}>Users — {envId}</h1>
      <EnvironmentTabs envId={envId} current="users" />
      <UserFilters filter={filter} onFilter={setFilter} />
      <ProblemMessage problem={problem} />
      {state === 'loading' && users.length === 0 && <Loading what="the users" />}
      {state === 'ready' && users.length === 0 && problem === undefined && (
        <Empty>No users yet: a sync brings them in.</Empty>
      )}
      {users.length > 0 && shown.length === 0 && <Empty>No loaded user matches the filter.</Empty>}
      {shown.length > 0 && <UsersTable envId={envId} users={shown} />}
      {next !== undefined && (
        <button
          type="button"
          class="secondary"
          disabled={state === 'loading'}
          onClick={() => void load(next)}
        >
          Load more users
        </button>
      )}
    </section>
  );
}

/** What the directory decides about a user: shown, not editable here when the user is external. */
function ManagedFields({ user }: { user: EnvironmentUser }) {
  const external = user.source === 'external';
  return (
    <>
      {external && (
        <p class="hint" id="managed-note">
          Name, email and status come from the organization's Microsoft Entra ID and can only be changed
          there.
        </p>
      )}
      <TextField
        id="user-name"
        label="Name"
        value={user.displayName}
        describedBy={external ? 'managed-note' : undefined}
      />
      <TextField
        id="user-email"
        label="Email"
        value={user.email}
        describedBy={external ? 'managed-note' : undefined}
      />
      <div class="field checkbox">
        <input
          type="checkbox"
          id="user-active"
          checked={user.active}
          disabled
          aria-describedby={external ? 'managed-note' : undefined}
        />
        <label for="user-active">Active</label>
      </div>
      {!user.active && user.deactivatedAt !== undefined && (
        <p>
          Deactivated on {new Date(user.deactivatedAt).toLocaleString()} (
          {user.deactivationReason ?? 'no reason recorded'}).
        </p>
      )}
    </>
  );
}

export function UserScreen({ envId, userId }: { envId: string; userId: string }) {
  const { api } = useConsole();
  const path = `environments/${encodeURIComponent(envId)}/users/${encodeURIComponent(userId)}`;
  const [loaded, , setLoaded] = useLoad(() => api.get<EnvironmentUser>(path), path);
  const [menus, setMenus] = useState<string | undefined>();
  const { problem, run } = useAction();
  const [saved, setSaved] = useState(false);
  const save = () => {
    setSaved(false);
    return run(async () => {
      const user = await api.send<EnvironmentUser>('PATCH', path, { menus: splitList(menus ?? '') });
      setLoaded(user);
      setMenus(undefined);
      setSaved(true);
    });
  };
  const user = loaded.state === 'ready' ? loaded.value : undefined;
  return (
    <section>
      <h1 tabIndex={-1}>{user?.displayName ?? 'User'}</h1>
      <EnvironmentTabs envId={envId} current="users" />
      {loaded.state === 'loading' && <Loading what="the user" />}
      {loaded.state === 'failed' && <ProblemMessage problem={loaded.problem} />}
      {user !== undefined && (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void save();
          }}
        >
          <ManagedFields user={user} />
          <TextField
            id="user-menus"
            label="Menus"
            hint="Separated by commas."
            error={fieldError(problem, 'menus')}
            value={menus ?? user.menus.join(', ')}
            onValue={setMenus}
          />
          {problem !== undefined && fieldError(problem, 'menus') === undefined && (
            <ProblemMessage problem={problem} />
          )}
          {saved && (
            <p role="status" class="ok">
              Menus saved.
            </p>
          )}
          <button type="submit">Save menus</button>
        </form>
      )}
    </section>
  );
}
