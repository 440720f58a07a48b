import { getEnvironment } from '../environments/repository.js';
import { getConfig } from '../config.js';
import { getTenantConnection, type TenantConnection } from '../tenants/repository.js';
import { findUserByIdentity, getEnvironmentUser } from '../users/repository.js';
import { authorizationUrl } from './oidc/authorization.js';
import { getDiscovery, type DiscoveryDocument } from './oidc/discovery.js';
import { constantTimeEqual, verifyIdToken } from './oidc/id-token.js';
import { JwksCache } from './oidc/jwks.js';
import { CodeExchangeError, redeemCode } from './oidc/token-exchange.js';
import { sanitizeReturnTo } from './return-to.js';
import { createSession, type NewSession } from './sessions.js';
import { SigninError } from './signin-errors.js';
import { beginTransaction, consumeTransaction } from './signin-transactions.js';

/** One key cache per process: keys are per issuer, and rotation is followed on an unknown kid. */
const jwks = new JwksCache();

export interface StartedSignin {
  /** The directory's authorization URL, for the 302. */
  readonly location: string;
  /** Goes into the transaction cookie; binds the callback to this browser. */
  readonly transactionSecret: string;
  readonly transactionExpiresAt: Date;
}

async function discoveryFor(
  tenant: Pick<TenantConnection, 'authorityHost' | 'directoryId'>,
): Promise<DiscoveryDocument> {
  try {
    return await getDiscovery(tenant.authorityHost, tenant.directoryId);
  } catch (error) {
    throw new SigninError('directory-unreachable', { cause: error });
  }
}

/** The tenant an environment signs in with, or why it cannot. */
async function tenantOf(environmentId: string): Promise<TenantConnection> {
  const environment = await getEnvironment(environmentId);
  if (!environment) throw new SigninError('environment-unknown');
  if (!environment.externalUsersIntegration) throw new SigninError('integration-disabled');
  if (!environment.externalUsers) throw new SigninError('tenant-unconfigured');
  const tenant = await getTenantConnection(environment.externalUsers.tenant);
  // A tenant that no longer lists the environment may not sign anyone into it.
  if (!tenant?.environments.includes(environmentId)) throw new SigninError('tenant-unconfigured');
  return tenant;
}

/** GET /api/auth/login: the authorization request and its transaction. */
export async function startSignin(
  environmentId: string,
  returnTo: string | undefined,
  now: Date,
): Promise<StartedSignin> {
  const tenant = await tenantOf(environmentId);
  const discovery = await discoveryFor(tenant);
  const { cookieSecret, transaction } = await beginTransaction(
    {
      environmentId,
      tenant: tenant.name,
      directoryId: tenant.directoryId,
      clientId: tenant.clientId,
      returnTo: sanitizeReturnTo(returnTo),
    },
    now,
  );
  return {
    location: authorizationUrl({
      authorizationEndpoint: discovery.authorizationEndpoint,
      clientId: tenant.clientId,
      redirectUri: getConfig().redirectUri,
      secrets: transaction.secrets,
    }),
    transactionSecret: cookieSecret,
    transactionExpiresAt: transaction.expiresAt,
  };
}

export interface CallbackParameters {
  readonly transactionSecret: string | undefined;
  readonly state: string | undefined;
  readonly code: string | undefined;
  /** The directory's `error` parameter (e.g. `access_denied`). */
  readonly error: string | undefined;
}

export interface CompletedSignin {
  readonly environmentId: string;
  readonly userId: string;
  readonly returnTo: string;
  readonly session: NewSession;
}

/**
 * GET|POST /api/auth/callback: the transaction is taken (once), the code redeemed, the ID token
 * verified, the user found by (tid, oid) with active access, and only then a session created.
 */
export async function completeSignin(
  parameters: CallbackParameters,
  now: () => Date,
): Promise<CompletedSignin> {
  if (parameters.transactionSecret === undefined || parameters.transactionSecret === '') {
    throw new SigninError('transaction-cookie-missing');
  }
  // Taken before anything else is checked: whatever happens next, it cannot be replayed.
  const transaction = await consumeTransaction(parameters.transactionSecret, now());
  if (parameters.state === undefined || parameters.state === '') throw new SigninError('state-missing');
  if (!constantTimeEqual(parameters.state, transaction.secrets.state))
    throw new SigninError('state-mismatch');
  if (parameters.error !== undefined) throw new SigninError('identity-provider-error');
  if (parameters.code === undefined || parameters.code === '') throw new SigninError('code-missing');

  const tenant = await getTenantConnection(transaction.tenant);
  if (
    !tenant?.environments.includes(transaction.environmentId) ||
    tenant.directoryId !== transaction.directoryId ||
    tenant.clientId !== transaction.clientId
  ) {
    throw new SigninError('tenant-unconfigured');
  }
  const discovery = await discoveryFor(tenant);

  let idToken: string;
  try {
    idToken = await redeemCode({
      tokenEndpoint: discovery.tokenEndpoint,
      clientId: tenant.clientId,
      clientSecret: tenant.clientSecret,
      redirectUri: getConfig().redirectUri,
      code: parameters.code,
      codeVerifier: transaction.secrets.codeVerifier,
    });
  } catch (error) {
    if (error instanceof CodeExchangeError) throw new SigninError('code-exchange-failed', { cause: error });
    throw error;
  }

  const identity = await verifyIdToken(idToken, jwks.resolverFor(discovery.jwksUri), {
    issuer: discovery.issuer,
    clientId: tenant.clientId,
    directoryId: tenant.directoryId,
    nonce: transaction.secrets.nonce,
    now: now(),
  });

  const user = await findUserByIdentity(identity.directoryId, identity.objectId);
  if (!user) throw new SigninError('user-unknown');
  const access = await getEnvironmentUser(transaction.environmentId, user.id);
  if (!access) throw new SigninError('access-missing');
  if (!access.active) throw new SigninError('access-deactivated');

  const session = await createSession(transaction.environmentId, user.id, now());
  return {
    environmentId: transaction.environmentId,
    userId: user.id,
    returnTo: sanitizeReturnTo(transaction.returnTo),
    session,
  };
}
