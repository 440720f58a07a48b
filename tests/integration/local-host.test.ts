import { randomUUID } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startLocalHost,
  type LocalHost,
  type LocalHostOptions,
} from '../../scripts/local-host/local-host.js';
import { startTestHost } from '../support/host.js';
import { uniqueId } from '../support/ids.js';
import { testServices } from '../support/storage.js';
import { until } from '../support/wait.js';
import { fixtureEvents } from '../fixtures/functions/events.js';

const queueName = uniqueId('fixture');
let host: LocalHost;
const logs: string[] = [];

function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  return until('the fixture functions', probe, { timeoutMs, intervalMs: 50 });
}

beforeAll(async () => {
  host = await startTestHost({
    functionsDir: path.resolve('tests/fixtures/functions'),
    env: { FIXTURE_QUEUE: queueName, FIXTURE_SCHEDULE: '0 0 0 1 1 *' },
    timers: true,
    queues: { visibilityTimeoutMs: 0, maxPollingIntervalMs: 200 },
    log: (line) => logs.push(line),
  });
});

afterAll(async () => {
  await host?.stop();
});

describe('local host: HTTP', () => {
  it('routes with template parameters, query, body and cookies', async () => {
    const response = await fetch(`${host.url}/api/things/42/extra?x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      method: 'POST',
      params: { id: '42', part: 'extra' },
      query: { x: '1' },
      body: '{"a":1}',
      contentType: 'application/json',
    });
    expect(response.headers.getSetCookie()).toEqual([
      '__Host-sample=v1; Max-Age=60; Path=/; HttpOnly; Secure; SameSite=Lax',
    ]);
  });

  it('serves optional parameters and prefers literals over parameters', async () => {
    expect(await (await fetch(`${host.url}/api/things/7`)).json()).toMatchObject({ params: { id: '7' } });
    expect(await (await fetch(`${host.url}/api/things/special`)).json()).toEqual({ literal: true });
  });

  it('falls through to the catch-all for unknown routes and methods', async () => {
    const unknown = await fetch(`${host.url}/api/no/such/route`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ unknown: 'no/such/route' });
    const wrongMethod = await fetch(`${host.url}/api/things/7`, { method: 'DELETE' });
    expect(await wrongMethod.json()).toEqual({ unknown: 'things/7' });
  });

  it('answers 404 outside the route prefix and 500 for an unhandled failure', async () => {
    expect((await fetch(`${host.url}/elsewhere`)).status).toBe(404);
    expect((await fetch(`${host.url}/api/boom`)).status).toBe(500);
    expect(logs.some((l) => /Executed 'Functions.throws' \(Failed/.test(l))).toBe(true);
  });
});

describe('local host: non-HTTP functions', () => {
  it('runs a timer now through POST /admin/functions/{name}', async () => {
    const before = fixtureEvents().filter((e) => e.fn === 'fixtureTimer').length;
    const response = await fetch(`${host.url}/admin/functions/fixtureTimer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"input": ""}',
    });
    expect(response.status).toBe(202);
    const event = await waitFor(() => fixtureEvents().filter((e) => e.fn === 'fixtureTimer')[before]);
    // Run by hand: a tick of its own, with no schedule status (scheduled ticks carry one).
    expect(event.input).toEqual({ isPastDue: false, schedule: { adjustForDST: true } });
    expect((await fetch(`${host.url}/admin/functions/nope`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${host.url}/admin/functions/echo`, { method: 'POST' })).status).toBe(404);
  });

  it('processes a queue message and deletes it', async () => {
    const queue = await testServices().storage.queue(queueName);
    const id = randomUUID();
    await queue.sendMessage(Buffer.from(JSON.stringify({ id })).toString('base64'));
    const event = await waitFor(() =>
      fixtureEvents().find((e) => e.fn === 'fixtureQueue' && (e.input as { id?: string }).id === id),
    );
    expect(event.dequeueCount).toBe(1);
    await waitFor(async () =>
      (await queue.getProperties()).approximateMessagesCount === 0 ? true : undefined,
    );
  });

  it('moves a message that fails 5 times to <queue>-poison', async () => {
    const queue = await testServices().storage.queue(queueName);
    const id = randomUUID();
    const text = Buffer.from(JSON.stringify({ id, fail: true })).toString('base64');
    await queue.sendMessage(text);
    const poison = await testServices().storage.queue(`${queueName}-poison`);
    const poisoned = await waitFor(async () => {
      const peeked = await poison.peekMessages({ numberOfMessages: 32 });
      return peeked.peekedMessageItems.find((m) => m.messageText === text);
    }, 20_000);
    expect(poisoned).toBeDefined();
    const attempts = fixtureEvents().filter(
      (e) => e.fn === 'fixtureQueue' && (e.input as { id?: string }).id === id,
    );
    expect(attempts.map((a) => a.dequeueCount)).toEqual([1, 2, 3, 4, 5]);
    // The host copies to the poison queue, then deletes the original.
    await waitFor(async () =>
      (await queue.getProperties()).approximateMessagesCount === 0 ? true : undefined,
    );
  });
});

/** A second host on the fixture functions, for one test: no timers, no queue polling. */
async function withHost<T>(
  options: Partial<LocalHostOptions>,
  use: (other: LocalHost) => Promise<T>,
): Promise<T> {
  const other = await startLocalHost({
    port: 0,
    functionsDir: path.resolve('tests/fixtures/functions'),
    services: testServices(),
    env: {},
    timers: false,
    queues: false,
    log: (line) => logs.push(line),
    ...options,
  });
  try {
    return await use(other);
  } finally {
    await other.stop();
  }
}

/** This machine's first IPv4 address other than loopback, if it has one. */
function externalAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((a) => a !== undefined && !a.internal && a.family === 'IPv4')?.address;
}

describe('local host: exposure', () => {
  const external = externalAddress();

  it('listens on loopback unless the host option or HOST says otherwise', async () => {
    expect(host.address).toBe('127.0.0.1');
    await withHost({ env: { HOST: '0.0.0.0' } }, (other) => {
      expect(other.address).toBe('0.0.0.0');
      return Promise.resolve();
    });
    await withHost({ host: '127.0.0.1', env: { HOST: '0.0.0.0' } }, (other) => {
      expect(other.address).toBe('127.0.0.1');
      return Promise.resolve();
    });
  });

  it.skipIf(external === undefined)('cannot be reached on another interface unless HOST asks', async () => {
    await expect(fetch(`http://${external}:${host.port}/api/things/special`)).rejects.toThrow();
    await withHost({ env: { HOST: '0.0.0.0' } }, async (other) => {
      const response = await fetch(`http://${external}:${other.port}/api/things/special`);
      expect(await response.json()).toEqual({ literal: true });
    });
  });

  it('answers POST /admin/functions/{name} only in Development', async () => {
    const timerRuns = () => fixtureEvents().filter((e) => e.fn === 'fixtureTimer').length;
    const callTimer = (other: LocalHost) =>
      fetch(`${other.url}/admin/functions/fixtureTimer`, { method: 'POST', body: '{"input": ""}' });
    for (const environment of ['Production', 'Staging']) {
      await withHost({ env: { AZURE_FUNCTIONS_ENVIRONMENT: environment } }, async (other) => {
        const before = timerRuns();
        expect((await callTimer(other)).status).toBe(404);
        await new Promise((r) => setTimeout(r, 300));
        expect(timerRuns()).toBe(before);
        // The functions themselves are still served.
        expect((await fetch(`${other.url}/api/things/special`)).status).toBe(200);
      });
    }
    await withHost({ env: { AZURE_FUNCTIONS_ENVIRONMENT: 'Development' } }, async (other) => {
      const before = timerRuns();
      expect((await callTimer(other)).status).toBe(202);
      await waitFor(() => (timerRuns() > before ? true : undefined));
    });
  });
});
