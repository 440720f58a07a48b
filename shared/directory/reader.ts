import type { GraphRequest } from '@microsoft/microsoft-graph-client';
import type { Clock } from '../clock.js';
import { AppError, isAppError } from '../errors.js';
import { emailOf, type DirectoryUser } from '../sync/planner.js';
import type { DirectorySubject } from './errors.js';
import { createGraphClient, getJson } from './graph-client.js';
import { isOnOrigin } from './hosts.js';
import {
  createDirectoryHttp,
  type DirectoryHttp,
  type DirectoryLimits,
  type Fetch,
  type Sleep,
} from './http.js';
import type { DirectoryConnection, TokenSource } from './token.js';

export { parseRetryAfter } from './http.js';

/**
 * Reads exactly what the sync may read from Microsoft Graph: a group, and its transitive user
 * members page by page. Every failure leaves as a directory AppError; nothing reads as an empty
 * group.
 */
export interface DirectoryReader {
  /** Obtains (or reuses) the app-only token: whether the tenant's credentials are accepted. */
  acquireToken(): Promise<void>;
  readGroup(groupId: string): Promise<{ id: string; displayName: string }>;
  /** The group's transitive user members, one Graph page at a time. */
  listGroupUsers(groupId: string): AsyncIterable<DirectoryUser[]>;
}

export const USER_SELECT =
  'id,displayName,givenName,surname,mail,otherMails,userPrincipalName,accountEnabled';
export const PAGE_SIZE = 999;

export interface DirectoryDeps {
  readonly fetch: Fetch;
  readonly clock: Clock;
  /** Shared by every reader of the process, so tokens are reused across runs. */
  readonly tokens: TokenSource;
  readonly sleep?: Sleep;
  readonly limits?: Partial<DirectoryLimits>;
}

