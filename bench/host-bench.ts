/**
 * One benchmark size (BENCH_N) measured as an operator would measure the function app: the local
 * host started as its own process (`dist-dev/scripts/host.js`, every function registered, the queue
 * listener running the worker), configured through the management API, a sync requested over HTTP
 * and its run polled until it ends. The host's RSS is read from /proc while it idles after start and
 * during each run: the process an operator sizes an instance for, where bench/sync-bench.ts
 * measures the sync alone. Started by bench/run.ts (BENCH_HOST=1); prints `RESULT` lines.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { createAdminClient } from '../devdir/client.js';
import type { DevDirectoryAdmin } from '../devdir/admin.js';
import type { ManagementRole } from '../devdir/types.js';
import { accountConnectionString, freePort } from '../scripts/azurite.js';
import { spawnHostProcess, untilHealthy } from '../scripts/local-host/host-process.js';
import { seedBenchDirectory, tenantLink, type SeededDirectory } from './bench-directory.js';

const KIB_PER_MIB = 1024;
/** An initial sync of 100,000 takes a minute or two here; a run still going after this is stuck. */
const RUN_TIMEOUT_MS = 20 * 60_000;

/** A field of /proc/<pid>/status in MiB (VmRSS now, VmHWM the peak since the last reset). */
function statusMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return Math.round(Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0) / KIB_PER_MIB);
}

/** Resets the process's peak RSS (VmHWM) to its current RSS, so a scenario's peak is its own. */
function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** The host's RSS sampled every 50 ms while `work` runs: its own peak, and VmHWM's. */
async function measured<T>(pid: number, work: () => Promise<T>): Promise<{ value: T; peakRssMiB: number }> {
  resetPeak(pid);
  let peak = statusMiB(pid, 'VmRSS');
  const timer = setInterval(() => (peak = Math.max(peak, statusMiB(pid, 'VmRSS'))), 50);
  try {
    const value = await work();
    return { value, peakRssMiB: Math.max(peak, statusMiB(pid, 'VmHWM')) };
  } finally {
    clearInterval(timer);
  }
}

type Api = (method: string, route: string, token: string, body?: unknown) => Promise<Record<string, unknown>>;

function apiOf(url: string): Api {
  return async (method, route, token, body) => {
    const response = await fetch(`${url}/api/${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`${method} ${route} answered ${response.status}: ${text}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  };
}

function token(admin: DevDirectoryAdmin, role: ManagementRole, environments?: string[]): Promise<string> {
  return admin.issueManagementToken({
    sub: `bench-${role}`,
    roles: [role],
    ...(environments ? { environments } : {}),
  });
}

/** The host's settings: this run's storage account and dev directory, the timer silent. */
function hostSettings(origin: string): NodeJS.ProcessEnv {
  const ports = {
    tablePort: Number(process.env.BENCH_TABLE_PORT),
    queuePort: Number(process.env.BENCH_QUEUE_PORT),
  };
  return {
    ...process.env,
    USE_LOCAL_HOST: '1',
    AZURE_FUNCTIONS_ENVIRONMENT: 'Development',
    AzureWebJobsStorage: accountConnectionString(process.env.BENCH_ACCOUNT ?? 'worker8', ports),
    SECRETS_KEY: 'YmVuY2gtb25seS1zZWNyZXRzLWtleS0zMi1ieXRlcyE=',
    MANAGEMENT_ISSUER: `${origin}/management`,
    MANAGEMENT_JWKS_URI: `${origin}/management/keys`,
    MANAGEMENT_AUDIENCE: 'api://bizzstream-external-users',
    DIRECTORY_HOSTS: new URL(origin).host,
    // The runs measured are the ones requested here, not the timer's.
    SYNC_SCHEDULE: '0 0 0 1 1 *',
  };
}

/** Tenant, environment and settings, as a partner, an operator and an environment admin set them. */
async function configure(
  api: Api,
  admin: DevDirectoryAdmin,
  n: number,
  { directory, groups }: SeededDirectory,
): Promise<{ environmentId: string; environmentAdmin: string }> {
  const environmentId = `host-bench-${n}`;
  await api(
    'PUT',
    `tenants/host-bench-${n}`,
    await token(admin, 'partner'),
    tenantLink(directory, environmentId),
  );
  await api('PUT', `environments/${environmentId}`, await token(admin, 'platform-operator'), {
    name: environmentId,
    externalUsersIntegration: true,
  });
  const environmentAdmin = await token(admin, 'environment-admin', [environmentId]);
  await api('PUT', `environments/${environmentId}/external-users`, environmentAdmin, {
    tenant: `host-bench-${n}`,
    groupsToSync: [groups.a, groups.b, groups.c].join(','),
    defaultMenus: ['Home'],
    periodicSync: false,
    deactivationLimit: n,
  });
  return { environmentId, environmentAdmin };
}

function millisBetween(from: unknown, to: unknown): number | undefined {
  if (typeof from !== 'string' || typeof to !== 'string') return undefined;
  return Date.parse(to) - Date.parse(from);
}

/** Requests a manual run over HTTP and polls it until it has ended. */
async function syncOverHttp(
  api: Api,
  environmentId: string,
  bearer: string,
): Promise<Record<string, unknown>> {
  const { runId } = await api('POST', `environments/${environmentId}/sync`, bearer);
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  while (Date.now() < deadline) {
    await delay(100);
    const run = await api('GET', `environments/${environmentId}/sync-runs/${String(runId)}`, bearer);
    if (run.status !== 'queued' && run.status !== 'running') return run;
  }
  throw new Error(`run ${String(runId)} did not end within ${RUN_TIMEOUT_MS / 60_000} minutes`);
}

async function main(): Promise<void> {
  const n = Number(process.env.BENCH_N);
  const origin = process.env.BENCH_DEVDIR_ORIGIN!;
  const admin = createAdminClient(origin);
  const seeded = await seedBenchDirectory(admin, n);
  const host = spawnHostProcess({ ...hostSettings(origin), PORT: String(await freePort()) });
  try {
    await untilHealthy(host);
    const { pid } = host.child;
    if (pid === undefined) throw new Error('the host process has no pid');
    const api = apiOf(host.url);
    const { environmentId, environmentAdmin } = await configure(api, admin, n, seeded);
    // What the host weighs idle, configured, before its first run.
    await delay(2000);
    const idleRssMiB = statusMiB(pid, 'VmRSS');
    for (const scenario of ['initial', 'no-op']) {
      const started = performance.now();
      const { value: run, peakRssMiB } = await measured(pid, () =>
        syncOverHttp(api, environmentId, environmentAdmin),
      );
      const result = {
        n,
        scenario: `host: ${scenario}`,
        status: run.status,
        counts: run.counts,
        wallMs: Math.round(performance.now() - started),
        // The run's own record: how long its message waited for the worker, and how long it ran.
        queuedMs: millisBetween(run.queuedAt, run.startedAt),
        runMs: millisBetween(run.startedAt, run.finishedAt),
        idleRssMiB,
        peakRssMiB,
        afterRssMiB: statusMiB(pid, 'VmRSS'),
      };
      process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
    }
  } finally {
    await host.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
