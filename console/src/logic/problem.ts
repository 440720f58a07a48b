/** An API problem (RFC 9457) as the console shows it: a title and detail, and messages per field. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  /** Validation messages by field name (`errors` of a `/problems/validation` answer). */
  readonly errors: Readonly<Record<string, string>>;
  /** The run in progress, on a `/problems/sync-in-progress` answer. */
  readonly runId?: string;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** Reads any error answer; one that is not problem+json still becomes a problem with its status. */
export function toProblem(status: number, body: unknown, statusText = ''): Problem {
  const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const errors: Record<string, string> = {};
  if (typeof record.errors === 'object' && record.errors !== null) {
    for (const [field, message] of Object.entries(record.errors as Record<string, unknown>)) {
      if (typeof message === 'string') errors[field] = message;
    }
  }
  const runId = text(record.runId);
  return {
    type: text(record.type) ?? 'about:blank',
    title: text(record.title) ?? (statusText || `Request failed (${status})`),
    status: typeof record.status === 'number' ? record.status : status,
    detail: text(record.detail) ?? '',
    errors,
    ...(runId === undefined ? {} : { runId }),
  };
}

/** A failure to reach the service at all, in the same shape. */
export function networkProblem(what: string, cause: unknown): Problem {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return {
    type: 'about:blank',
    title: `Could not reach ${what}`,
    status: 0,
    detail: reason,
    errors: {},
  };
}

/**
 * The message for one form field: the API names fields by their JSON member (`groupsToSync`,
 * `notificationEmails.1`), so an item of a list counts for the list.
 */
export function fieldError(problem: Problem | undefined, field: string): string | undefined {
  if (problem === undefined) return undefined;
  const direct = problem.errors[field];
  if (direct !== undefined) return direct;
  for (const [name, message] of Object.entries(problem.errors)) {
    if (name.startsWith(`${field}.`) || name.startsWith(`${field}[`)) return message;
  }
  return undefined;
}

/** Field messages that no field of the form shows, so they are not lost. */
export function unplacedErrors(problem: Problem | undefined, fields: readonly string[]): [string, string][] {
  if (problem === undefined) return [];
  return Object.entries(problem.errors).filter(
    ([name]) =>
      !fields.some((field) => name === field || name.startsWith(`${field}.`) || name.startsWith(`${field}[`)),
  );
}
