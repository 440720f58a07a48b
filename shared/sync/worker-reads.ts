import type { UsersRepository } from '../users/repository.js';
import type { SyncDeps } from './deps.js';
import type { LeaseKeeper } from './lease-keeper.js';
import { identitiesNeeded, planSync, readListedUsers, type ListedUsers, type Plan } from './planner.js';
import { StoredAccess } from './stored-access.js';
import type { PhaseTimer } from './summary.js';
import type { Attempt, RunWrites, Source } from './worker-attempt.js';

export interface ReadSteps {
  readonly openSource: (attempt: Attempt) => Promise<Source | undefined>;
  readonly plan: (attempt: Attempt, source: Source, timer: PhaseTimer) => Promise<Plan>;
}

/**
 * An attempt's read phase: checks the run's source, then reads and plans without writing anything.
 * Long only as a factory: its body is the short functions below, closed over the deps.
 */
export function createReadSteps(
  deps: SyncDeps,
  users: UsersRepository,
  { finish }: Pick<RunWrites, 'finish'>,
): ReadSteps {
  /**
   * The environment's settings and tenant; the run fails when either is gone, or when the tenant no
   * longer lists the environment (docs/sync-rules.md, "The tenant must allow the environment").
   */
  async function openSource(attempt: Attempt): Promise<Source | undefined> {
    const environmentId = attempt.run.environment;
    const environment = await deps.environments.get(environmentId);
    const stored = environment?.externalUsersIntegration ? environment.externalUsers : undefined;
    // A dry run tries its proposed settings in place of the stored ones.
    const settings = stored && { ...stored, ...attempt.run.preview };
    if (!settings) {
      const message = 'The external users integration is off or not configured.';
      await finish(attempt, { status: 'failed', error: { code: 'integration-disabled', message } });
      return undefined;
    }
    const tenant = await deps.tenants.getConnection(settings.tenant);
    if (!tenant) {
      const message = `Tenant "${settings.tenant}" does not exist.`;
      await finish(attempt, { status: 'failed', error: { code: 'not-found', message } });
      return undefined;
    }
    if (!tenant.environments.includes(environmentId)) {
      const message = `Tenant "${settings.tenant}" no longer lists environment "${environmentId}"; add it to the tenant's environments.`;
      await finish(attempt, { status: 'failed', error: { code: 'tenant-not-allowed', message } });
      return undefined;
    }
    attempt.run = { ...attempt.run, tenant: settings.tenant };
    return {
      settings,
      directoryId: tenant.directoryId.toLowerCase(),
      reader: deps.openDirectory(tenant),
      groups: [],
    };
  }

  async function readDirectory(source: Source, lease: LeaseKeeper): Promise<ListedUsers> {
    return readListedUsers(
      source.reader,
      source.directoryId,
      source.settings.groupsToSync,
      () => Promise.resolve(lease.check()),
      (group) => source.groups.push(group),
    );
  }

  /** A dry run writes nothing but its bookkeeping: it leaves the address index to a real run. */
  async function readAccess(environmentId: string, dryRun: boolean): Promise<StoredAccess> {
    const access = new StoredAccess();
    await users.forEachAccessRow(environmentId, (record) => access.add(record), {
      completeEmailIndex: !dryRun,
    });
    return access;
  }

  /**
   * Reads everything before writing anything (docs/sync-rules.md, "Fail closed on directory
   * errors"): a directory error fails the run with nobody touched.
   */
  async function plan(attempt: Attempt, source: Source, timer: PhaseTimer): Promise<Plan> {
    const { run } = attempt;
    // Both are reads: the access rows come in while the directory pages. Both settle before
    // anything else happens, a failure of either included.
    const reads = [
      readDirectory(source, attempt.lease),
      readAccess(run.environment, run.preview !== undefined),
    ] as const;
    await Promise.allSettled(reads);
    const [listed, access] = await Promise.all(reads);
    timer.mark('readDirectoryAndAccessMs');
    const needed = identitiesNeeded(listed, access);
    const identities = await users.readIdentities(source.directoryId, needed);
    timer.mark('readIdentitiesMs');
    const result = planSync({
      directoryId: source.directoryId,
      settings: source.settings,
      confirmDeactivations: run.confirmDeactivations,
      listed,
      access,
      identities,
      now: deps.clock.now(),
    });
    // The plan holds what it needs; the maps of 100,000 users can go before the writes.
    listed.clear();
    access.clear();
    timer.mark('planMs');
    return result;
  }

  return { openSource, plan };
}
