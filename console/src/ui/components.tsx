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

interface FieldProps {
  readonly id: string;
  readonly label: string;
  readonly error?: string | undefined;
  readonly hint?: string;
  readonly children: (describedBy: string | undefined, invalid: boolean) => ComponentChildren;
}

/** A labelled control with its hint and its validation message, tied to it for screen readers. */
export function Field({ id, label, error, hint, children }: FieldProps) {
  const ids = [
    hint === undefined ? undefined : `${id}-hint`,
    error === undefined ? undefined : `${id}-error`,
  ].filter((x): x is string => x !== undefined);
  return (
    <div class={error === undefined ? 'field' : 'field invalid'}>
      <label for={id}>{label}</label>
      {hint !== undefined && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {children(ids.length > 0 ? ids.join(' ') : undefined, error !== undefined)}
      {error !== undefined && (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

export function Checkbox(props: {
  id: string;
  label: string;
  checked: boolean;
  disabled?: boolean;
  hint?: string;
  error?: string | undefined;
  onChange: (checked: boolean) => void;
}) {
  const described = [
    props.hint === undefined ? undefined : `${props.id}-hint`,
    props.error === undefined ? undefined : `${props.id}-error`,
  ]
    .filter((x): x is string => x !== undefined)
    .join(' ');
  return (
    <div class="field checkbox">
      <input
        type="checkbox"
        id={props.id}
        checked={props.checked}
        disabled={props.disabled}
        aria-describedby={described === '' ? undefined : described}
        onChange={(event) => props.onChange(event.currentTarget.checked)}
      />
      <label for={props.id}>{props.label}</label>
      {props.hint !== undefined && (
        <p class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </p>
      )}
      {props.error !== undefined && (
        <p class="field-error" id={`${props.id}-error`}>
          {props.error}
        </p>
      )}
    </div>
  );
}

/** A wide table scrolls on its own on a narrow screen, and can be scrolled with the keyboard. */
export function TableRegion({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-region" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
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
