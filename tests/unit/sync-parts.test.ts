import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fromGraphUser, parseRetryAfter } from '../../shared/directory/reader.js';
import { packChanges } from '../../shared/sync/changes.js';
import { executePlan, type PlanWriter } from '../../shared/sync/executor.js';
import type { BatchMode } from '../../shared/storage/batch.js';
import { encodeSyncMessage, parseSyncMessage } from '../../shared/sync/messages.js';
import { isRunId, newRunId } from '../../shared/sync/runs.js';
import { userIdOf } from '../../shared/users/identity.js';
import type { Change } from '../../shared/sync/planner.js';
import { entryTransactions, indexEntryOf, type IndexEntry } from '../../shared/users/email-index.js';
import type { AccessPatch, Identity } from '../../shared/users/model.js';

describe('userIdOf', () => {
  it('is a version 5 UUID, the same for the same identity whatever the case, different otherwise', () => {
    const id = userIdOf('AAAAAAAA-0000-0000-0000-000000000001', 'BBBBBBBB-0000-0000-0000-000000000001');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(userIdOf('aaaaaaaa-0000-0000-0000-000000000001', 'bbbbbbbb-0000-0000-0000-000000000001')).toBe(id);
    // A stored user's id: the way it is computed may change, the value never.
    expect(id).toBe('e8830ab0-893c-5d86-aa85-60e0fd60413f');
    expect(userIdOf('aaaaaaaa-0000-0000-0000-000000000002', 'bbbbbbbb-0000-0000-0000-000000000001')).not.toBe(
      id,
    );
  });

  /** RFC 9562's version 5, computed the plain way: SHA-1 of the namespace's bytes and the name. */
  function referenceId(directoryId: string, objectId: string): string {
    const namespace = Buffer.from('6f1c2a8e4b7d4e0f9a3c5d2b1e8f7a60', 'hex');
    const name = `${directoryId.toLowerCase()}/${objectId.toLowerCase()}`;
    const bytes = createHash('sha1').update(namespace).update(name, 'utf8').digest().subarray(0, 16);
    bytes[6] = (bytes[6]! & 0x0f) | 0x50;
    bytes[8] = (bytes[8]! & 0x3f) | 0x80;
    const hex = bytes.toString('hex');
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join('-');
  }

  it.each([
    ['a GUID', 'bbbbbbbb-0000-0000-0000-000000000001'],
    ['a name longer than the shared buffer', 'x'.repeat(5000)],
    ['a name just within it', 'y'.repeat(320)],
    ['non-ASCII and 4-byte characters', 'Zoë-名前-😀'.repeat(40)],
    ['one after a long one (nothing left over)', 'c'],
  ])('is the version 5 UUID of the identity for %s', (_, objectId) => {
    const directoryId = 'AAAAAAAA-0000-0000-0000-000000000001';
    expect(userIdOf(directoryId, objectId)).toBe(referenceId(directoryId, objectId));
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['2', 2000],
    ['2.128', 2128],
    ['0.5', 500],
    ['0', 0],
    [' 3 ', 3000],
  ])('seconds %s → %d ms', (value, ms) => {
    expect(parseRetryAfter(value, 0)).toBe(ms);
  });

  it('reads an HTTP date relative to now, and ignores garbage', () => {
    const now = Date.parse('2026-11-28T10:00:00Z');
    expect(parseRetryAfter('Sat, 28 Nov 2026 10:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('-1', now)).toBeUndefined();
  });
});

describe('fromGraphUser', () => {
  const id = 'CCCCCCCC-0000-0000-0000-000000000001';
  it('maps a user, lower-casing its id and deriving the email (rule 6)', () => {
    expect(
      fromGraphUser({
        id,
        displayName: 'X',
        mail: null,
        otherMails: ['o@x.com'],
        userPrincipalName: 'x#EXT#@t',
        accountEnabled: true,
      }),
    ).toEqual({ objectId: id.toLowerCase(), displayName: 'X', email: 'o@x.com', accountEnabled: true });
  });
  it('skips non-users and refuses a user without an id', () => {
    expect(fromGraphUser({ '@odata.type': '#microsoft.graph.group', id })).toBeUndefined();
    expect(() => fromGraphUser({ displayName: 'no id' })).toThrow(/valid id/);
  });
  it('only an explicit false disables', () => {
    expect(fromGraphUser({ id, accountEnabled: false })!.accountEnabled).toBe(false);
  });
});

describe('packChanges', () => {
  it('keeps every change in order, each page a JSON array under the property limit', () => {
    const changes: Change[] = Array.from({ length: 1000 }, (_, i) => ({
      userId: `u${i}`,
      objectId: `o${i}`,
      displayName: `A rather long display name number ${i} `.repeat(3),
      action: 'added',
    }));
    const pages = packChanges(changes);
    expect(pages.length).toBeGreaterThan(3);
    for (const page of pages) expect(page.length).toBeLessThanOrEqual(30_000);
    expect(pages.flatMap((p) => JSON.parse(p) as Change[])).toEqual(changes);
    expect(packChanges([])).toEqual([]);
  });
});

describe('sync messages and run ids', () => {
  it('round-trips as base64 JSON and accepts what the host hands over (object, JSON, base64)', () => {
    const message = { runId: newRunId(new Date()), environmentId: 'env-1' };
    const encoded = encodeSyncMessage(message);
    expect(JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'))).toEqual(message);
    expect(parseSyncMessage(encoded)).toEqual(message);
    expect(parseSyncMessage(JSON.stringify(message))).toEqual(message);
    expect(parseSyncMessage(message)).toEqual(message);
    expect(() => parseSyncMessage({ runId: 1 })).toThrow(/does not name a run/);
  });

  it('newer runs sort first', () => {
    const older = newRunId(new Date('2026-01-01T00:00:00Z'));
    const newer = newRunId(new Date('2026-01-01T00:00:01Z'));
    expect(isRunId(older) && isRunId(newer)).toBe(true);
    expect([older, newer].sort()).toEqual([newer, older]);
  });
});

describe('executePlan', () => {
  function recordingWriter() {
    const calls: string[] = [];
    const writer: PlanWriter = {
      writeUsers: (partition: string, rows: readonly Identity[], mode: BatchMode) => {
        calls.push(`users ${partition} ${rows.length} ${mode}`);
        return Promise.resolve();
      },
      writeEmailIndex: (entries: readonly IndexEntry[], mode: BatchMode) => {
        calls.push(`email-index ${entries[0]?.partitionKey ?? ''} ${entries.length} ${mode}`);
        return Promise.resolve();
      },
      writeAccess: (partition: string, rows: readonly AccessPatch[], mode: BatchMode) => {
        calls.push(`access ${partition} ${rows.length} ${mode}`);
        return Promise.resolve();
      },
    };
    return { calls, writer };
  }
  const identity = (i: number): Identity => ({
    userId: `u${i}`,
    objectId: `o${i}`,
    displayName: 'x',
    email: '',
  });
  const patch = (i: number): AccessPatch => ({
    userId: `u${i}`,
    directoryId: 'd',
    objectId: `o${i}`,
    displayName: 'x',
    email: '',
    active: true,
    groups: [],
  });

  it('writes users before access, in batches of at most 100 of one partition', async () => {
    const { calls, writer } = recordingWriter();
    const plan = {
      halted: false,
      userWrites: Array.from({ length: 250 }, (_, i) => identity(i)),
      accessWrites: Array.from({ length: 101 }, (_, i) => patch(i)),
    };
    const batches = await executePlan('env', 'dir', plan, { concurrency: 1 }, writer);
    const kinds = calls.map((c) => c.split(' ')[0]);
    const firstAccess = kinds.indexOf('access');
    expect(kinds.slice(0, firstAccess).every((k) => k === 'users')).toBe(true);
    const sizes = calls.map((c) => Number(c.split(' ')[2]));
    expect(sizes.every((size) => size <= 100)).toBe(true);
    expect(sizes.slice(0, firstAccess).reduce((a, b) => a + b, 0)).toBe(250);
    // Every access row here has a user id starting with 'u': one partition, 100 + 1.
    expect(calls.slice(firstAccess)).toEqual(['access env 100 merge', 'access env 1 merge']);
    expect(batches).toBe(calls.length);
  });

  it('inserts transactions of rows the plan marks new, and merges those that mix them with others', async () => {
    const { calls, writer } = recordingWriter();
    const plan = {
      halted: false,
      userWrites: [],
      // One partition: 150 new rows and 30 known ones, the known ones listed first.
      accessWrites: [
        ...Array.from({ length: 30 }, (_, i) => patch(i)),
        ...Array.from({ length: 150 }, (_, i) => ({ ...patch(100 + i), isNew: true as const })),
      ],
    };
    await executePlan('env', 'dir', plan, { concurrency: 1 }, writer);
    expect(calls).toEqual(['access env 100 insert', 'access env 80 merge']);
  });

  it('cuts a partition of new and known rows into full transactions, new ones first, no row lost or repeated', async () => {
    const written: string[] = [];
    const writer: PlanWriter = {
      writeUsers: () => Promise.resolve(),
      writeEmailIndex: () => Promise.resolve(),
      writeAccess: (_environmentId: string, rows: readonly AccessPatch[], mode: BatchMode) => {
        written.push(`${mode} ${rows.map((row) => row.userId).join(',')}`);
        return Promise.resolve();
      },
    };
    const known = Array.from({ length: 130 }, (_, i) => patch(i));
    const fresh = Array.from({ length: 250 }, (_, i) => ({ ...patch(500 + i), isNew: true as const }));
    await executePlan(
      'env',
      'dir',
      { halted: false, userWrites: [], accessWrites: [...known, ...fresh] },
      { concurrency: 1 },
      writer,
    );
    const ids = (rows: readonly AccessPatch[]): string => rows.map((row) => row.userId).join(',');
    const order = [...fresh, ...known];
    expect(written).toEqual([
      `insert ${ids(order.slice(0, 100))}`,
      `insert ${ids(order.slice(100, 200))}`,
      `merge ${ids(order.slice(200, 300))}`,
      `merge ${ids(order.slice(300, 380))}`,
    ]);
  });

  it("writes the plan's address entries after the users and before access, in full transactions per partition", async () => {
    const { calls, writer } = recordingWriter();
    const plan = {
      halted: false,
      userWrites: [identity(0)],
      accessWrites: Array.from({ length: 1000 }, (_, i) => ({
        ...patch(i),
        email: `user${i}@example.test`,
        ...(i < 600 ? { isNew: true as const } : {}),
      })),
    };
    await executePlan('env', 'dir', plan, { concurrency: 1 }, writer);
    const kinds = calls.map((c) => c.split(' ')[0]);
    expect(kinds[0]).toBe('users');
    const indexCalls = calls.filter((c) => c.startsWith('email-index'));
    expect(kinds.lastIndexOf('email-index')).toBeLessThan(kinds.indexOf('access'));
    const indexed = indexCalls.map((c) => Number(c.split(' ')[2]));
    expect(indexed.reduce((a, b) => a + b, 0)).toBe(1000);
    // 1000 entries over 16 partitions: each partition's entries (per mode) in as few transactions as fit.
    const partitions = new Set(indexCalls.map((c) => c.split(' ')[1]));
    expect(partitions.size).toBe(16);
    expect(indexCalls.length).toBeLessThanOrEqual(2 * 16 + Math.ceil(1000 / 100));
    expect(indexed.every((size) => size <= 100)).toBe(true);
    // New access inserts its entries; changed access merges them (it may meet its own entry).
    const byMode = (mode: string) =>
      indexCalls.filter((c) => c.endsWith(mode)).reduce((sum, c) => sum + Number(c.split(' ')[2]), 0);
    expect([byMode('insert'), byMode('merge')]).toEqual([600, 400]);
  });

  it('writes nothing for a halted or empty plan', async () => {
    const { calls, writer } = recordingWriter();
    await executePlan(
      'env',
      'dir',
      { halted: true, userWrites: [identity(1)], accessWrites: [patch(1)] },
      {},
      writer,
    );
    await executePlan('env', 'dir', { halted: false, userWrites: [], accessWrites: [] }, {}, writer);
    expect(calls).toEqual([]);
  });
});

describe('executePlan across partitions', () => {
  it('never mixes partitions in a transaction: rows are grouped by the bucket of their key', async () => {
    const partitions: string[][] = [];
    const { accessPartitionOf } = await import('../../shared/users/repository.js');
    const writer: PlanWriter = {
      writeUsers: () => Promise.resolve(),
      writeEmailIndex: () => Promise.resolve(),
      writeAccess: (environmentId: string, rows: readonly AccessPatch[]) => {
        partitions.push([...new Set(rows.map((r) => accessPartitionOf(environmentId, r.userId)))]);
        return Promise.resolve();
      },
    };
    const accessWrites = ['a1', 'b1', 'a2', 'c1', 'b2'].map((userId) => ({
      userId,
      directoryId: 'd',
      objectId: userId,
      displayName: '',
      email: '',
      active: true,
      groups: [],
    }));
    expect(await executePlan('env', 'dir', { halted: false, userWrites: [], accessWrites }, {}, writer)).toBe(
      3,
    );
    expect(partitions.sort()).toEqual([['env~a'], ['env~b'], ['env~c']]);
  });
});

describe('entryTransactions', () => {
  const addresses = Array.from({ length: 700 }, (_, i) => ({
    userId: `u${i}`,
    email: i % 7 === 0 ? ' ' : ` User${i}@Example.TEST `,
    isNew: i % 3 !== 0,
  }));
  const transactions = entryTransactions('env', addresses, (address) =>
    address.userId === 'u1' ? undefined : address.isNew ? 'insert' : 'merge',
  );

  it('makes the same entries as one address at a time, each once, none for an empty address or no mode', () => {
    const made = transactions.flatMap((transaction) => transaction.entries());
    const expected = addresses
      .filter((address) => address.userId !== 'u1')
      .map((address) => indexEntryOf('env', address))
      .filter((entry) => entry !== undefined);
    const byKey = (a: IndexEntry, b: IndexEntry): number => (a.rowKey < b.rowKey ? -1 : 1);
    expect(made.sort(byKey)).toEqual(expected.sort(byKey));
  });

  it('cuts each partition of a mode into transactions of at most 100, every insert before any merge', () => {
    for (const transaction of transactions) {
      const entries = transaction.entries();
      expect(entries).toHaveLength(transaction.size);
      expect(transaction.size).toBeLessThanOrEqual(100);
      expect(entries.every((entry) => entry.partitionKey === transaction.partition)).toBe(true);
    }
    const modes = transactions.map((transaction) => transaction.mode);
    expect(modes.lastIndexOf('insert')).toBeLessThan(modes.indexOf('merge'));
    const entriesOf = (mode: string): number =>
      transactions.filter((t) => t.mode === mode).reduce((sum, t) => sum + t.size, 0);
    const indexed = addresses.filter((a) => a.userId !== 'u1' && a.email.trim() !== '');
    expect([entriesOf('insert'), entriesOf('merge')]).toEqual([
      indexed.filter((a) => a.isNew).length,
      indexed.filter((a) => !a.isNew).length,
    ]);
    // As few transactions as the partitions allow: a partition's entries of one mode fill them.
    const partitions = new Set(transactions.map((t) => `${t.mode} ${t.partition}`));
    expect(transactions.length).toBe(
      [...partitions].reduce((sum, key) => {
        const size = transactions
          .filter((t) => `${t.mode} ${t.partition}` === key)
          .reduce((n, t) => n + t.size, 0);
        return sum + Math.ceil(size / 100);
      }, 0),
    );
  });
});
