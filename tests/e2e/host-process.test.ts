import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/azurite.js';
import { testConnectionString } from '../support/storage.js';
import { HOST_SCRIPT, spawnHost, stopHostProcesses } from '../support/host-process.js';

/**
 * `npm run host` as an operator runs it: the compiled app in its own process, configured by
 * environment variables only. `npm test` builds first (pretest), so the dev build (dist-dev/) is current.
 */
describe('npm run host (compiled app, local host)', () => {
  afterAll(stopHostProcesses);

  it('answers GET /api/health within 30 s and stops cleanly on SIGTERM', async () => {
    expect(existsSync(HOST_SCRIPT)).toBe(true);
    const host = spawnHost({
      PORT: String(await freePort()),
      AzureWebJobsStorage: testConnectionString(),
      SECRETS_KEY: Buffer.alloc(32, 1).toString('base64'),
    });
    const deadline = Date.now() + 30_000;
    let status = 0;
    let body: unknown;
    while (Date.now() < deadline) {
      try {
        const response = await fetch(`${host.url}/api/health`);
        status = response.status;
        body = await response.json();
        if (status === 200) break;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    expect(status, host.output()).toBe(200);
    expect(body).toEqual({ status: 'ok' });
    expect(await host.stop('SIGTERM')).toBe(0);
  }, 45_000);

  it('refuses to start with a malformed setting, naming it', async () => {
    const bad = spawnHost({ PORT: 'eighty', SYNC_SCHEDULE: '* * *' });
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toMatch(/PORT/);
    expect(bad.output()).toMatch(/SYNC_SCHEDULE/);
  });
});
