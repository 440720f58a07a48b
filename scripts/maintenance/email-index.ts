import type { AccessRows } from '../../shared/users/repository.js';

export interface EmailIndexReport {
  readonly environments: number;
  /** Environments whose index was completed by this pass (the others were marked complete). */
  readonly completed: number;
  readonly entriesWritten: number;
}

export interface EmailIndexDeps {
  readonly environments: { list(): AsyncIterable<{ readonly id: string }> };
  readonly users: Pick<AccessRows, 'completeEmailIndex'>;
  /** One line per environment completed. */
  readonly log: (line: string) => void;
}

/**
 * Completes the address index of every environment, as each environment's next sync would. For an
 * environment that has no sync (integration off, no periodic run) this is the only way its
 * users' addresses become findable by a password reset. `force` reads environments marked
 * complete too: entries are still written only where missing.
 */
export async function completeEmailIndexes(
  deps: EmailIndexDeps,
  options: { force?: boolean } = {},
): Promise<EmailIndexReport> {
  let environments = 0;
  let completed = 0;
  let entriesWritten = 0;
  for await (const environment of deps.environments.list()) {
    environments++;
    const written = await deps.users.completeEmailIndex(environment.id, options);
    if (written === undefined) continue;
    completed++;
    entriesWritten += written;
    deps.log(`${environment.id}: ${written} address index entries written`);
  }
  return { environments, completed, entriesWritten };
}
