import { inject } from 'vitest';
import { freePort } from '../../scripts/azurite.js';
import { spawnHostProcess, untilHealthy, type HostProcess } from '../../scripts/local-host/host-process.js';
import { devDirectorySettings } from './dev-directory.js';
import { testConnectionString } from './storage.js';

export { HOST_SCRIPT, untilHost, type HostProcess } from '../../scripts/local-host/host-process.js';

const running = new Set<HostProcess>();

/**
 * Starts `npm run host` with the local host forced (no Core Tools), in Development, with exactly
 * `env` over this process's environment (which carries the dev directory's CA). Nothing is awaited:
 * the process may be meant to refuse to start.
 */
export function spawnHost(env: Record<string, string>): HostProcess {
  const host = spawnHostProcess({
    ...process.env,
    USE_LOCAL_HOST: '1',
    AZURE_FUNCTIONS_ENVIRONMENT: 'Development',
    ...env,
  });
  running.add(host);
  void host.exited.then(() => running.delete(host));
  return host;
}

/** Kills every host process a test file started and is still running (for `afterAll`). */
export async function stopHostProcesses(): Promise<void> {
  await Promise.all([...running].map((host) => host.stop('SIGKILL')));
}

/**
 * The settings of a host process on this worker's test account and dev directory: management
 * tokens from the dev directory, its hosts allowed, and a schedule that never fires on its own
 * (tests fire the timer through the admin endpoint).
 */
export async function hostProcessSettings(secretsKey: string): Promise<Record<string, string>> {
  return {
    ...devDirectorySettings(),
    PORT: String(await freePort()),
    AzureWebJobsStorage: testConnectionString(),
    SECRETS_KEY: secretsKey,
    DIRECTORY_HOSTS: new URL(inject('devDirectory').origin).host,
    SYNC_SCHEDULE: '0 0 0 1 1 *',
  };
}

/** Starts a host process with `settings` and waits until its health answers 200. */
export async function startHostProcess(
  settings: Record<string, string>,
  timeoutMs = 30_000,
): Promise<HostProcess> {
  const host = spawnHost(settings);
  await untilHealthy(host, timeoutMs);
  return host;
}
