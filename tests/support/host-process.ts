import { spawn, type ChildProcess } from 'node:child_process';
import { inject } from 'vitest';
import { freePort } from '../../scripts/azurite.js';
import { devDirectorySettings } from './dev-directory.js';
import { testConnectionString } from './storage.js';

/** The compiled local host (`npm run host`); `npm run build:dev` (the `pretest` script) makes it. */
export const HOST_SCRIPT = 'dist-dev/scripts/host.js';

/** A local host running as its own process, as an operator starts it. */
export interface HostProcess {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:<PORT>`, from the PORT it was given. */
  readonly url: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code once the process has ended. */
  readonly exited: Promise<number | null>;
  /** Sends `signal` and waits for the process to end. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const running = new Set<HostProcess>();

/**
 * Starts `npm run host` with the local host forced (no Core Tools), in Development, with exactly
 * `env` over this process's environment (which carries the dev directory's CA). Nothing is awaited:
 * the process may be meant to refuse to start.
 */
export function spawnHost(env: Record<string, string>): HostProcess {
  const child = spawn(process.execPath, [HOST_SCRIPT], {
    env: { ...process.env, USE_LOCAL_HOST: '1', AZURE_FUNCTIONS_ENVIRONMENT: 'Development', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const host: HostProcess = {
    child,
    url: `http://127.0.0.1:${env.PORT ?? '7071'}`,
    output: () => chunks.join(''),
    exited,
    async stop(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  running.add(host);
  void exited.then(() => running.delete(host));
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

/** Polls until `probe` returns a value; the failure shows what the host processes wrote. */
export async function untilHost<T>(
  hosts: readonly HostProcess[],
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const logs = hosts.map((h, i) => `--- host ${i + 1} ---\n${h.output()}`).join('\n');
      throw new Error(`timed out waiting for ${what}\n${logs}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Starts a host process with `settings` and waits until its health answers 200. */
export async function startHostProcess(
  settings: Record<string, string>,
  timeoutMs = 30_000,
): Promise<HostProcess> {
  const host = spawnHost(settings);
  await untilHost(
    [host],
    `${host.url}/api/health`,
    async () => {
      try {
        return (await fetch(`${host.url}/api/health`)).status === 200 ? true : undefined;
      } catch {
        // Not listening yet.
        return undefined;
      }
    },
    timeoutMs,
  );
  return host;
}
