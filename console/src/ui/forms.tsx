import type { ComponentChildren } from 'preact';
import type { Problem } from '../logic/problem.js';
import { ProblemMessage } from './components.js';

interface FieldProps {
  readonly id: string;
  readonly label: string;
  readonly error?: string | undefined;
  readonly hint?: string;
  readonly children: (describedBy: string | undefined, invalid: boolean) => ComponentChildren;
}

/** A labelled control with its hint and its validation message, tied to it for screen readers. */
export function Field({ id, label, error, hint, children }: FieldProps) {
  return (
    <div class={error === undefined ? 'field' : 'field invalid'}>
      <label for={id}>{label}</label>
      <FieldNote id={id} kind="hint" text={hint} />
      {children(describedByOf(id, hint, error), error !== undefined)}
      <FieldNote id={id} kind="error" text={error} />
    </div>
  );
}

/** The ids of a control's hint and validation message, for its `aria-describedby`. */
function describedByOf(id: string, hint: string | undefined, error: string | undefined): string | undefined {
  const ids = [
    hint === undefined ? undefined : `${id}-hint`,
    error === undefined ? undefined : `${id}-error`,
  ].filter((x): x is string => x !== undefined);
  return ids.length > 0 ? ids.join(' ') : undefined;
}

/** A note tied to its control for screen readers (`${id}-hint`, `${id}-error`): its hint or its validation message. */
function FieldNote({ id, kind, text }: { id: string; kind: 'hint' | 'error'; text: string | undefined }) {
  if (text === undefined) return null;
  return (
    <p class={kind === 'hint' ? 'hint' : 'field-error'} id={`${id}-${kind}`}>
      {text}
    </p>
  );
}

interface TextFieldProps {
  readonly id: string;
  readonly label: string;
  readonly value: string;
  readonly hint?: string | undefined;
  readonly error?: string | undefined;
  /** Absent for a read-only field. */
  readonly onValue?: (value: string) => void;
  /** Replaces the field's own description, e.g. a note shared by several read-only fields. */
  readonly describedBy?: string | undefined;
  readonly type?: string;
  readonly autoComplete?: string;
  readonly inputMode?: 'numeric';
  readonly required?: boolean;
  /** Rows of a multi-line field; a single-line input when absent. */
  readonly rows?: number;
}

/** A text input (or text area) inside its Field, wired to the field's hint and validation message. */
export function TextField(props: TextFieldProps) {
  const { id, onValue } = props;
  return (
    <Field
      id={id}
      label={props.label}
      error={props.error}
      {...(props.hint === undefined ? {} : { hint: props.hint })}
    >
      {(describedBy, invalid) => {
        const common = {
          id,
          value: props.value,
          'aria-describedby': props.describedBy ?? describedBy,
          ...(onValue === undefined ? { readOnly: true } : { 'aria-invalid': invalid }),
        };
        return props.rows === undefined ? (
          <input
            {...common}
            type={props.type}
            autoComplete={props.autoComplete}
            inputMode={props.inputMode}
            required={props.required}
            onInput={onValue === undefined ? undefined : (e) => onValue(e.currentTarget.value)}
          />
        ) : (
          <textarea
            {...common}
            rows={props.rows}
            onInput={onValue === undefined ? undefined : (e) => onValue(e.currentTarget.value)}
          />
        );
      }}
    </Field>
  );
}

/** Validation messages the API gave for fields the form does not show, else the problem itself. */
export function FormProblems({
  problem,
  stray,
}: {
  problem: Problem | undefined;
  stray: readonly (readonly [string, string])[];
}) {
  return (
    <>
      {stray.length > 0 && (
        <ul class="problem" role="alert">
          {stray.map(([field, message]) => (
            <li key={field}>
              {field}: {message}
            </li>
          ))}
        </ul>
      )}
      {problem !== undefined && Object.keys(problem.errors).length === 0 && (
        <ProblemMessage problem={problem} />
      )}
    </>
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
  return (
    <div class="field checkbox">
      <input
        type="checkbox"
        id={props.id}
        checked={props.checked}
        disabled={props.disabled}
        aria-describedby={describedByOf(props.id, props.hint, props.error)}
        onChange={(event) => props.onChange(event.currentTarget.checked)}
      />
      <label for={props.id}>{props.label}</label>
      <FieldNote id={props.id} kind="hint" text={props.hint} />
      <FieldNote id={props.id} kind="error" text={props.error} />
    </div>
  );
}
