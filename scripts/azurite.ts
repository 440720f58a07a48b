import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import path from 'node:path';

/** Accounts that Azurite serves besides devstoreaccount1: one per test worker, so workers never share queues. */
export const TEST_ACCOUNTS = Array.from({ length: 8 }, (_, i) => `worker${i + 1}`);
/** Any base64 works as an Azurite account key; this one is the documented development key. */
export const TEST_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteHandle {
  /** The Azurite process (benchmarks read its CPU time). */
  readonly pid: number | undefined;
  readonly tablePort: number;
  readonly queuePort: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`port ${port} did not open within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface StartAzuriteOptions {
  silent?: boolean;
  /** Fixed ports (npm start uses Azurite's usual 10000-10002); free ports otherwise. */
  ports?: { blob: number; queue: number; table: number };
  /** Folder for persistent data; in memory when absent. */
  location?: string;
}

/** Starts Azurite (Tables + Queues + Blobs) on free ports, in memory unless a location is given. */
export async function startAzurite(options: StartAzuriteOptions = {}): Promise<AzuriteHandle> {
  const blobPort = options.ports?.blob ?? (await freePort());
  const queuePort = options.ports?.queue ?? (await freePort());
  const tablePort = options.ports?.table ?? (await freePort());
  const bin = path.resolve('node_modules/azurite/dist/src/azurite.js');
  // Declaring accounts makes Azurite drop its default one; keep devstoreaccount1 so that
  // `UseDevelopmentStorage=true` still works beside the per-worker test accounts.
  const accounts = ['devstoreaccount1', ...TEST_ACCOUNTS]
    .map((name) => `${name}:${TEST_ACCOUNT_KEY}`)
    .join(';');
  const child: ChildProcess = spawn(
    process.execPath,
    [
      bin,
      ...(options.location === undefined ? ['--inMemoryPersistence'] : ['--location', options.location]),
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(blobPort),
      '--queueHost',
      '127.0.0.1',
      '--queuePort',
      String(queuePort),
      '--tableHost',
      '127.0.0.1',
      '--tablePort',
      String(tablePort),
      '--skipApiVersionCheck',
      '--disableProductStyleUrl',
      '--disableTelemetry',
      ...(options.silent === false ? [] : ['--silent']),
    ],
    { env: { ...process.env, AZURITE_ACCOUNTS: accounts }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const died = exited.then(() => {
    throw new Error('Azurite exited during start-up');
  });
  await Promise.race([Promise.all([waitForPort(queuePort, 30_000), waitForPort(tablePort, 30_000)]), died]);
  died.catch(() => undefined);
  return {
    pid: child.pid,
    tablePort,
    queuePort,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export function accountConnectionString(
  account: string,
  ports: { tablePort: number; queuePort: number },
): string {
  return [
    'DefaultEndpointsProtocol=http',
    `AccountName=${account}`,
    `AccountKey=${TEST_ACCOUNT_KEY}`,
    `TableEndpoint=http://127.0.0.1:${ports.tablePort}/${account}`,
    `QueueEndpoint=http://127.0.0.1:${ports.queuePort}/${account}`,
  ].join(';');
}
