import { checkDirectoryOrigin, type DirectoryHostKind } from '../directory/hosts.js';
import type { DirectoryReader } from '../directory/reader.js';
import type { DirectoryConnection } from '../directory/token.js';
import { AppError } from '../errors.js';

const FIELDS: readonly DirectoryHostKind[] = ['authorityHost', 'graphBaseUrl'];

/**
 * Pure: what is wrong with a tenant's directory origins under the host policy, by field; empty when
 * both may be used. Applied when a tenant is saved and again whenever a stored one is used, since
 * tenants saved before the policy (or before DIRECTORY_HOSTS lost an entry) may break it.
 */
export function tenantHostProblems(
  tenant: Pick<DirectoryConnection, DirectoryHostKind>,
  directoryHosts: readonly string[],
): Record<string, string> {
  const problems: Record<string, string> = {};
  for (const field of FIELDS) {
    const check = checkDirectoryOrigin(tenant[field], field, directoryHosts);
    if (!check.ok) problems[field] = check.message;
  }
  return problems;
}

/** The run error of a stored tenant whose hosts the policy refuses: nothing is sent there. */
export function refusedHostsError(
  tenant: Pick<DirectoryConnection, DirectoryHostKind | 'name'>,
  problems: Record<string, string>,
): AppError {
  const fields = Object.entries(problems)
    .map(([field, problem]) => `${field} ${problem}`)
    .join('; ');
  const who = tenant.name === undefined ? 'The tenant' : `Tenant "${tenant.name}"`;
  return new AppError(
    'directory-unreachable',
    `${who} names a directory host the service may not contact, so it was not contacted: ${fields}. Its owner must correct the tenant.`,
  );
}

/** A reader that fails every call with `error`, for a tenant that must not be contacted. */
function refusingReader(error: AppError): DirectoryReader {
  return {
    acquireToken: () => Promise.reject(error),
    readGroup: () => Promise.reject(error),
    listGroupUsers: () => ({
      [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }),
    }),
  };
}

/** `openDirectory` that checks the stored tenant's hosts before a reader may contact them. */
export function guardTenantHosts(
  open: (connection: DirectoryConnection) => DirectoryReader,
  directoryHosts: readonly string[],
): (connection: DirectoryConnection) => DirectoryReader {
  return (connection) => {
    const problems = tenantHostProblems(connection, directoryHosts);
    return Object.keys(problems).length === 0
      ? open(connection)
      : refusingReader(refusedHostsError(connection, problems));
  };
}
