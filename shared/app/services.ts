import type { JWTVerifyGetKey } from 'jose';
import { createAuditTrail, type AuditTrail } from '../audit/trail.js';
import { createManagementAuth, type ManagementAuth } from '../auth/management.js';
import { createSessionStore } from '../auth/session-store.js';
import { createSessions, type SessionsService } from '../auth/sessions.js';
import { createSignin, type SigninService } from '../auth/signin.js';
import { createTransactionStore } from '../auth/signin-transactions.js';
import { systemClock, type Clock } from '../clock.js';
import type { Config } from '../config.js';
import { createEnvironmentsRepository } from '../environments/repository.js';
import { createEnvironmentsService, type EnvironmentsService } from '../environments/service.js';
import { createHealth, type HealthService } from '../health/service.js';
import { createSmtpMailer, type Mailer } from '../mail/mailer.js';
import { createPasswordReset, type PasswordResetService } from '../password-reset/service.js';
import { createMailLimiter } from '../password-reset/rate-limit.js';
import { StorageAccount } from '../storage/account.js';
import { createOidcClient } from '../auth/oidc/client.js';
import { createDirectoryOpener } from '../directory/reader.js';
import { createTokenSource } from '../directory/token.js';
import { guardTenantHosts } from '../tenants/hosts.js';
import { createSyncService, type SyncService } from '../sync/service.js';
import { createThrottle } from '../throttle/limiter.js';
import { createTenantsRepository } from '../tenants/repository.js';
import { createTenantsService, type TenantsService } from '../tenants/service.js';
import { createUsersRepository, type UsersRepository } from '../users/repository.js';
import { createUsersService, type UsersService } from '../users/service.js';
import { createRunNotifications, type RunNotifications } from '../notifications/service.js';
import { createRunFollowUp } from '../sync/follow-up.js';
import { CHECK_DEADLINE_MS, createTenantCheck, type TenantCheck } from '../tenants/check.js';
import { createGroupNames } from '../tenants/group-names.js';
import { createTenantHealth } from '../tenants/health.js';
import type { DirectoryLimits } from '../directory/http.js';

/** Outbound HTTP, as the OIDC and directory adapters call it. */
export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

/** What the services need from the world: time, state, the network, mail. */
export interface Ports {
  readonly clock: Clock;
  readonly storage: StorageAccount;
  readonly fetch: Fetch;
  readonly mailer: Mailer;
  /** Verifies management tokens against these keys instead of fetching MANAGEMENT_JWKS_URI. */
  readonly managementKeys?: JWTVerifyGetKey | undefined;
}

/** Every service of the app, built once per process (or per test) by `buildServices`. */
export interface Services {
  readonly config: Config;
  readonly clock: Clock;
  readonly storage: StorageAccount;
  readonly audit: AuditTrail;
  readonly tenants: TenantsService;
  readonly environments: EnvironmentsService;
  readonly management: ManagementAuth;
  readonly sessions: SessionsService;
  readonly signin: SigninService;
  readonly passwordReset: PasswordResetService;
  readonly health: HealthService;
  readonly sync: SyncService;
  readonly users: UsersService;
  readonly tenantCheck: TenantCheck;
  readonly notifications: RunNotifications;
}

/** The real world: system time, the configured storage account, global fetch, SMTP. */
export function defaultPorts(config: Config): Ports {
  return {
    clock: systemClock,
    storage: new StorageAccount(config.storage),
    fetch: (input, init) => fetch(input, init),
    mailer: createSmtpMailer(config),
  };
}

/** Time limits the services keep; tests shorten them to reach a deadline in seconds. */
export interface Limits {
  /** How long a connection check may wait for the directory. */
  readonly checkDeadlineMs: number;
}

export const DEFAULT_LIMITS: Limits = Object.freeze({ checkDeadlineMs: CHECK_DEADLINE_MS });

/** A connection check has someone waiting: short requests, few retries, all within its minute. */
const CHECK_DIRECTORY_LIMITS: Partial<DirectoryLimits> = Object.freeze({
  requestTimeoutMs: 10_000,
  maxRetries: 2,
  giveUpAfterMs: 30_000,
  maxDelayMs: 5_000,
});

