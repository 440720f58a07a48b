/**
 * `npm run -s token -- --role platform-operator` prints a management bearer token issued by the
 * running dev directory (`npm start`). Other roles: `--role partner`, `--role environment-admin
 * --environments demo`; `--sub` names the caller (recorded as the actor).
 */
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createAdminClient, type AdminTransport } from '../devdir/client.js';
import type { ManagementRole } from '../devdir/types.js';
import { DEV_DIRECTORY_ORIGIN } from '../shared/config.js';

const ROLES: readonly ManagementRole[] = ['platform-operator', 'partner', 'environment-admin'];
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function usage(message: string): never {
  process.stderr.write(
    `${message}\n\nUsage: npm run -s token -- --role <${ROLES.join('|')}> [--environments id1,id2] [--sub name]\n` +
      `       [--expires-in seconds] [--origin ${DEV_DIRECTORY_ORIGIN}] [--ca .dev/devdir/ca/ca.pem]\n`,
  );
  process.exit(2);
}

/** Trusts the dev CA for this one request, whatever NODE_EXTRA_CA_CERTS says. */
function httpsTransport(ca: string): AdminTransport {
  return (url, body) =>
    new Promise((resolve, reject) => {
      const request = https.request(
        url,
        {
          method: 'POST',
          ca,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
          response.on('error', reject);
        },
      );
      request.on('error', reject);
      request.end(body);
    });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      role: { type: 'string', multiple: true },
      environments: { type: 'string' },
      sub: { type: 'string' },
      'expires-in': { type: 'string' },
      origin: { type: 'string' },
      ca: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) usage('Prints a management token from the dev directory.');
  const roles = (values.role ?? []).flatMap((r) => r.split(',')).map((r) => r.trim());
  if (roles.length === 0) usage('--role is required.');
  for (const role of roles) {
    if (!(ROLES as readonly string[]).includes(role)) usage(`Unknown role '${role}'.`);
  }
  const environments = values.environments
    ?.split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (roles.includes('environment-admin') && (environments === undefined || environments.length === 0)) {
    usage('--environments is required for environment-admin (e.g. --environments demo).');
  }
  const expiresIn = values['expires-in'] === undefined ? undefined : Number(values['expires-in']);
  if (expiresIn !== undefined && !Number.isInteger(expiresIn)) usage('--expires-in must be an integer.');
  const origin = (values.origin ?? process.env.DEV_DIRECTORY_ORIGIN ?? DEV_DIRECTORY_ORIGIN).replace(
    /\/$/,
    '',
  );
  const caPath = values.ca ?? path.join(root, '.dev', 'devdir', 'ca', 'ca.pem');
  let ca: string;
  try {
    ca = await readFile(caPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      usage(`No dev CA at ${caPath}: start the stack first (npm start).`);
    }
    throw error;
  }
  const admin = createAdminClient(origin, httpsTransport(ca));
  const token = await admin.issueManagementToken({
    sub: values.sub ?? `dev-${roles[0] ?? 'user'}`,
    roles: roles as ManagementRole[],
    ...(environments === undefined ? {} : { environments }),
    ...(expiresIn === undefined ? {} : { expiresInSeconds: expiresIn }),
  });
  process.stdout.write(`${token}\n`);
}

main().catch((error: unknown) => {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') {
    process.stderr.write('The dev directory is not running: start the stack with `npm start`.\n');
  } else {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  }
  process.exit(1);
});
