/**
 * `npm start`: the whole local stack on embedded defaults — Azurite, the dev directory (Entra ID +
 * Graph stand-in, seeded with the demo tenant), the mail sink, and the function app as a child
 * process (`npm run host`'s script, compiled beside this one) that trusts the dev CA. Ctrl-C / SIGTERM stops everything.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { extraCaCertsWith } from '../devdir/ca.js';
import {
  ensureDevCa,
  startDevDirectory,
  type DevDirectory,
  type DirectoryInfo,
  type DirectorySeed,
} from '../devdir/index.js';
import { startMailSink, type MailSink } from '../devdir/mail-sink.js';
import { startAzurite, waitForPort, type AzuriteHandle } from './azurite.js';
import { buildServices, defaultPorts, type Services } from '../shared/app/services.js';
import { loadConfig } from '../shared/config.js';
import type { SyncRun } from '../shared/sync/runs.js';
import { seedDemo } from './demo-seed.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const STATE = path.join(root, '.dev');
const SEED = path.join(root, 'devdir', 'seed', 'demo.json');
const DEV_DIRECTORY_PORT = 7443;
const MAIL_PORT = 2525;
const AZURITE_PORTS = { blob: 10000, queue: 10001, table: 10002 };
/** The group of the demo tenant that the demo environment syncs. */
const DEMO_GROUP_NAME = 'BizzStream Users';

export interface DemoContext {
  /** The demo tenant as the dev directory serves it (ids, application id + secret, authority). */
  readonly directory: DirectoryInfo;
  /** Ids of the groups the demo environment should sync. */
  readonly groupsToSync: readonly string[];
  /** The app's origin, e.g. http://localhost:7071. */
  readonly appUrl: string;
  readonly devDirectory: DevDirectory;
  /** The app's services as the function app builds them, over the same settings and storage. */
  readonly services: Services;
}

/**
 * Tenant "demo" and environment "demo" (integration on, syncing the demo group), created through
 * the same services as the management API, so the demo is validated and audited like real data.
 * Runs before the function app starts; running it again converges to the same state.
 */
async function seedDemoEnvironment(context: DemoContext): Promise<{ loginUrl: string }> {
  const app = context.directory.applications[0];
  if (app === undefined) throw new Error('The demo directory has no application registration');
  await seedDemo(context.services, {
    directoryId: context.directory.id,
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    authorityHost: context.directory.authorityHost,
    graphBaseUrl: context.directory.graphBaseUrl,
    groupsToSync: context.groupsToSync,
  });
  return { loginUrl: `${context.appUrl}/api/auth/login?environment=demo&returnTo=/console/session` };
}

/**
 * The sign-in redirect URIs of this app's public origin, whatever port it runs on: the demo
 * application's callback (external users) and the console's (staff, at the management issuer).
 */
async function registerRedirectUris(context: DemoContext): Promise<void> {
  const app = context.directory.applications[0];
  if (app !== undefined) {
    const callback = `${context.appUrl}/api/auth/callback`;
    await context.devDirectory.admin.updateApplication(context.directory.id, app.clientId, {
      redirectUris: [...new Set([...app.redirectUris, callback])],
    });
  }
  await context.devDirectory.admin.registerManagementClient({
    clientId: context.services.config.console.clientId,
    redirectUris: [`${context.appUrl}/console/`],
  });
}

/** The demo environment's first sync, so that the printed login works at once. */
async function syncDemoOnce({ sync }: Services): Promise<() => Promise<SyncRun | undefined>> {
  const queued = await sync
    .requestSync({
      environmentId: 'demo',
      trigger: 'manual',
      requestedBy: 'npm-start',
      confirmDeactivations: false,
    })
    .catch((error: unknown) => {
      // A run left queued by an earlier start is as good: the app works it off.
      console.error('The demo sync was not queued:', error instanceof Error ? error.message : error);
      return undefined;
    });
  return async () => {
    if (queued === undefined) return undefined;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const run = await sync.getSyncRun('demo', queued.runId);
      if (!['queued', 'running'].includes(run.status) || Date.now() > deadline) return run;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  };
}

function line(label: string, value: string): string {
  return `  ${label.padEnd(18)}${value}`;
}

