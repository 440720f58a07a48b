import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/azurite.js';
import { testConnectionString } from '../support/storage.js';

/**
 * `npm run host` as an operator runs it: the compiled app in its own process, configured by
 * environment variables only. `npm test` builds first (pretest), so the dev build (dist-dev/) is current.
 */
describe('npm run host (compiled app, local host)', () => {
  let child: ChildProcess | undefined;
  const output: string[] = [];

  afterAll(() => {
    child?.kill('SIGKILL');
  });

  it('answers GET /api/health within 30 s and stops cleanly on SIGTERM', async () => {
    expect(existsSync('dist-dev/scripts/host.js')).toBe(true);
    const port = await freePort();
    child = spawn(process.execPath, ['dist-dev/scripts/host.js'], {
      env: {
        ...process.env,
        USE_LOCAL_HOST: '1',
        AZURE_FUNCTIONS_ENVIRONMENT: 'Development',
        PORT: String(port),
        AzureWebJobsStorage: testConnectionString(),
        SECRETS_KEY: Buffer.alloc(32, 1).toString('base64'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const deadline = Date.now() + 30_000;
    let status = 0;
    let body: unknown;
    while (Date.now() < deadline) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/api/health`);
        status = response.status;
        body = await response.json();
        if (status === 200) break;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    expect(status, output.join('')).toBe(200);
    expect(body).toEqual({ status: 'ok' });
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 45_000);

  it('refuses to start with a malformed setting, naming it', async () => {
    const bad = spawn(process.execPath, ['dist-dev/scripts/host.js'], {
      env: {
        ...process.env,
        USE_LOCAL_HOST: '1',
        AZURE_FUNCTIONS_ENVIRONMENT: 'Development',
        PORT: 'eighty',
        SYNC_SCHEDULE: '* * *',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    bad.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => bad.once('exit', (c) => resolve(c)));
    expect(code).toBe(1);
    expect(stderr).toMatch(/PORT/);
    expect(stderr).toMatch(/SYNC_SCHEDULE/);
  });
});
