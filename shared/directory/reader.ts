import { setTimeout as delay } from 'node:timers/promises';
import { Client, GraphError, type Middleware } from '@microsoft/microsoft-graph-client';
import type { Context } from '@microsoft/microsoft-graph-client';
import { AuthenticationHandler, HTTPMessageHandler } from '@microsoft/microsoft-graph-client';
import { AppError, type ErrorCode } from '../errors.js';
import { emailOf, type DirectoryUser } from '../sync/planner.js';
import { acquireGraphToken, type DirectoryConnection } from './token.js';

/**
 * Reads exactly what the sync needs from Microsoft Graph, and nothing else: a group, and its transitive user
 * members page by page. Every failure leaves as a typed AppError (directory-*); nothing reads as an
 * empty group.
 */
export interface DirectoryReader {
  readGroup(groupId: string): Promise<{ id: string; displayName: string }>;
  /** The group's transitive user members, one Graph page at a time. */
  listGroupUsers(groupId: string): AsyncIterable<DirectoryUser[]>;
}

export const USER_SELECT =
  'id,displayName,givenName,surname,mail,otherMails,userPrincipalName,accountEnabled';
export const PAGE_SIZE = 999;

export interface RetryPolicy {
  /** Retries of one request (at most 5). */
  readonly maxRetries: number;
  /** A directory failing for longer than this (since its last success) is given up. */
  readonly giveUpAfterMs: number;
  /** First backoff without Retry-After; doubled each retry. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxRetries: 5,
  giveUpAfterMs: 5 * 60_000,
  baseDelayMs: 1_000,
  maxDelayMs: 60_000,
});

export interface ReaderOptions {
  readonly retry?: RetryPolicy;
  /** Injected for tests: how to wait and what time it is. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  /** Obtains the bearer token (default: msal client credentials). */
  readonly getToken?: () => Promise<string>;
}

const RETRYABLE = new Set([429, 503, 504]);

/** `Retry-After` as seconds (possibly fractional) or an HTTP date; undefined when absent or bad. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  // Only an HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`); Date.parse also reads `-1` as a year.
  if (!/^[A-Za-z]{3}, /.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/**
 * Retries 429/503/504 below the auth handler, so a retried request keeps its token. It tracks how
 * long the directory has been failing across requests of the same reader (one run).
 */
class RetryMiddleware implements Middleware {
  private next: Middleware | undefined;
  private failingSince: number | undefined;

  constructor(
    private readonly policy: RetryPolicy,
    private readonly sleep: (ms: number) => Promise<void>,
    private readonly now: () => number,
  ) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      await this.next!.execute(context);
      const response = context.response;
      if (!response || !RETRYABLE.has(response.status)) {
        if (response?.ok) this.failingSince = undefined;
        return;
      }
      const now = this.now();
      this.failingSince ??= now;
      if (attempt >= this.policy.maxRetries) return;
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'), now);
      const backoff = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** attempt);
      const wait = retryAfter ?? backoff;
      if (now + wait - this.failingSince > this.policy.giveUpAfterMs) return;
      // The body of a response we will not read must be released before retrying.
      await response.body?.cancel();
      await this.sleep(wait);
    }
  }
}

function errorCodeFor(status: number): ErrorCode {
  switch (status) {
    case 401:
      return 'directory-auth-failed';
    case 403:
      return 'directory-forbidden';
    case 404:
      return 'directory-group-not-found';
    case 429:
      return 'directory-throttled';
    default:
      return status >= 500 ? 'directory-unavailable' : 'directory-malformed';
  }
}

function toDirectoryError(error: unknown, what: string): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof GraphError && error.statusCode > 0) {
    const code = errorCodeFor(error.statusCode);
    return new AppError(code, `${what}: the directory answered ${error.statusCode}.`, { cause: error });
  }
  if (error instanceof SyntaxError) {
    return new AppError('directory-malformed', `${what}: the directory's answer is not JSON.`, {
      cause: error,
    });
  }
  return new AppError('directory-unavailable', `${what}: the directory could not be reached.`, {
    cause: error,
  });
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
    throw new AppError('directory-malformed', 'The directory listed a user without a valid id.');
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

export function createDirectoryReader(
  connection: DirectoryConnection,
  options: ReaderOptions = {},
): DirectoryReader {
  const graphBase = new URL(connection.graphBaseUrl);
  const baseUrl = graphBase.href.replace(/\/+$/, '');
  const retry = new RetryMiddleware(
    options.retry ?? DEFAULT_RETRY_POLICY,
    options.sleep ?? ((ms) => delay(ms)),
    options.now ?? (() => Date.now()),
  );
  const getToken = options.getToken ?? (() => acquireGraphToken(connection));
  // The Graph client rewraps whatever the token provider throws; keep the typed error to rethrow it.
  let tokenError: AppError | undefined;
  const auth = new AuthenticationHandler({
    getAccessToken: async () => {
      try {
        const token = await getToken();
        tokenError = undefined;
        return token;
      } catch (error) {
        tokenError =
          error instanceof AppError
            ? error
            : new AppError('directory-auth-failed', 'No token could be obtained from the directory.', {
                cause: error,
              });
        throw tokenError;
      }
    },
  });
  const fail = (error: unknown, what: string): AppError => tokenError ?? toDirectoryError(error, what);
  const http = new HTTPMessageHandler();
  auth.setNext(retry);
  retry.setNext(http);
  const client = Client.initWithMiddleware({
    baseUrl,
    defaultVersion: 'v1.0',
    middleware: auth,
    // The client attaches tokens only to hosts it knows: Microsoft's, and these.
    customHosts: new Set([graphBase.hostname]),
  });

  return {
    async readGroup(groupId) {
      const what = `Group ${groupId}`;
      let body: unknown;
      try {
        body = await client
          .api(`/groups/${encodeURIComponent(groupId)}`)
          .select(['id', 'displayName'])
          .get();
      } catch (error) {
        throw fail(error, what);
      }
      const group = body as { id?: unknown; displayName?: unknown } | null;
      if (typeof group?.id !== 'string') {
        throw new AppError('directory-malformed', `${what}: the directory's answer is not a group.`);
      }
      return { id: group.id, displayName: typeof group.displayName === 'string' ? group.displayName : '' };
    },

    async *listGroupUsers(groupId) {
      const what = `Members of group ${groupId}`;
      let next: string | undefined =
        `/groups/${encodeURIComponent(groupId)}/transitiveMembers/microsoft.graph.user?$select=${USER_SELECT}&$top=${PAGE_SIZE}`;
      while (next !== undefined) {
        let body: unknown;
        try {
          body = await client.api(next).get();
        } catch (error) {
          throw fail(error, what);
        }
        const page = body as { value?: unknown; '@odata.nextLink'?: unknown } | null;
        if (!page || !Array.isArray(page.value)) {
          throw new AppError('directory-malformed', `${what}: the directory's answer has no member list.`);
        }
        const users: DirectoryUser[] = [];
        for (const raw of page.value as RawUser[]) {
          if (typeof raw !== 'object' || raw === null) {
            throw new AppError(
              'directory-malformed',
              `${what}: the directory listed something that is not an object.`,
            );
          }
          const user = fromGraphUser(raw);
          if (user) users.push(user);
        }
        const link = page['@odata.nextLink'];
        if (link !== undefined && link !== null && typeof link !== 'string') {
          throw new AppError('directory-malformed', `${what}: the next page link is not a string.`);
        }
        next = typeof link === 'string' && link !== '' ? link : undefined;
        yield users;
      }
    },
  };
}
