import path from 'node:path';
import { freePort } from '../../scripts/azurite.js';
import {
  startLocalHost,
  type LocalHost,
  type LocalHostOptions,
} from '../../scripts/local-host/local-host.js';
import { devDirectorySettings } from './dev-directory.js';
import { testServices, useManagementKeySource, useTestEnvironment } from './storage.js';

export interface TestHostOptions {
  /** Settings over the test environment's and the dev directory's (e.g. MAIL_FROM). */
  readonly settings?: Record<string, string>;
  /**
   * Choose the port before the services are built and make it PUBLIC_BASE_URL, for flows whose
   * redirect URI names the host (sign-in).
   */
  readonly publicBaseUrl?: boolean;
  /** Run queued messages with these settings over host.json's; queues are off without it. */
  readonly queues?: LocalHostOptions['queueSettings'];
  /** Where to find the functions (default: the app's own). */
  readonly functionsDir?: string;
  /** App settings the host itself reads (`%NAME%` references). */
  readonly env?: LocalHostOptions['env'];
  /** Timers on their schedule (default off: tests start them through the admin endpoint). */
  readonly timers?: boolean;
  /** Where the host's log lines go (default: nowhere). */
  readonly log?: (line: string) => void;
}

/**
 * The local host serving the functions over this worker's test environment: Azurite, the dev
 * directory as identity provider (management tokens checked against its published keys) and the
 * mail sink.
 */
export async function startTestHost(options: TestHostOptions = {}): Promise<LocalHost> {
  const port = options.publicBaseUrl ? await freePort() : 0;
  useTestEnvironment({
    ...devDirectorySettings(),
    ...(options.publicBaseUrl ? { PUBLIC_BASE_URL: `http://localhost:${port}` } : {}),
    ...options.settings,
  });
  useManagementKeySource(undefined);
  return startLocalHost({
    port,
    functionsDir: options.functionsDir ?? path.resolve('functions'),
    services: testServices(),
    timers: options.timers ?? false,
    queues: options.queues !== undefined,
    ...(options.queues === undefined ? {} : { queueSettings: options.queues }),
    ...(options.env === undefined ? {} : { env: options.env }),
    log: options.log ?? (() => undefined),
  });
}
