import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalHost, type LocalHost } from '../../scripts/local-host/local-host.js';
import { devDirectorySettings, managementToken } from '../support/dev-directory.js';
import { testClock, testServices, useManagementKeySource, useTestEnvironment } from '../support/storage.js';
import { apiClient as client, expectProblem } from '../support/api.js';
import { uid } from '../support/ids.js';
import { drainQueue } from '../support/queues.js';
import { PASSWORD_RESET_QUEUE } from '../../shared/password-reset/service.js';
import { useOwnThrottleWindow } from '../support/throttle.js';

/** The trust boundary as an outside caller meets it: HTTP against the local host. */
let host: LocalHost;
const api = client(() => host);
const run = uid();
let partnerA: string;
let partnerB: string;

beforeAll(async () => {
  useTestEnvironment(devDirectorySettings());
  useManagementKeySource(undefined);
  host = await startLocalHost({
    port: 0,
    functionsDir: path.resolve('functions'),
    services: testServices(),
    timers: false,
    queues: false,
    log: () => undefined,
  });
  partnerA = await managementToken('partner', undefined, `pa-${run}`);
  partnerB = await managementToken('partner', undefined, `pb-${run}`);
});

afterEach(() => {
  testClock.use(undefined);
});

afterAll(async () => {
  await host?.stop();
});

const tenantBody = (extra: Record<string, unknown> = {}) => ({
  directoryId: randomUUID(),
  clientId: randomUUID(),
  clientSecret: `secret-${uid()}`,
  environments: ['env-1'],
  ...extra,
});

describe('tenant directory hosts', () => {
  it.each([
    ['IP literal', 'authorityHost', 'https://203.0.113.10'],
    ['private range', 'graphBaseUrl', 'https://10.20.30.40'],
    ['look-alike domain', 'authorityHost', 'https://login.microsoftonline.com.example.net'],
    ['path', 'graphBaseUrl', 'https://graph.microsoft.com/beta'],
  ])('%s: 400 naming the field', async (_label, field, value) => {
    const answer = await api('PUT', `tenants/h-${uid()}`, {
      token: partnerA,
      body: tenantBody({ [field]: value }),
    });
    expectProblem(answer, 400, '/problems/validation', [field]);
  });
});

describe('tenant creation race', () => {
  it('two partners creating one name at once, 20 rounds: one wins, the other never takes it over', async () => {
    for (let round = 0; round < 20; round++) {
      const name = `race-${uid()}`;
      const [a, b] = await Promise.all([
        api('PUT', `tenants/${name}`, { token: partnerA, body: tenantBody() }),
        api('PUT', `tenants/${name}`, { token: partnerB, body: tenantBody() }),
      ]);
      const winner = a.status === 201 ? a : b;
      const loser = winner === a ? b : a;
      expect(winner.status).toBe(201);
      expect([403, 409]).toContain(loser.status);
      const owner = (winner.body as { owner: string }).owner;
      const read = await api('GET', `tenants/${name}`, { token: winner === a ? partnerA : partnerB });
      expect((read.body as { owner: string }).owner).toBe(owner);
    }
  });
});

describe('password reset throttling', () => {
  it('per address: 202 to all 11 requests, only the first 10 queued', async () => {
    useOwnThrottleWindow();
    const email = `t-${uid()}@example.test`;
    const environment = `env-${uid()}`;
    const answers = [];
    for (let i = 0; i < 11; i++) {
      answers.push(await api('POST', 'password-reset', { body: { email, environment } }));
    }
    expect(answers.map((answer) => answer.status)).toEqual(Array<number>(11).fill(202));
    expect(answers.at(-1)?.body).toEqual(answers[0]?.body);
    expect(answers.at(-1)?.headers.get('retry-after')).toBeNull();
    let queued = 0;
    await drainQueue(PASSWORD_RESET_QUEUE, (message) => {
      if ((message as { environment?: unknown }).environment === environment) queued++;
      return Promise.resolve();
    });
    expect(queued).toBe(10);
  });
});
