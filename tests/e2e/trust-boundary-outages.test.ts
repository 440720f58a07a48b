import { randomInt } from 'node:crypto';
import { createServer, Socket, type Server } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LocalHost } from '../../scripts/local-host/local-host.js';
import { apiClient as client, expectProblem, type ApiAnswer } from '../support/api.js';
import { devDirectoryOrigin, managementToken } from '../support/dev-directory.js';
import { startTestHost } from '../support/host.js';
import { uid } from '../support/ids.js';
import { testClock } from '../support/storage.js';

/**
 * Anonymous sign-in under a flood, and management calls while the token issuer's keys cannot be
 * read: through the local host, with the dev directory as issuer. The host runs in this process, so
 * moving the test clock moves the app's.
 */

/** A TCP relay in front of a port: switched off, it ends every connection, open or new. */
interface Relay {
  readonly port: number;
  up: boolean;
  stop(): Promise<void>;
}

async function startRelay(targetPort: number): Promise<Relay> {
  const open = new Set<Socket>();
  const state = { up: true };
  const track = (socket: Socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server: Server = createServer((incoming) => {
    track(incoming);
    if (!state.up) {
      incoming.resetAndDestroy();
      return;
    }
    const upstream = new Socket();
    track(upstream);
    incoming.on('close', () => upstream.destroy());
    upstream.on('close', () => incoming.destroy());
    upstream.connect(targetPort, '127.0.0.1', () => {
      incoming.pipe(upstream);
      upstream.pipe(incoming);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    get up() {
      return state.up;
    },
    set up(value: boolean) {
      state.up = value;
      // Kept-alive connections would outlive the switch: an outage ends them too.
      if (!value) for (const socket of open) socket.destroy();
    },
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let host: LocalHost;
let relay: Relay;
const api = client(() => host);

beforeAll(async () => {
  const devDirectory = new URL(devDirectoryOrigin());
  relay = await startRelay(Number(devDirectory.port));
  // The dev directory's certificate names 127.0.0.1, so TLS holds through the relay.
  host = await startTestHost({
    settings: { MANAGEMENT_JWKS_URI: `https://127.0.0.1:${relay.port}/management/keys` },
  });
});

afterEach(() => {
  testClock.use(undefined);
  relay.up = true;
});

afterAll(async () => {
  await host?.stop();
  await relay?.stop();
});

/** A clock that stands still until moved. */
function heldClock(start: number): { move(ms: number): void } {
  let now = start;
  testClock.use({ now: () => new Date(now) });
  return {
    move(ms) {
      now += ms;
    },
  };
}

describe('GET /api/auth/login from one client address', () => {
  it('past 120 a minute: 429 /problems/rate-limited with Retry-After to the end of the window', async () => {
    // A minute of its own, 15 s in, that no other test on this storage account counted requests in.
    const minute = Math.floor(Date.now() / 60_000) + 1_000_000 + randomInt(1_000_000);
    heldClock(minute * 60_000 + 15_000);
    const environment = `nowhere-${uid()}`;
    const login = (headers: Record<string, string>) =>
      api('GET', `auth/login?environment=${environment}&returnTo=/`, { headers });
    const asApi = { accept: 'application/problem+json' };
    const answers: ApiAnswer[] = [];
    for (let i = 0; i < 121; i++) answers.push(await login(asApi));
    expect(answers.slice(0, 120).map((a) => a.status)).toEqual(Array<number>(120).fill(404));
    const refused = answers[120]!;
    expectProblem(refused, 429, '/problems/rate-limited');
    expect(refused.headers.get('retry-after')).toBe('45');
    // A browser gets the same answer as a page. The client cannot name another address: the host
    // appends the one it saw, and that one counts.
    const spoofed = await login({ accept: 'text/html', 'x-forwarded-for': '198.51.100.7' });
    expect(spoofed.status).toBe(429);
    expect(spoofed.headers.get('content-type')).toMatch(/^text\/html/);
    expect(spoofed.headers.get('retry-after')).toBe('45');
  });
});

describe('management calls while the issuer keys cannot be read', () => {
  it('keep working with the last key set read for an hour past its age, then 503 keys-unavailable, then recover', async () => {
    const clock = heldClock(Date.now());
    const token = await managementToken({
      sub: `op-${uid()}`,
      roles: ['platform-operator'],
      expiresInSeconds: 4 * 3600,
    });
    const tenants = () => api('GET', 'tenants', { token });
    expect((await tenants()).status).toBe(200);

    relay.up = false;
    for (const minutes of [11, 40, 69]) {
      clock.move(minutes === 11 ? 11 * 60_000 : 29 * 60_000);
      expect((await tenants()).status, `${minutes} minutes after the keys were read`).toBe(200);
    }

    // Ten minutes of age and an hour past it are over.
    clock.move(2 * 60_000);
    const unavailable = await tenants();
    expectProblem(unavailable, 503, '/problems/keys-unavailable');
    expect(unavailable.headers.get('retry-after')).toBe('30');
    // Nor is a forged token let through for want of keys.
    expect((await api('GET', 'tenants', { token: `${token.slice(0, -4)}AAAA` })).status).toBe(503);

    relay.up = true;
    clock.move(31_000);
    expect((await tenants()).status).toBe(200);
  });
});