interface RawUser {
  '@odata.type'?: unknown;
  id?: unknown;
  displayName?: unknown;
  mail?: unknown;
  otherMails?: unknown;
  userPrincipalName?: unknown;
  accountEnabled?: unknown;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function optionalString(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** Maps one Graph user; anything that is not a user is skipped, a user without an id is malformed. */
export function fromGraphUser(raw: RawUser): DirectoryUser | undefined {
  const type = raw['@odata.type'];
  if (typeof type === 'string' && type !== '#microsoft.graph.user') return undefined;
  if (typeof raw.id !== 'string' || !GUID.test(raw.id)) {
    throw new AppError('directory-malformed-answer', 'The directory listed a user without a valid id.');
  }
  const otherMails = Array.isArray(raw.otherMails)
    ? raw.otherMails.filter((m): m is string => typeof m === 'string')
    : [];
  return {
    objectId: raw.id.toLowerCase(),
    displayName: typeof raw.displayName === 'string' ? raw.displayName : '',
    email: emailOf({
      mail: optionalString(raw.mail),
      otherMails,
      userPrincipalName: optionalString(raw.userPrincipalName),
    }),
    // Absent means Graph did not say it is disabled; $select asks for it, so it is present.
    accountEnabled: raw.accountEnabled !== false,
  };
}

function subjectOf(connection: DirectoryConnection): DirectorySubject {
  return { name: connection.name, directoryId: connection.directoryId, clientId: connection.clientId };
}

/** The tenant's two origins: its sign-in host and its Graph host. Nothing else is ever contacted. */
export function tenantOrigins(connection: DirectoryConnection): string[] {
  return [new URL(connection.authorityHost).origin, new URL(connection.graphBaseUrl).origin];
}

/** A Graph refusal, by status: what the partner has to fix. */
function graphFailure(http: DirectoryHttp, status: number, groupId: string): AppError {
  switch (status) {
    case 404:
      return http.fail({ code: 'group-not-found', groupId });
    case 403:
      return http.fail({ code: 'directory-permission-missing' });
    case 401:
      return http.fail({ code: 'directory-credentials-invalid' });
    default:
      return status >= 500
        ? http.fail({ code: 'directory-unreachable', status })
        : http.fail({
            code: 'directory-malformed-answer',
            problem: `Microsoft Graph refused a request (HTTP ${status})`,
          });
  }
}

/**
 * A reader for one run: its requests go through the Graph SDK, whose chain ends in one
 * DirectoryHttp (timeouts, retries, the give-up budget) shared with the token requests, and stay
 * on the tenant's own origins.
 * Long only as a factory: its body is the short functions below, closed over the deps.
 */
export function createDirectoryReader(connection: DirectoryConnection, deps: DirectoryDeps): DirectoryReader {
  const graphOrigin = new URL(connection.graphBaseUrl).origin;
  const http = createDirectoryHttp(subjectOf(connection), tenantOrigins(connection), deps);
  const client = createGraphClient(connection.graphBaseUrl, http, () =>
    deps.tokens.acquire(connection, http),
  );
  const malformed = (problem: string, cause?: unknown): AppError =>
    http.fail({ code: 'directory-malformed-answer', problem }, cause);

  async function get(request: GraphRequest, groupId: string): Promise<unknown> {
    const outcome = await getJson(request, http);
    if (!outcome.ok) throw graphFailure(http, outcome.status, groupId);
    return outcome.body;
  }

  function usersOf(value: unknown[]): DirectoryUser[] {
    const users: DirectoryUser[] = [];
    for (const raw of value) {
      if (typeof raw !== 'object' || raw === null) throw malformed('a member that is not an object');
      try {
        const user = fromGraphUser(raw);
        if (user) users.push(user);
      } catch (error) {
        if (isAppError(error, 'directory-malformed-answer'))
          throw malformed('a user without a valid id', error);
        throw error;
      }
    }
    return users;
  }

  /** The link to follow, checked before it is requested, so a foreign link is never followed. */
  function checkedNextLink(page: { '@odata.nextLink'?: unknown }, seen: Set<string>): string | undefined {
    const link = page['@odata.nextLink'];
    if (link === undefined || link === null || link === '') return undefined;
    if (typeof link !== 'string') throw malformed('a next page link that is not a string');
    if (!URL.canParse(link) || !isOnOrigin(link, graphOrigin)) {
      throw malformed('a next page link to a host other than its Graph URL');
    }
    // Canonical, so that the SDK (which splits a link by its text) sees `https://host/...` exactly.
    const next = new URL(link).href;
    if (seen.has(next)) throw malformed('a next page link that repeats');
    return next;
  }

  /**
   * One page, mapped. The answer as parsed (~1 MB of objects for 999 users) lives only in this
   * call: held by the page loop across the next request, while other reads allocate, it would
   * outlive young-generation collections and be promoted, and the old generation grow by a page each
   * time.
   */
  async function readPage(
    request: GraphRequest,
    groupId: string,
    seen: Set<string>,
  ): Promise<{ users: DirectoryUser[]; next: string | undefined }> {
    const page = (await get(request, groupId)) as { value?: unknown; '@odata.nextLink'?: unknown } | null;
    if (!page || !Array.isArray(page.value)) throw malformed('an answer without a member list');
    const users = usersOf(page.value as unknown[]);
    const next = checkedNextLink(page, seen);
    if (next !== undefined) seen.add(next);
    return { users, next };
  }

  return {
    async acquireToken() {
      await deps.tokens.acquire(connection, http);
    },

    async readGroup(groupId) {
      const request = client.api(`/groups/${encodeURIComponent(groupId)}`).select(['id', 'displayName']);
      const group = (await get(request, groupId)) as { id?: unknown; displayName?: unknown } | null;
      if (typeof group?.id !== 'string') throw malformed('an answer that is not a group');
      return { id: group.id, displayName: typeof group.displayName === 'string' ? group.displayName : '' };
    },

    async *listGroupUsers(groupId) {
      const path = `/groups/${encodeURIComponent(groupId)}/transitiveMembers/microsoft.graph.user`;
      let request: GraphRequest | undefined = client.api(path).select(USER_SELECT.split(',')).top(PAGE_SIZE);
      // A directory that links back to a page already read would page for ever.
      const seen = new Set([
        new URL(`${graphOrigin}/v1.0${path}?$select=${USER_SELECT}&$top=${PAGE_SIZE}`).href,
      ]);
      let pages = 0;
      while (request !== undefined) {
        pages += 1;
        if (pages > http.limits.maxPages) {
          throw malformed(`more than ${http.limits.maxPages} pages of members`);
        }
        const { users, next } = await readPage(request, groupId, seen);
        request = next === undefined ? undefined : client.api(next);
        yield users;
      }
    },
  };
}

/** `openDirectory` for the sync and the connection check: one reader per run, deps shared. */
export function createDirectoryOpener(
  deps: DirectoryDeps,
): (connection: DirectoryConnection) => DirectoryReader {
  return (connection) => createDirectoryReader(connection, deps);
}
