import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startAzurite } from '../../scripts/azurite.js';
import { ensureDevCa, startDevDirectory } from '../../devdir/index.js';
import { extraCaCertsWith } from '../../devdir/ca.js';
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

/** Starts what every test tier needs, once per `npm test`: Azurite, the dev directory and the mail sink. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const workDir = await mkdtemp(path.join(tmpdir(), 'bizzstream-tests-'));
  const stateDir = path.join(workDir, 'devdir');
  const { caCertPath } = await ensureDevCa(stateDir);
  // Workers are forked after this setup and inherit the variable (read once, at their start). The
  // combined file is left behind on purpose: a process started late in teardown would warn otherwise.
  process.env.NODE_EXTRA_CA_CERTS = await extraCaCertsWith(
    caCertPath,
    process.env.NODE_EXTRA_CA_CERTS,
    path.join(tmpdir(), `bizzstream-tests-extra-ca-${process.pid}.pem`),
  );
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
    // The CA stays (a few KB): NODE_EXTRA_CA_CERTS may name it, and a process that starts while the
    // run winds down would warn about a missing file.
    await Promise.all(
      [path.join(workDir, 'mail'), path.join(stateDir, 'keys')].map((dir) =>
        rm(dir, { recursive: true, force: true }),
      ),
    );
  };
}