type SeedDirectory = DirectorySeed['directories'][number];

function accountLine(
  user: NonNullable<SeedDirectory['users']>[number],
  groups: NonNullable<SeedDirectory['groups']>,
): string {
  const memberOf = groups
    .filter((g) => user.id !== undefined && (g.members ?? []).includes(user.id))
    .map((g) => g.displayName);
  const notes = [
    user.accountEnabled === false ? 'disabled' : undefined,
    user.userPrincipalName?.includes('#EXT#') === true
      ? `guest; sign in as ${user.otherMails?.[0] ?? ''}`
      : undefined,
    memberOf.length > 0 ? `in ${memberOf.join(', ')}` : undefined,
  ].filter((n): n is string => n !== undefined);
  return `    ${(user.userPrincipalName ?? '').padEnd(58)} ${(user.password ?? '').padEnd(16)} ${user.displayName}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`;
}

function banner(
  seed: DirectorySeed,
  directory: DirectoryInfo,
  devDirectory: DevDirectory,
  mail: MailSink,
  appUrl: string,
  loginUrl: string | undefined,
  demoRun: SyncRun | undefined,
): string {
  const spec = seed.directories.find((d) => d.id === directory.id);
  const groups = spec?.groups ?? [];
  const accounts = (spec?.users ?? []).map((user) => accountLine(user, groups));
  const app = directory.applications[0];
  return [
    '',
    'BizzStream External Users — local stack',
    line('App', `${appUrl}   (health: ${appUrl}/api/health)`),
    line('Console', `${appUrl}/console/   (staff: pick a role on the dev directory's sign-in page)`),
    line('', `the browser must trust ${devDirectory.origin}: open it once and accept, or trust the CA below`),
    line(
      'Login',
      loginUrl ?? `${appUrl}/api/auth/login?environment=demo   (once the demo environment is seeded)`,
    ),
    line(
      'Demo sync',
      demoRun === undefined
        ? 'not run (see the messages above)'
        : `${demoRun.status}${demoRun.error === undefined ? '' : `: ${demoRun.error.message}`}`,
    ),
    line(
      'Dev directory',
      `${devDirectory.origin}   (Entra ID + Microsoft Graph stand-in; CA ${path.relative(root, devDirectory.caCertPath)})`,
    ),
    line('Demo tenant', `${directory.displayName}: directoryId ${directory.id}`),
    line('', `authorityHost = graphBaseUrl = ${directory.authorityHost}`),
    line('', `clientId ${app?.clientId ?? '-'}  clientSecret ${app?.clientSecret ?? '-'}`),
    line('Demo groups', groups.map((g) => `${g.displayName} ${g.id ?? ''}`).join('; ')),
    '  Demo accounts (user / password):',
    ...accounts,
    line('Mail sink', `${mail.url} → ${path.relative(root, mail.dir)}/*.eml`),
    line(
      'Management token',
      'npm run -s token -- --role platform-operator   (or partner, or environment-admin --environments demo)',
    ),
    line(
      'Azurite',
      `blob ${AZURITE_PORTS.blob}, queue ${AZURITE_PORTS.queue}, table ${AZURITE_PORTS.table} (${path.relative(root, path.join(STATE, 'azurite'))})`,
    ),
    '  Ctrl-C stops everything.',
    '',
  ].join('\n');
}

/** Stops the function app, then every started server in reverse order, once, on a signal or a failure. */
interface Shutdown {
  onStop(stop: () => Promise<void>): void;
  watch(child: ChildProcess): void;
  stopping(): boolean;
  stopAll(code: number): Promise<never>;
}

function createShutdown(): Shutdown {
  const stoppers: (() => Promise<void>)[] = [];
  const running: { child?: ChildProcess } = {};
  let stopping = false;
  const stopAll = async (code: number): Promise<never> => {
    if (!stopping) {
      stopping = true;
      process.stdout.write('Stopping the local stack…\n');
      const { child } = running;
      if (child !== undefined && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timeout = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timeout);
      }
      for (const stop of stoppers.reverse()) {
        await stop().catch((error: unknown) => console.error('stop failed', error));
      }
    }
    process.exit(code);
  };
  process.once('SIGINT', () => void stopAll(0));
  process.once('SIGTERM', () => void stopAll(0));
  return {
    onStop: (stop) => stoppers.push(stop),
    watch: (child) => {
      running.child = child;
    },
    stopping: () => stopping,
    stopAll,
  };
}

