import type { z } from 'zod';
import { AppError } from './errors.js';

function formatIssues(issues: readonly z.core.$ZodIssue[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      // Each unknown member is named as its own field, as a missing one would be.
      for (const name of issue.keys)
        fields[[...issue.path, name].map(String).join('.')] ??= 'is not accepted here';
      continue;
    }
    const key = issue.path.length === 0 ? 'body' : issue.path.map(String).join('.');
    fields[key] ??= issue.message;
  }
  return fields;
}

/** Checks a value against a schema; a mismatch is a validation error naming every bad field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new AppError('validation', 'The request is not valid.', {
      fields: formatIssues(result.error.issues),
    });
  }
  return result.data;
}
