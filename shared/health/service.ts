import type { StorageAccount } from '../storage/account.js';

export interface HealthService {
  /** The app is healthy when its storage answers within a few seconds. */
  check(timeoutMs?: number): Promise<{ status: 'ok' }>;
}

export function createHealth(deps: { storage: Pick<StorageAccount, 'ping'> }): HealthService {
  return {
    async check(timeoutMs = 5_000) {
      await deps.storage.ping(AbortSignal.timeout(timeoutMs));
      return { status: 'ok' };
    },
  };
}
