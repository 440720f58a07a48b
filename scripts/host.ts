/**
 * `npm run host`: the function app alone, configured by environment variables over
 * local.settings.json. Uses Azure Functions Core Tools (`func start`) where it is installed,
 * otherwise the project's local host, which serves the same routes and runs the same triggers, on
 * loopback unless `HOST` names another interface.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildServices, defaultPorts } from '../shared/app/services.js';
import { loadConfig } from '../shared/config.js';
import { isAppError } from '../shared/errors.js';
import { startLocalHost } from './local-host/local-host.js';
import { localHostEnv } from './local-host/settings.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** local.settings.json `Values` fill in what the environment does not set, as Core Tools does. */
function applyLocalSettings(): void {
  const file = path.join(root, 'local.settings.json');
  if (!existsSync(file)) return;
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { Values?: Record<string, unknown> };
  for (const [name, value] of Object.entries(parsed.Values ?? {})) {
    if (process.env[name] === undefined && typeof value === 'string') process.env[name] = value;
  }
}

function hasCoreTools(): boolean {
  if (process.env.USE_LOCAL_HOST === '1') return false;
  return spawnSync('func', ['--version'], { stdio: 'ignore' }).status === 0;
}

async function main(): Promise<void> {
  applyLocalSettings();
  let config;
  try {
    config = loadConfig(process.env, { localStateDir: path.join(root, '.dev') });
  } catch (error) {
    if (isAppError(error, 'config-invalid')) {
      process.stderr.write(`Cannot start: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }

  if (hasCoreTools()) {
    const env = config.mode === 'local' ? localHostEnv(process.env) : process.env;
    const child = spawn('func', ['start', '--port', String(config.port)], {
      cwd: root,
      stdio: 'inherit',
      env,
    });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (code) => process.exit(code ?? 0));
    return;
  }

  const host = await startLocalHost({
    port: config.port,
    // The functions compiled beside this script (not dist/): one build, so the functions and the
    // host share one copy of each shared module.
    functionsDir: fileURLToPath(new URL('../functions', import.meta.url)),
    services: buildServices(config, defaultPorts(config)),
    hostJsonPath: path.join(root, 'host.json'),
  });
  process.stdout.write(
    `Function app (local host) listening on ${host.url}\n` +
      host.registrations
        .map((r) =>
          r.kind === 'http'
            ? `  ${r.name}: [${(r.options.methods ?? ['GET', 'POST']).join(',')}] ${host.url}/${r.options.route ?? r.name}`
            : `  ${r.name}: ${r.kind}`,
        )
        .join('\n') +
      '\n',
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    host.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`Stopping failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

await main();
