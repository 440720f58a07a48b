import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { odata, type TableClient } from '@azure/data-tables';
import { useTestEnvironment, testServices } from '../support/storage.js';
import { submitBatch } from '../../shared/storage/batch.js';
import { statusOf } from '../../shared/storage/errors.js';
import { forEachRow, type QueriedRow } from '../../shared/storage/query.js';

let table: TableClient;

beforeAll(async () => {
  useTestEnvironment();
  table = await testServices().storage.table('querytest');
});

async function rowsOf(client: TableClient, filter: string, select: readonly string[]): Promise<QueriedRow[]> {
  const rows: QueriedRow[] = [];
  await forEachRow(client, { filter, select }, (row) => rows.push(row));
  return rows;
}

async function insertRows(partitionKey: string, count: number): Promise<void> {
  const rows = Array.from({ length: count }, (_, i) => ({
    partitionKey,
    rowKey: `r'${String(i).padStart(5, '0')}`,
    name: `Zoë "${i}"`,
    active: i % 2 === 0,
    secret: 'not selected',
  }));
  for (let start = 0; start < rows.length; start += 100) {
    await submitBatch(table, 'insert', rows.slice(start, start + 100));
  }
}

describe('rows read with the columns asked for, past the SDK entity mapping', () => {
  it('reads every row of a partition across pages (continuation), only the selected columns', async () => {
    const partitionKey = `p'${randomUUID()}`;
    await insertRows(partitionKey, 2150);
    const rows = await rowsOf(table, odata`PartitionKey eq ${partitionKey}`, ['RowKey', 'name', 'active']);
    expect(rows).toHaveLength(2150);
    expect(new Set(rows.map((row) => row.RowKey)).size).toBe(2150);
    expect(rows.find((row) => row.RowKey === "r'01234")).toEqual({
      RowKey: "r'01234",
      name: 'Zoë "1234"',
      active: true,
    });
  });

  it('visits nothing for a filter no row matches', async () => {
    expect(await rowsOf(table, odata`PartitionKey eq ${randomUUID()}`, ['RowKey'])).toEqual([]);
  });

  it('leaves a missing property out of the row rather than making one up', async () => {
    const partitionKey = randomUUID();
    await submitBatch(table, 'insert', [{ partitionKey, rowKey: 'a', name: 'only a name' }]);
    const rows = await rowsOf(table, odata`PartitionKey eq ${partitionKey}`, ['RowKey', 'name', 'active']);
    expect(rows).toEqual([{ RowKey: 'a', name: 'only a name' }]);
  });

  it("fails with the service's status, as the SDK's own operations do", async () => {
    const client = await testServices().storage.table(`nosuch${randomUUID().slice(0, 8)}`);
    await client.deleteTable();
    const error: unknown = await rowsOf(client, odata`PartitionKey eq ${'x'}`, ['RowKey']).catch(
      (caught: unknown) => caught,
    );
    expect(statusOf(error)).toBe(404);
  });
});
