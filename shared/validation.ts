import type { z } from 'zod';
import { AppError } from './errors.js';

const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
};

function boundMessage(
  side: 'at least' | 'at most',
  issue: { origin: string; inclusive?: boolean; minimum?: unknown; maximum?: unknown },
): string | undefined {
  const bound = Number(side === 'at least' ? issue.minimum : issue.maximum);
  switch (issue.origin) {
    case 'number':
    case 'int':
      if (issue.inclusive === false) return `must be ${side === 'at least' ? 'more' : 'less'} than ${bound}`;
      return `must be ${side} ${bound}`;
    case 'string':
      if (side === 'at least' && bound === 1) return 'must not be empty';
      return `must be ${side} ${bound} characters long`;
    case 'array':
    case 'set':
      if (side === 'at least' && bound === 1) return 'must not be empty';
      return `must hold ${side} ${bound} items`;
    default:
      return undefined;
  }
}

/**
 * Plain words for the checks a schema states without a message of its own; a schema's own message
 * always wins over these.
 */
export function plainMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'invalid_type') {
    return issue.input === undefined
      ? 'is required'
      : `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
  }
  if (issue.code === 'too_small') return boundMessage('at least', issue);
  if (issue.code === 'too_big') return boundMessage('at most', issue);
  // Formats, values and custom checks carry messages of their own or zod's.
  return undefined;
}

/** Where in a field an issue lies, for its message: `item 2` of a list, a member by its name. */
function placeIn(path: readonly PropertyKey[]): string {
  return path.map((part) => (typeof part === 'number' ? `item ${part + 1}` : String(part))).join(', ');
}

/**
 * Issues by the body's member they concern (the field a client sent), with the place inside it in
 * the message; the first issue of a field is the one named.
 */
function formatIssues(issues: readonly z.core.$ZodIssue[]): Record<string, string> {
  const fields: Record<string, string> = {};
  const add = (path: readonly PropertyKey[], message: string): void => {
    const [field, ...inside] = path;
    const key = field === undefined ? 'body' : String(field);
    fields[key] ??= inside.length === 0 ? message : `${placeIn(inside)}: ${message}`;
  };
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      // Each unknown member is named as its own field, as a missing one would be.
      for (const name of issue.keys) add([...issue.path, name], 'is not accepted here');
      continue;
    }
    add(issue.path, issue.message);
  }
  return fields;
}

/** Checks a value against a schema; a mismatch is a validation error naming every bad field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value, { error: plainMessage });
  if (!result.success) {
    throw new AppError('validation', 'The request is not valid.', {
      fields: formatIssues(result.error.issues),
    });
  }
  return result.data;
}
