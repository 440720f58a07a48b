import { createHash } from 'node:crypto';
import { ConfidentialClientApplication } from '@azure/msal-node';
import { AppError } from '../errors.js';

/** What a directory reader needs to know of a tenant (a subset of MGMT's TenantConnection). */
export interface DirectoryConnection {
  readonly directoryId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly authorityHost: string;
  readonly graphBaseUrl: string;
}

/** Microsoft's own authority hosts: msal-node knows them and may run its instance discovery. */
const MICROSOFT_AUTHORITY_HOSTS = new Set([
  'login.microsoftonline.com',
  'login.microsoftonline.us',
  'login.chinacloudapi.cn',
  'login.partner.microsoftonline.cn',
  'login.microsoft.com',
  'login.windows.net',
  'login.sovcloud-identity.fr',
  'login.sovcloud-identity.de',
  'login.sovcloud-identity.sg',
]);

/**
 * One msal application per (directory, client, secret, hosts), kept for the life of the process so
 * that its token cache serves every run until the token nears expiry (msal renews it 5 minutes
 * early). The key holds a hash of the secret, never the secret.
 */
const applications = new Map<string, ConfidentialClientApplication>();

function applicationKey(connection: DirectoryConnection): string {
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

function applicationFor(connection: DirectoryConnection): ConfidentialClientApplication {
  const key = applicationKey(connection);
  let application = applications.get(key);
  if (!application) {
    const authorityHost = new URL(connection.authorityHost);
    const authority = `${authorityHost.origin}/${connection.directoryId}`;
    application = new ConfidentialClientApplication({
      auth: {
        clientId: connection.clientId,
        clientSecret: connection.clientSecret,
        authority,
        // Without this msal asks Microsoft's instance discovery about any other host, which a
        // sovereign cloud or a test directory does not need and cannot always reach.
        ...(MICROSOFT_AUTHORITY_HOSTS.has(authorityHost.hostname)
          ? {}
          : { knownAuthorities: [authorityHost.host] }),
      },
    });
    applications.set(key, application);
  }
  return application;
}

/** An app-only Graph token for the tenant (client credentials, scope `{graphBaseUrl}/.default`). */
export async function acquireGraphToken(connection: DirectoryConnection): Promise<string> {
  const scope = `${new URL(connection.graphBaseUrl).origin}/.default`;
  let result;
  try {
    result = await applicationFor(connection).acquireTokenByClientCredential({ scopes: [scope] });
  } catch (error) {
    throw new AppError('directory-auth-failed', 'No token could be obtained from the directory.', {
      cause: error,
    });
  }
  if (!result?.accessToken) {
    throw new AppError('directory-auth-failed', 'The directory issued no access token.');
  }
  return result.accessToken;
}

/** Tests that rotate a tenant's secret or restart a directory start from a clean cache. */
export function forgetTokenCaches(): void {
  applications.clear();
}
