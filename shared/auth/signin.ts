import type { Clock } from '../clock.js';
import type { EnvironmentRecord } from '../environments/repository.js';
import type { TenantConnection } from '../tenants/repository.js';
import { authorizationUrl } from './oidc/authorization.js';
import { checkDirectoryOrigin } from '../directory/hosts.js';
import { refusedHostsError } from '../tenants/hosts.js';
import { isEnvironmentId } from '../tenants/schemas.js';
import { THROTTLES, type Throttle } from '../throttle/limiter.js';
import type { OidcClient } from './oidc/client.js';
import type { DiscoveryDocument } from './oidc/discovery.js';
import { constantTimeEqual, verifyIdToken, type VerifiedIdentity } from './oidc/id-token.js';
import { CodeExchangeError, type CodeExchange } from './oidc/token-exchange.js';
import { sanitizeReturnTo } from './return-to.js';
import type { NewSession, SessionUsers, SessionsService } from './sessions.js';
import { SigninError } from './signin-errors.js';
import type { TransactionContext, TransactionStore } from './signin-transactions.js';

export interface StartedSignin {
  /** The directory's authorization URL, for the 302. */
  readonly location: string;
  /** Goes into the transaction cookie; binds the callback to this browser. */
  readonly transactionSecret: string;
  readonly transactionExpiresAt: Date;
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

export interface SigninService {
  /**
   * GET /api/auth/login: the authorization request and its transaction, once the request is
   * counted against its client address (when known) and its environment (AppError 'rate-limited').
   */
  start(environmentId: string, returnTo: string | undefined, clientAddress?: string): Promise<StartedSignin>;
  /**
   * GET|POST /api/auth/callback: the transaction is taken (once), the code redeemed, the ID token
   * verified, the user found by (tid, oid) with active access, and only then a session created.
   */
  complete(parameters: CallbackParameters): Promise<CompletedSignin>;
}

export interface SigninDeps {
  readonly environments: { get(id: string): Promise<EnvironmentRecord | undefined> };
  readonly tenants: { getConnection(name: string): Promise<TenantConnection | undefined> };
  readonly users: SessionUsers & {
    /** The user of an identity: sign-in finds users by (tid, oid), never by email. */
    findByIdentity(directoryId: string, objectId: string): Promise<{ readonly id: string } | undefined>;
  };
  readonly sessions: Pick<SessionsService, 'create'>;
  readonly transactions: Pick<TransactionStore, 'begin' | 'consume'>;
  readonly redirectUri: string;
  readonly clock: Clock;
  /** The tenant's directory: discovery, keys, token endpoint (one per process: it caches). */
  readonly oidc: OidcClient;
  /** DIRECTORY_HOSTS, normalised. */
  readonly directoryHosts: readonly string[];
  readonly throttle: Throttle;
}

function checkCallback(parameters: CallbackParameters, state: string): string {
  if (parameters.state === undefined || parameters.state === '') throw new SigninError('state-missing');
  if (!constantTimeEqual(parameters.state, state)) throw new SigninError('state-mismatch');
  if (parameters.error !== undefined) throw new SigninError('identity-provider-error');
  if (parameters.code === undefined || parameters.code === '') throw new SigninError('code-missing');
  return parameters.code;
}

// Long only as a factory: its body is the short functions below, closed over the deps.
export function createSignin(deps: SigninDeps): SigninService {
  const { oidc } = deps;

  async function discoveryFor(tenant: TenantConnection): Promise<DiscoveryDocument> {
    try {
      return await oidc.discovery(tenant);
    } catch (error) {
      throw new SigninError('directory-unreachable', { cause: error });
    }
  }

  async function redeem(exchange: CodeExchange, tenant: TenantConnection): Promise<string> {
    try {
      return await oidc.redeemCode(exchange, tenant);
    } catch (error) {
      if (error instanceof CodeExchangeError) throw new SigninError('code-exchange-failed', { cause: error });
      throw error;
    }
  }

  /**
   * A tenant stored before its hosts were held to the policy (or since removed from
   * DIRECTORY_HOSTS) is never contacted: no discovery, no secret sent.
   */
  function checkHosts(tenant: TenantConnection): TenantConnection {
    const authority = checkDirectoryOrigin(tenant.authorityHost, 'authorityHost', deps.directoryHosts);
    if (!authority.ok) {
      const refusal = refusedHostsError(tenant, { authorityHost: authority.message });
      throw new SigninError('directory-unreachable', { cause: refusal });
    }
    return tenant;
  }

  /** The tenant an environment signs in with, or why it cannot. */
  async function tenantOf(environmentId: string): Promise<TenantConnection> {
    const environment = await deps.environments.get(environmentId);
    if (!environment) throw new SigninError('environment-unknown');
    if (!environment.externalUsersIntegration) throw new SigninError('integration-disabled');
    if (!environment.externalUsers) throw new SigninError('tenant-unconfigured');
    const tenant = await deps.tenants.getConnection(environment.externalUsers.tenant);
    // A tenant that no longer lists the environment may not sign anyone into it.
    if (!tenant?.environments.includes(environmentId)) throw new SigninError('tenant-unconfigured');
    return checkHosts(tenant);
  }

  /** The tenant a transaction was started with, if it still allows exactly that sign-in. */
  async function tenantOfTransaction(transaction: TransactionContext): Promise<TenantConnection> {
    const tenant = await deps.tenants.getConnection(transaction.tenant);
    if (
      !tenant?.environments.includes(transaction.environmentId) ||
      tenant.directoryId !== transaction.directoryId ||
      tenant.clientId !== transaction.clientId
    ) {
      throw new SigninError('tenant-unconfigured');
    }
    return checkHosts(tenant);
  }

  async function userWithAccess(environmentId: string, identity: VerifiedIdentity): Promise<string> {
    const user = await deps.users.findByIdentity(identity.directoryId, identity.objectId);
    if (!user) throw new SigninError('user-unknown');
    const access = await deps.users.getAccess(environmentId, user.id);
    if (!access) throw new SigninError('access-missing');
    if (!access.active) throw new SigninError('access-deactivated');
    return user.id;
  }

  return {
    async start(environmentId, returnTo, clientAddress) {
      if (clientAddress !== undefined) await deps.throttle.take(THROTTLES.loginPerClient, clientAddress);
      // An id no environment can have is unknown without a read, and is no target to count.
      if (!isEnvironmentId(environmentId)) throw new SigninError('environment-unknown');
      await deps.throttle.take(THROTTLES.loginPerEnvironment, environmentId);
      const tenant = await tenantOf(environmentId);
      const discovery = await discoveryFor(tenant);
      const { cookieSecret, transaction } = await deps.transactions.begin(
        {
          environmentId,
          tenant: tenant.name,
          directoryId: tenant.directoryId,
          clientId: tenant.clientId,
          returnTo: sanitizeReturnTo(returnTo),
        },
        deps.clock.now(),
      );
      return {
        location: authorizationUrl({
          authorizationEndpoint: discovery.authorizationEndpoint,
          clientId: tenant.clientId,
          redirectUri: deps.redirectUri,
          secrets: transaction.secrets,
        }),
        transactionSecret: cookieSecret,
        transactionExpiresAt: transaction.expiresAt,
      };
    },

    async complete(parameters) {
      if (parameters.transactionSecret === undefined || parameters.transactionSecret === '') {
        throw new SigninError('transaction-cookie-missing');
      }
      // Taken before anything else is checked: whatever happens next, it cannot be replayed.
      const transaction = await deps.transactions.consume(parameters.transactionSecret, deps.clock.now());
      const code = checkCallback(parameters, transaction.secrets.state);
      const tenant = await tenantOfTransaction(transaction);
      const discovery = await discoveryFor(tenant);
      const idToken = await redeem(
        {
          tokenEndpoint: discovery.tokenEndpoint,
          clientId: tenant.clientId,
          clientSecret: tenant.clientSecret,
          redirectUri: deps.redirectUri,
          code,
          codeVerifier: transaction.secrets.codeVerifier,
        },
        tenant,
      );
      const identity = await verifyIdToken(idToken, oidc.keys(discovery), {
        issuer: discovery.issuer,
        clientId: tenant.clientId,
        directoryId: tenant.directoryId,
        nonce: transaction.secrets.nonce,
        now: deps.clock.now(),
      });
      const userId = await userWithAccess(transaction.environmentId, identity);
      const session = await deps.sessions.create(transaction.environmentId, userId);
      return {
        environmentId: transaction.environmentId,
        userId,
        returnTo: sanitizeReturnTo(transaction.returnTo),
        session,
      };
    },
  };
}
