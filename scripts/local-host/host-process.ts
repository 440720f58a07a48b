import { spawn, type ChildProcess } from 'node:child_process';

/** The compiled local host (`npm run host`); `npm run build:dev` makes it. */
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

/**
 * Starts the compiled local host with exactly `env` (PORT included, default 7071). Nothing is
 * awaited: the process may be meant to refuse to start.
 */
export function spawnHostProcess(env: NodeJS.ProcessEnv): HostProcess {
  const child = spawn(process.execPath, [HOST_SCRIPT], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    url: `http://127.0.0.1:${env.PORT ?? '7071'}`,
    output: () => chunks.join(''),
    exited,
    async stop(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
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

/** Waits until the host's health answers 200. */
export async function untilHealthy(host: HostProcess, timeoutMs = 30_000): Promise<void> {
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
}
