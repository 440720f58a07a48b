import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { problemOf } from '../api.js';
import type { Problem } from '../logic/problem.js';
import { navigate } from './navigation.js';

export function Link(props: {
  href: string;
  children: ComponentChildren;
  class?: string;
  current?: boolean;
}) {
  const onClick = (event: JSX.TargetedMouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(props.href);
  };
  return (
    <a
      href={props.href}
      onClick={onClick}
      class={props.class}
      aria-current={props.current === true ? 'page' : undefined}
    >
      {props.children}
    </a>
  );
}

/** Every problem the API answers, shown with its title and detail; never swallowed. */
export function ProblemMessage({ problem }: { problem: Problem | undefined }) {
  if (problem === undefined) return null;
  return (
    <div class="problem" role="alert">
      <strong>{problem.title}</strong>
      {problem.detail !== '' && <p>{problem.detail}</p>}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" role="status">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

/** A wide table scrolls on its own on a narrow screen, and can be scrolled with the keyboard. */
export function TableRegion({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-region" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

/** A table in its scrollable region, with one column header per entry of `columns`. */
export function DataTable({
  label,
  columns,
  children,
}: {
  label: string;
  columns: readonly string[];
  children: ComponentChildren;
}) {
  return (
    <TableRegion label={label}>
      <table>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column} scope="col">
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </TableRegion>
  );
}

export type Loadable<T> =
  | { readonly state: 'loading' }
  | { readonly state: 'failed'; readonly problem: Problem }
  | { readonly state: 'ready'; readonly value: T };

/** Loads once per key (and again on `reload`); the screen shows loading, the problem, or the value. */
export function useLoad<T>(
  load: () => Promise<T>,
  key: string,
): [Loadable<T>, () => void, (value: T) => void] {
  const [result, setResult] = useState<Loadable<T>>({ state: 'loading' });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let current = true;
    setResult({ state: 'loading' });
    load().then(
      (value) => current && setResult({ state: 'ready', value }),
      (error: unknown) => current && setResult({ state: 'failed', problem: problemOf(error) }),
    );
    return () => {
      current = false;
    };
    // `load` closes over the same inputs as `key`, so the key alone says when to load again.
  }, [key, generation]);
  return [result, () => setGeneration((g) => g + 1), (value: T) => setResult({ state: 'ready', value })];
}

export interface Action {
  /** True while the action runs: its controls are disabled meanwhile. */
  readonly busy: boolean;
  /** What the last try ended with, cleared when the action is tried again. */
  readonly problem: Problem | undefined;
  /** Runs `action`; a failure becomes `problem`, after `onProblem` has seen it. */
  readonly run: (action: () => Promise<void>, onProblem?: (problem: Problem) => void) => Promise<void>;
}

/** An action a form or button starts (save, sync, load more), with its busy flag and its problem. */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | undefined>();
  const run = async (action: () => Promise<void>, onProblem?: (problem: Problem) => void) => {
    setBusy(true);
    setProblem(undefined);
    try {
      await action();
    } catch (error) {
      const found = problemOf(error);
      onProblem?.(found);
      setProblem(found);
    } finally {
      setBusy(false);
    }
  };
  return { busy, problem, run };
}

/** What a screen shows of a load: the loading note, the problem, or `children` of the value. */
export function Loaded<T>({
  loaded,
  what,
  children,
}: {
  loaded: Loadable<T>;
  what: string;
  children: (value: T) => ComponentChildren;
}) {
  if (loaded.state === 'loading') return <Loading what={what} />;
  if (loaded.state === 'failed') return <ProblemMessage problem={loaded.problem} />;
  return <>{children(loaded.value)}</>;
}
