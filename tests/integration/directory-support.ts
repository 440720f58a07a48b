import { createServer, type Server } from 'node:net';
import { beforeAll } from 'vitest';
import { systemClock, type Clock } from '../../shared/clock.js';
import type { AppError } from '../../shared/errors.js';
import type { DirectoryLimits, Sleep } from '../../shared/directory/http.js';
import { createDirectoryReader, type DirectoryReader } from '../../shared/directory/reader.js';
import { createTokenSource, type DirectoryConnection } from '../../shared/directory/token.js';
import type { DirectoryUser } from '../../shared/sync/planner.js';
import { createTestDirectory, type TestDirectory } from '../support/dev-directory.js';

/** Short limits, so failures that take minutes in production take a second here. */
export const FAST_LIMITS: Partial<DirectoryLimits> = {
  requestTimeoutMs: 400,
  baseDelayMs: 10,
  maxDelayMs: 50,
  giveUpAfterMs: 5_000,
};

/** Sleeping advances the clock and is recorded, so waits are checked without waiting. */
export function virtualTime(): { clock: Clock; sleep: Sleep; sleeps: number[] } {
  let offset = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    clock: { now: () => new Date(Date.now() + offset) },
    sleep: (ms) => {
      sleeps.push(ms);
      offset += ms;
      return Promise.resolve();
    },
  };
}

/** A reader of its own (own token cache), on the real network, against the real dev directory. */
export function readerFor(
  connection: DirectoryConnection,
  options: { limits?: Partial<DirectoryLimits>; clock?: Clock; sleep?: Sleep } = {},
): DirectoryReader {
  return createDirectoryReader(connection, {
    fetch: (input, init) => fetch(input, init),
    clock: options.clock ?? systemClock,
    tokens: createTokenSource(),
    limits: { ...FAST_LIMITS, ...options.limits },
    ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
  });
}

/** The group and all its members, or the error that stopped the reading. */
export async function readGroup(
  reader: DirectoryReader,
  groupId: string,
): Promise<{ users: DirectoryUser[]; error?: undefined } | { users?: undefined; error: AppError }> {
  try {
    await reader.readGroup(groupId);
    const users: DirectoryUser[] = [];
    for await (const page of reader.listGroupUsers(groupId)) users.push(...page);
    return { users };
  } catch (error) {
    return { error: error as AppError };
  }
}

/** A TCP listener that only counts who connects: proof that nothing was sent to a foreign host. */
export async function connectionCounter(): Promise<{
  origin: string;
  count(): number;
  close(): Promise<void>;
}> {
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    origin: `https://127.0.0.1:${address.port}`,
    count: () => connections,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** What a block of directory tests works with: a directory of its own, its one group, the tenant's connection. */
export interface GroupDirectory {
  readonly directory: TestDirectory;
  readonly groupId: string;
  readonly connection: DirectoryConnection;
}

/**
 * A directory of its own for the tests of one block, made before them: `group` fills it and
 * answers the id of the group the tests read; the connection is the tenant `tenant` of it.
 * Its fields are there once `beforeAll` has run.
 */
export function useGroupDirectory(
  displayName: string,
  tenant: string,
  group: (directory: TestDirectory) => Promise<string>,
): GroupDirectory {
  const own: { -readonly [K in keyof GroupDirectory]?: GroupDirectory[K] } = {};
  beforeAll(async () => {
    own.directory = await createTestDirectory({ displayName });
    own.groupId = await group(own.directory);
    own.connection = { ...own.directory.tenantConnection(tenant), name: tenant };
  });
  return own as GroupDirectory;
}
