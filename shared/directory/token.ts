import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import {
  ConfidentialClientApplication,
  type INetworkModule,
  type NetworkRequestOptions,
  type NetworkResponse,
} from '@azure/msal-node';
import { AppError } from '../errors.js';
import { fromEntraRefusal } from './errors.js';
import type { DirectoryHttp } from './http.js';

/** What a directory reader needs to know of a tenant (a subset of the tenant's stored connection). */
export interface DirectoryConnection {
  /** The tenant's name, for messages. */
  readonly name?: string;
  readonly directoryId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly authorityHost: string;
  readonly graphBaseUrl: string;
}

/** App-only Graph tokens (client credentials), cached per tenant connection until near expiry. */
export interface TokenSource {
  /** A token for `{graphBaseUrl}/.default`; every request goes through `http` (its hosts, limits, budget). */
  acquire(connection: DirectoryConnection, http: DirectoryHttp): Promise<string>;
}

/** The HTTP of the acquisition in progress, and the typed failure msal would otherwise rewrap. */
interface Acquisition {
  readonly http: DirectoryHttp;
  failure: AppError | undefined;
}

const MAX_APPLICATIONS = 1000;

function applicationKey(connection: DirectoryConnection): string {
  // A hash of the secret, never the secret, keys the cache.
  return createHash('sha256')
    .update(
      JSON.stringify([
        connection.directoryId,
        connection.clientId,
        connection.clientSecret,
        connection.authorityHost,
        connection.graphBaseUrl,
      ]),
    )
    .digest('hex');
}

function headerRecord(headers: Headers): Record<string, string> {
  const record: Record<string, string> = {};
  headers.forEach((value, name) => {
    record[name] = value;
  });
  return record;
}

/**
 * msal's network access, routed through the run's DirectoryHttp: msal calls it inside an
 * acquisition, whose context says which run's limits and budget apply. A refusal becomes the
 * directory error it means and is remembered, since msal wraps whatever its network client throws.
 */
function networkModule(current: AsyncLocalStorage<Acquisition>): INetworkModule {
  const send = async <T>(
    method: 'GET' | 'POST',
    url: string,
    options: NetworkRequestOptions | undefined,
  ): Promise<NetworkResponse<T>> => {
    const acquisition = current.getStore();
    if (acquisition === undefined) throw new Error('msal called its network outside an acquisition');
    const { http } = acquisition;
    try {
      const answer = await http.send({
        method,
        url,
        ...(options?.headers === undefined ? {} : { headers: options.headers }),
        ...(options?.body === undefined ? {} : { body: options.body }),
      });
      const body = http.json(answer);
      if (answer.status < 200 || answer.status >= 300) {
        throw http.fail(fromEntraRefusal(answer.status, body));
      }
      return { status: answer.status, headers: headerRecord(answer.headers), body: body as T };
    } catch (error) {
      if (error instanceof AppError) acquisition.failure ??= error;
      throw error;
    }
  };
  return {
    sendGetRequestAsync: (url, options) => send('GET', url, options),
    sendPostRequestAsync: (url, options) => send('POST', url, options),
  };
}

/**
 * One msal application per (directory, client, secret, hosts), kept while the token source lives
 * (the composition root keeps one per process), so its cache serves every run until the token
 * nears expiry.
 */
export function createTokenSource(): TokenSource {
  const current = new AsyncLocalStorage<Acquisition>();
  const applications = new Map<string, ConfidentialClientApplication>();

  function applicationFor(connection: DirectoryConnection): ConfidentialClientApplication {
    const key = applicationKey(connection);
    let application = applications.get(key);
    if (application === undefined) {
      const authorityHost = new URL(connection.authorityHost);
      application = new ConfidentialClientApplication({
        auth: {
          clientId: connection.clientId,
          clientSecret: connection.clientSecret,
          authority: `${authorityHost.origin}/${connection.directoryId}`,
          // Known, so msal asks no instance discovery service: only the tenant's host is contacted.
          knownAuthorities: [authorityHost.host],
        },
        system: { networkClient: networkModule(current) },
      });
      if (applications.size >= MAX_APPLICATIONS) {
        const oldest = applications.keys().next();
        if (oldest.done !== true) applications.delete(oldest.value);
      }
      applications.set(key, application);
    }
    return application;
  }

  return {
    async acquire(connection, http) {
      const scope = `${new URL(connection.graphBaseUrl).origin}/.default`;
      const acquisition: Acquisition = { http, failure: undefined };
      let result;
      try {
        result = await current.run(acquisition, () =>
          applicationFor(connection).acquireTokenByClientCredential({ scopes: [scope] }),
        );
      } catch (error) {
        throw (
          acquisition.failure ??
          http.fail(
            { code: 'directory-malformed-answer', problem: 'no token could be obtained from it' },
            error,
          )
        );
      }
      if (!result?.accessToken) {
        throw http.fail({ code: 'directory-malformed-answer', problem: 'it issued no access token' });
      }
      return result.accessToken;
    },
  };
}
