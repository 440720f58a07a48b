import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalHost, type LocalHost } from '../../scripts/local-host/local-host.js';
import { buildServices, DEFAULT_LIMITS } from '../../shared/app/services.js';
import { CHECK_DEADLINE_MS } from '../../shared/tenants/check.js';
import {
  createTestDirectory,
  devDirectorySettings,
  managementToken,
  type TestDirectory,
} from '../support/dev-directory.js';
import { testPorts, testRepositories, useTestEnvironment } from '../support/storage.js';

/**
 * The connection check answers within its deadline however slow the directory is: what the
 * directory answered in time stands, and whatever it did not answer is reported as
 * directory-timeout. The deadline is shortened through the composition root so the test takes
 * seconds; the services as deployed keep theirs.
 */
const DEADLINE_MS = 2_000;
/** Far beyond the deadline, and beyond a check's own request timeout too: a directory that hangs. */
const HANG_MS = 30_000;

let host: LocalHost;
let directory: TestDirectory;
let operator: string;

beforeAll(async () => {
  const config = useTestEnvironment(devDirectorySettings());
  host = await startLocalHost({
    port: 0,
    functionsDir: path.resolve('functions'),
    services: buildServices(config, testPorts(), { checkDeadlineMs: DEADLINE_MS }),
    timers: false,
    queues: false,
    log: () => {},
  });
  directory = await createTestDirectory({ displayName: 'Check deadline' });
  operator = await managementToken('platform-operator');
});

afterEach(async () => {
  await directory.clearFaults();
});

afterAll(async () => {
  await host?.stop();
});

/** A tenant on the test directory, with its own app registration so no token is cached for it yet. */
async function tenantFor(): Promise<string> {
  const app = await directory.addApplication();
  const name = `deadline-${randomUUID().slice(0, 8)}`;
  await testRepositories().tenants.save({
    ...directory.tenantConnection(name),
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    owner: 'deadline-partner',
  });
  return name;
}

async function check(tenant: string, groups: string): Promise<{ body: unknown; elapsedMs: number }> {
  const started = Date.now();
  const response = await fetch(`${host.url}/api/tenants/${tenant}/check`, {
    method: 'POST',
    headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
    body: JSON.stringify({ groups }),
  });
  expect(response.status).toBe(200);
  return { body: await response.json(), elapsedMs: Date.now() - started };
}

async function tenantStatus(tenant: string): Promise<unknown> {
  const response = await fetch(`${host.url}/api/tenants/${tenant}`, {
    headers: { authorization: `Bearer ${operator}` },
  });
  return ((await response.json()) as { status: unknown }).status;
}

describe('connection check deadline', () => {
  it('keeps 50 s as deployed: within the minute the check promises', () => {
    expect(DEFAULT_LIMITS.checkDeadlineMs).toBe(CHECK_DEADLINE_MS);
    expect(CHECK_DEADLINE_MS).toBeLessThan(60_000);
  });

  it('a group the directory does not answer in time is a directory-timeout; the one it answered stands', async () => {
    const tenant = await tenantFor();
    const first = await directory.addGroup('Deadline one');
    const second = await directory.addGroup('Deadline two');
    // The first Graph request hangs: one group's read never comes back in time, the other's does.
    await directory.slowResponses({ delayMs: HANG_MS, requests: 1 });

    const { body, elapsedMs } = await check(tenant, `${first.id}, ${second.id}`);
    expect(elapsedMs).toBeGreaterThanOrEqual(DEADLINE_MS - 100);
    expect(elapsedMs).toBeLessThan(DEADLINE_MS + 3_000);
    const result = body as {
      ok: boolean;
      token: unknown;
      groups: { id: string; ok: boolean; displayName?: string; error?: { code: string } }[];
    };
    expect(result.ok).toBe(false);
    expect(result.token).toEqual({ ok: true });
    expect(result.groups.map((group) => group.id)).toEqual([first.id, second.id]);
    const answered = result.groups.filter((group) => group.ok);
    const pending = result.groups.filter((group) => !group.ok);
    expect(answered).toHaveLength(1);
    expect(answered[0]?.displayName).toBe(answered[0]?.id === first.id ? 'Deadline one' : 'Deadline two');
    expect(pending).toEqual([
      {
        id: expect.any(String) as string,
        ok: false,
        error: {
          code: 'directory-timeout',
          message: expect.stringContaining('within 2 seconds') as string,
        },
      },
    ]);
    expect(await tenantStatus(tenant)).toMatchObject({
      state: 'failing',
      error: { code: 'directory-timeout' },
    });
  });

  it('a token the directory does not issue in time fails the token and every group', async () => {
    const tenant = await tenantFor();
    const group = await directory.addGroup('Deadline token');
    await directory.slowResponses({ delayMs: HANG_MS, kinds: ['token'] });

    const { body, elapsedMs } = await check(tenant, group.id);
    expect(elapsedMs).toBeLessThan(DEADLINE_MS + 3_000);
    expect(body).toEqual({
      ok: false,
      token: { ok: false, error: { code: 'directory-timeout', message: expect.any(String) as string } },
      groups: [
        {
          id: group.id,
          ok: false,
          error: { code: 'directory-timeout', message: expect.any(String) as string },
        },
      ],
    });
  });

  it('a directory that answers in time is checked as usual with the short deadline', async () => {
    const tenant = await tenantFor();
    const group = await directory.addGroup('Deadline fast');
    const { body } = await check(tenant, group.id);
    expect(body).toEqual({
      ok: true,
      token: { ok: true },
      groups: [{ id: group.id, ok: true, displayName: 'Deadline fast' }],
    });
    expect(await tenantStatus(tenant)).toMatchObject({ state: 'ok' });
  });
});
