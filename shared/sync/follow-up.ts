import type { Clock } from '../clock.js';
import { DIRECTORY_ERROR_CODES } from '../directory/errors.js';
import type { RunNotifications } from '../notifications/service.js';
import type { HealthObservation, TenantHealth } from '../tenants/health.js';
import type { RunFinishedHandler } from './deps.js';
import type { StoredRun } from './runs.js';

/** Codes that say something about the tenant's connection, as opposed to the environment or storage. */
const TENANT_CODES: readonly string[] = [...DIRECTORY_ERROR_CODES, 'tenant-not-allowed'];

/**
 * Pure: what a finished run says about its tenant's health. A run that reached its directory (it
 * succeeded or halted) finds it ok; one that failed on the directory finds it failing; a dry run
 * says nothing, since it writes nothing but its own record.
 */
export function healthOfRun(run: StoredRun): HealthObservation | undefined {
  if (run.dryRun === true || run.tenant === undefined) return undefined;
  if (run.status === 'succeeded' || run.status === 'halted') return { ok: true };
  if (run.status === 'failed' && run.error && TENANT_CODES.includes(run.error.code)) {
    return { ok: false, code: run.error.code, message: run.error.message };
  }
  return undefined;
}

/** What follows a finished run: its tenant's health, then its failure mails. */
export function createRunFollowUp(deps: {
  readonly health: Pick<TenantHealth, 'record'>;
  readonly notifications: Pick<RunNotifications, 'afterRun'>;
  readonly clock: Clock;
}): RunFinishedHandler {
  return async (run) => {
    const observation = healthOfRun(run);
    const tenant = run.tenant;
    // Independent: trouble storing the health must not cost the mail, nor the other way round.
    const results = await Promise.allSettled([
      observation && tenant !== undefined
        ? deps.health.record(tenant, observation, deps.clock.now(), { whenChanged: true })
        : Promise.resolve(),
      deps.notifications.afterRun(run),
    ]);
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
  };
}
