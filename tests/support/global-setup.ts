import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startAzurite } from '../../scripts/azurite.js';
import { ensureDevCa, startDevDirectory } from '../../devdir/index.js';
import { startMailSink } from '../../devdir/mail-sink.js';

declare module 'vitest' {
  export interface ProvidedContext {
    azurite: { tablePort: number; queuePort: number };
    /** The dev directory (Entra ID + Graph stand-in) of this test run; admin at `${origin}/_admin`. */
    devDirectory: { origin: string; caCertPath: string };
    /** The SMTP mail sink of this test run: SMTP_URL is `smtp://localhost:${port}`; messages are `.eml` files in `dir`. */
    mailSink: { port: number; dir: string };
  }
}

/**
 * NODE_EXTRA_CA_CERTS names one file and is read once at process start, so the workers (forked
 * after this setup) get a file holding any CA already configured plus the dev CA.
 */
async function trustDevCa(caCertPath: string): Promise<string> {
  const existing = process.env.NODE_EXTRA_CA_CERTS;
  if (existing === undefined || existing === '' || path.resolve(existing) === path.resolve(caCertPath)) {
    process.env.NODE_EXTRA_CA_CERTS = caCertPath;
    return caCertPath;
  }
  // Kept after the run: a process started late in teardown would otherwise warn that the file is gone.
  const combined = path.join(tmpdir(), `bizzstream-tests-extra-ca-${process.pid}.pem`);
  const parts = [await readFile(existing, 'utf8'), await readFile(caCertPath, 'utf8')];
  await writeFile(combined, parts.map((p) => p.trim()).join('\n') + '\n');
  process.env.NODE_EXTRA_CA_CERTS = combined;
  return combined;
}

/** Starts what every test tier needs, once per `npm test`: Azurite, the dev directory and the mail sink. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const workDir = await mkdtemp(path.join(tmpdir(), 'bizzstream-tests-'));
  const stateDir = path.join(workDir, 'devdir');
  const { caCertPath } = await ensureDevCa(stateDir);
  await trustDevCa(caCertPath);
  const [azurite, devDirectory, mailSink] = await Promise.all([
    startAzurite(),
    startDevDirectory({ stateDir }),
    startMailSink({ dir: path.join(workDir, 'mail'), log: false }),
  ]);
  project.provide('azurite', { tablePort: azurite.tablePort, queuePort: azurite.queuePort });
  project.provide('devDirectory', { origin: devDirectory.origin, caCertPath });
  project.provide('mailSink', { port: mailSink.port, dir: mailSink.dir });
  return async () => {
    await Promise.all([azurite.stop(), devDirectory.stop(), mailSink.stop()]);
    await rm(workDir, { recursive: true, force: true });
  };
}
