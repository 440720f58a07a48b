/**
 * `npm run backfill-email-index [-- --force]`: completes the password reset's address index of
 * every environment in the storage account that `AzureWebJobsStorage` names (environment variables
 * only: local.settings.json is not read, so the account is always named on purpose). Each
 * environment's next sync does the same by itself; this is for environments that are not synced,
 * or to have it done now.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import { createEnvironmentsRepository } from '../shared/environments/repository.js';
import { isAppError } from '../shared/errors.js';
import { StorageAccount } from '../shared/storage/account.js';
import { createUsersRepository } from '../shared/users/repository.js';
import { completeEmailIndexes } from './maintenance/email-index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { force: { type: 'boolean' } } });
  const config = loadConfig(process.env, { localStateDir: path.join(root, '.dev') });
  const storage = new StorageAccount(config.storage);
  const report = await completeEmailIndexes(
    {
      environments: createEnvironmentsRepository({ storage, clock: systemClock }),
      users: createUsersRepository(storage),
      log: (line) => process.stdout.write(`${line}\n`),
    },
    { force: values.force === true },
  );
  process.stdout.write(
    `${report.environments} environments, ${report.completed} completed now, ` +
      `${report.entriesWritten} entries written.\n`,
  );
}

main().catch((error: unknown) => {
  if (isAppError(error, 'config-invalid')) process.stderr.write(`Cannot run: ${error.message}\n`);
  else process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
