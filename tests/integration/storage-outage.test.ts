import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildServices } from '../../shared/app/services.js';
import { StorageAccount } from '../../shared/storage/account.js';
import { startLocalHost, type LocalHost } from '../../scripts/local-host/local-host.js';
import { accountConnectionString } from '../../scripts/azurite.js';
import { testAccountName, testPorts, useTestEnvironment } from '../support/storage.js';
import { fixtureEvents } from '../fixtures/functions/events.js';
import { startStorageProxy, type StorageProxy } from './storage-proxy.js';

/**
 * The host started while storage refuses every connection: it listens, its health says 503, and
 * when storage is back it says 200 and the queue listener delivers what was queued, with no restart.
 */
const queueName = `outage-${randomUUID().slice(0, 8)}`;
let proxy: StorageProxy;
let host: LocalHost;
let storage: StorageAccount;

function accountAt(ports: { tablePort: number; queuePort: number }): StorageAccount {
  return new StorageAccount({
    kind: 'connection-string',
    connectionString: accountConnectionString(testAccountName(), ports),
  });
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  const config = useTestEnvironment();
  proxy = await startStorageProxy(inject('azurite'));
  proxy.mode = 'reset';
  storage = new StorageAccount({
    kind: 'connection-string',
    connectionString: accountConnectionString(testAccountName(), proxy),
  });
  // The fixture functions give a queue trigger; health is the app's own function.
  const fixtures = path.resolve('tests/fixtures/functions');
  await import('../../functions/health.js');
  host = await startLocalHost({
    port: 0,
    functionsDir: fixtures,
    services: buildServices(config, testPorts({ storage })),
    env: { FIXTURE_QUEUE: queueName, FIXTURE_SCHEDULE: '0 0 0 1 1 *' },
    queueSettings: { visibilityTimeoutMs: 0, maxPollingIntervalMs: 300 },
    log: () => {},
  });
});

afterAll(async () => {
  await host?.stop();
  await proxy?.stop();
});

describe('storage unreachable at start, then back', () => {
  it('building the services makes no storage call', async () => {
    const own = await startStorageProxy(inject('azurite'));
    try {
      buildServices(useTestEnvironment(), testPorts({ storage: accountAt(own) }));
      await new Promise((r) => setTimeout(r, 300));
      expect(own.connections).toBe(0);
    } finally {
      await own.stop();
    }
  });

  it('serves health 503 while down and 200 once back; queued work then runs', async () => {
    const down = await fetch(`${host.url}/api/health`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ type: '/problems/storage-unavailable', status: 503 });

    proxy.mode = '503';
    expect((await fetch(`${host.url}/api/health`)).status).toBe(503);

    proxy.mode = 'pass';
    const id = randomUUID();
    const direct = new StorageAccount({
      kind: 'connection-string',
      connectionString: accountConnectionString(testAccountName(), inject('azurite')),
    });
    const queue = await direct.queue(queueName);
    await queue.sendMessage(Buffer.from(JSON.stringify({ id })).toString('base64'));

    await waitFor(
      async () => ((await fetch(`${host.url}/api/health`)).status === 200 ? true : undefined),
      15_000,
    );
    const event = await waitFor(
      () =>
        Promise.resolve(
          fixtureEvents().find((e) => e.fn === 'fixtureQueue' && (e.input as { id?: string }).id === id),
        ),
      15_000,
    );
    expect(event.dequeueCount).toBe(1);
  }, 40_000);
});
