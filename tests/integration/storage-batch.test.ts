import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TableClient } from '@azure/data-tables';
import { useTestEnvironment, testServices } from '../support/storage.js';
import { submitBatch } from '../../shared/storage/batch.js';
import { statusOf } from '../../shared/storage/errors.js';
import { createUsersRepository, type UsersRepository } from '../../shared/users/repository.js';

let table: TableClient;
let users: UsersRepository;

beforeAll(async () => {
  useTestEnvironment();
  table = await testServices().storage.table('batchtest');
  users = createUsersRepository(testServices().storage);
});

interface Row {
  partitionKey: string;
  rowKey: string;
  name: string;
  active: boolean;
  note?: string;
}

async function rowsOf(partitionKey: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for await (const entity of table.listEntities({
    queryOptions: { filter: `PartitionKey eq '${partitionKey.replaceAll("'", "''")}'` },
  })) {
    const { rowKey, name, active, note } = entity;
    rows.push({ rowKey, name, active, ...(note === undefined ? {} : { note }) });
  }
  return rows.sort((a, b) => String(a.rowKey).localeCompare(String(b.rowKey)));
}

describe('storage transactions written in one pass', () => {
  it('inserts 100 rows of one partition, keys with quotes and non-ASCII text included', async () => {
    const partitionKey = `p'${randomUUID()}~a`;
    const rows: Row[] = Array.from({ length: 100 }, (_, i) => ({
      partitionKey,
      rowKey: `r'${String(i).padStart(3, '0')}`,
      name: `Zoë "${i}" \u00e9\r\n`,
      active: i % 2 === 0,
    }));
    await submitBatch(table, 'insert', rows);
    const stored = await rowsOf(partitionKey);
    expect(stored).toHaveLength(100);
    expect(stored[7]).toEqual({ rowKey: "r'007", name: 'Zoë "7" \u00e9\r\n', active: false });
  });

  it('fails an insert of an existing row with 409 and writes none of the transaction', async () => {
    const partitionKey = randomUUID();
    await submitBatch(table, 'insert', [{ partitionKey, rowKey: 'b', name: 'old', active: true }]);
    const error: unknown = await submitBatch(table, 'insert', [
      { partitionKey, rowKey: 'a', name: 'new', active: true },
      { partitionKey, rowKey: 'b', name: 'new', active: false },
    ]).catch((caught: unknown) => caught);
    expect(statusOf(error)).toBe(409);
    expect(await rowsOf(partitionKey)).toEqual([{ rowKey: 'b', name: 'old', active: true }]);
  });

  it('upsert-merges: creates missing rows and keeps the properties a row has and the patch lacks', async () => {
    const partitionKey = randomUUID();
    await submitBatch(table, 'insert', [
      { partitionKey, rowKey: 'a', name: 'old', active: true, note: 'kept' },
    ]);
    await submitBatch(table, 'merge', [
      { partitionKey, rowKey: 'a', name: 'new', active: false },
      { partitionKey, rowKey: 'b', name: 'created', active: true },
    ]);
    expect(await rowsOf(partitionKey)).toEqual([
      { rowKey: 'a', name: 'new', active: false, note: 'kept' },
      { rowKey: 'b', name: 'created', active: true },
    ]);
  });

  it('an access insert that meets a row written meanwhile is merged instead, keeping its menus', async () => {
    const environmentId = `env-${randomUUID()}`;
    const directoryId = randomUUID();
    const userId = randomUUID();
    const patch = {
      userId,
      directoryId,
      objectId: randomUUID(),
      displayName: 'Ada',
      email: 'ada@example.com',
      active: true,
      groups: ['g1'],
    };
    await users.writeAccessBatch(environmentId, [{ ...patch, menus: ['Admin'] }], 'insert');
    await users.writeAccessBatch(environmentId, [{ ...patch, displayName: 'Ada L.' }], 'insert');
    expect(await users.getEnvironmentUser(environmentId, userId)).toMatchObject({
      displayName: 'Ada L.',
      menus: ['Admin'],
      groups: ['g1'],
    });
  });
});