async function startServers(
  seed: DirectorySeed,
  devStateDir: string,
  shutdown: Shutdown,
): Promise<[DevDirectory, MailSink]> {
  let azurite: AzuriteHandle;
  let devDirectory: DevDirectory;
  let mail: MailSink;
  try {
    [azurite, devDirectory, mail] = await Promise.all([
      startAzurite({ ports: AZURITE_PORTS, location: path.join(STATE, 'azurite') }),
      startDevDirectory({ port: DEV_DIRECTORY_PORT, stateDir: devStateDir, seed }),
      startMailSink({ port: MAIL_PORT, dir: path.join(STATE, 'mail') }),
    ]);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    console.error(
      code === 'EADDRINUSE'
        ? `A port is in use (${String((error as { port?: number }).port ?? '')}): is another \`npm start\` running?`
        : 'Start-up failed:',
      error instanceof Error ? error.message : error,
    );
    return shutdown.stopAll(1);
  }
  shutdown.onStop(() => azurite.stop());
  shutdown.onStop(() => devDirectory.stop());
  shutdown.onStop(() => mail.stop());
  return [devDirectory, mail];
}

function spawnHost(extraCaCerts: string, shutdown: Shutdown): void {
  const child = spawn(process.execPath, [fileURLToPath(new URL('host.js', import.meta.url))], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: extraCaCerts },
  });
  shutdown.watch(child);
  child.once('exit', (code, signal) => {
    if (shutdown.stopping()) return;
    console.error(`The function app stopped (${signal ?? `exit code ${code ?? 0}`}); stopping the stack.`);
    void shutdown.stopAll(code ?? 1);
  });
}

async function main(): Promise<void> {
  const devStateDir = path.join(STATE, 'devdir');
  const { caCertPath } = await ensureDevCa(devStateDir);
  const extraCaCerts = await extraCaCertsWith(
    caCertPath,
    process.env.NODE_EXTRA_CA_CERTS,
    path.join(STATE, 'extra-ca-certs.pem'),
  );
  const seed = JSON.parse(await readFile(SEED, 'utf8')) as DirectorySeed;

  const shutdown = createShutdown();
  const [devDirectory, mail] = await startServers(seed, devStateDir, shutdown);

  const demoId = seed.directories[0]?.id;
  if (demoId === undefined) throw new Error(`${SEED} holds no directory`);
  const directory = await devDirectory.admin.getDirectory(demoId);
  const groupsToSync = (seed.directories[0]?.groups ?? [])
    .filter((g) => g.displayName === DEMO_GROUP_NAME && g.id !== undefined)
    .map((g) => g.id ?? '');
  // The app's public origin follows PORT unless set: its redirect URIs must name this port.
  const appUrl = (process.env.PUBLIC_BASE_URL ?? `http://localhost:${process.env.PORT ?? '7071'}`).replace(
    /\/+$/,
    '',
  );
  process.env.PUBLIC_BASE_URL = appUrl;
  const config = loadConfig(process.env, { localStateDir: STATE });
  const services = buildServices(config, defaultPorts(config));
  const context = { directory, groupsToSync, appUrl, devDirectory, services };
  await registerRedirectUris(context);
  const seeded = await seedDemoEnvironment(context);
  const demoSynced = await syncDemoOnce(services);

  spawnHost(extraCaCerts, shutdown);

  const appPort = Number(process.env.PORT ?? '7071');
  await waitForPort(appPort, 120_000).catch(() =>
    console.error(`The function app is not listening on ${appPort} yet; its output above says why.`),
  );
  const demoRun = await demoSynced().catch((error: unknown) => {
    console.error('The demo sync could not be read:', error instanceof Error ? error.message : error);
    return undefined;
  });
  if (!shutdown.stopping()) {
    process.stdout.write(banner(seed, directory, devDirectory, mail, appUrl, seeded?.loginUrl, demoRun));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