/** The users of an environment as sessions, sign-in and password reset see them. */
function usersPort(repository: UsersRepository) {
  return {
    getAccess: (environmentId: string, userId: string) =>
      repository.getEnvironmentUser(environmentId, userId),
    findByIdentity: (directoryId: string, objectId: string) =>
      repository.findUserByIdentity(directoryId, objectId),
    findActiveByEmail: (environmentId: string, email: string) =>
      repository.findActiveUsersByEmail(environmentId, email),
  };
}

/**
 * The composition root: each service gets its ports and the other services it depends on. Long only
 * as wiring: one constructor call per service, kept together so every dependency is visible at once.
 */
export function buildServices(config: Config, ports: Ports, limits: Limits = DEFAULT_LIMITS): Services {
  const { clock, storage } = ports;
  const audit = createAuditTrail({ storage, clock });
  const tenantsRepository = createTenantsRepository({ storage, clock, secretsKeys: config.secretsKeys });
  const environmentsRepository = createEnvironmentsRepository({ storage, clock });
  const users = usersPort(createUsersRepository(storage));
  const transactions = createTransactionStore(storage);
  const throttle = createThrottle({ storage, clock });
  // One token source per process: tokens are reused across runs and checks of the same tenant.
  const tokens = createTokenSource();
  const sessions = createSessions({ store: createSessionStore(storage), transactions, users, clock });
  const health = createTenantHealth(storage);
  const groupNames = createGroupNames(storage);
  const notifications = createRunNotifications({
    storage,
    environments: environmentsRepository,
    mailer: ports.mailer,
    publicBaseUrl: config.publicBaseUrl,
  });
  const sync = createSyncService({
    storage,
    clock,
    environments: environmentsRepository,
    tenants: tenantsRepository,
    // Stored tenants are held to today's host policy before anything is sent to their hosts.
    openDirectory: guardTenantHosts(
      createDirectoryOpener({ fetch: ports.fetch, clock, tokens }),
      config.directoryHosts,
    ),
    // Sessions die with access: a run's deactivations end those users' sessions in the environment.
    onAccessDeactivated: (environmentId, userIds) => sessions.revokeUsers(environmentId, userIds),
    groupNames,
    onRunFinished: createRunFollowUp({ health, notifications, clock }),
    periodicSchedule: config.syncSchedule,
  });
  return Object.freeze({
    config,
    clock,
    storage,
    audit,
    tenants: createTenantsService({
      tenants: tenantsRepository,
      environments: environmentsRepository,
      audit,
      health,
      directoryHosts: config.directoryHosts,
    }),
    environments: createEnvironmentsService({
      environments: environmentsRepository,
      tenants: tenantsRepository,
      audit,
      latestRun: (environmentId) => sync.getLatestRun(environmentId),
      groupNames: async (tenantName) => {
        const tenant = await tenantsRepository.get(tenantName);
        return tenant ? groupNames.read(tenant.directoryId) : new Map<string, string>();
      },
    }),
    management: createManagementAuth({
      settings: config.management,
      clock,
      keys: ports.managementKeys,
      fetch: ports.fetch,
    }),
    sessions,
    signin: createSignin({
      environments: environmentsRepository,
      tenants: tenantsRepository,
      users,
      sessions,
      transactions,
      redirectUri: config.redirectUri,
      clock,
      oidc: createOidcClient({ fetch: ports.fetch, clock }),
      directoryHosts: config.directoryHosts,
      throttle,
    }),
    passwordReset: createPasswordReset({
      storage,
      clock,
      environments: environmentsRepository,
      users,
      mailer: ports.mailer,
      limiter: createMailLimiter(storage),
      throttle,
    }),
    health: createHealth({ storage }),
    sync,
    users: createUsersService({ storage, environments: environmentsRepository }),
    tenantCheck: createTenantCheck({
      tenants: tenantsRepository,
      environments: environmentsRepository,
      openDirectory: guardTenantHosts(
        createDirectoryOpener({ fetch: ports.fetch, clock, tokens, limits: CHECK_DIRECTORY_LIMITS }),
        config.directoryHosts,
      ),
      health,
      groupNames,
      clock,
      deadlineMs: limits.checkDeadlineMs,
    }),
    notifications,
  });
}
