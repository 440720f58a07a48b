/**
 * The storage floor of an initial sync of BENCH_N members, in its own process (started by
 * bench/run.ts before and after the sync's process, each time into a fresh Azurite account): the
 * same rows the sync writes — one identity row, one address index entry and one access row per
 * member, built by the same mappers — written straight into the `users`, `useraccessemail` and
 * `useraccess` tables, 16 partitions per kind,
 * every transaction a full 100 rows, 4 transactions in flight. Nothing else: no reads, no planning,
 * no change log. Prints one `RESULT ` JSON line.
 */
import { randomUUID } from 'node:crypto';
import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { loadConfig } from '../shared/config.js';
import { StorageAccount } from '../shared/storage/account.js';
import { indexEntryOf } from '../shared/users/email-index.js';
import { toAccessEntity, toUserEntity } from '../shared/users/entities.js';
import { userIdOf } from '../shared/users/identity.js';
import { accountConnectionString } from '../scripts/azurite.js';
import { PhaseProbe, watchedPids } from './probe.js';

const BATCH = 100;
const PARTITIONS = 16;
const IN_FLIGHT = Number(process.env.BENCH_FLOOR_IN_FLIGHT ?? 4);
/**
 * How rows are written: `merge` as the sync writes them (upsert, Merge), or, to compare what
 * Azurite charges for each, `replace` (upsert, Replace) or `insert` (create).
 */
const MODE = process.env.BENCH_FLOOR_MODE ?? 'merge';

interface Batch {
  readonly kind: 'identity' | 'email-index' | 'access';
  readonly chunk: number;
}

/**
 * What reading the environment's access rows back costs (a no-op sync reads all of them): the 16
 * partitions, 4 at a time, every column or only the key and the four compared ones.
 */
async function readBack(access: TableClient, environmentId: string): Promise<Record<string, number>> {
  const figures: Record<string, number> = {};
  for (const [name, select] of [
    ['allColumnsMs', undefined],
    ['fiveColumnsMs', ['RowKey', 'displayName', 'email', 'groups', 'active']],
    ['allColumnsAgainMs', undefined],
  ] as const) {
    const started = performance.now();
    let rows = 0;
    const buckets = [...Array(PARTITIONS).keys()].map((b) => `${environmentId}~${b.toString(16)}`);
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        for (let pk = buckets.shift(); pk !== undefined; pk = buckets.shift()) {
          const filter = odata`PartitionKey eq ${pk}`;
          const query = select ? { filter, select: [...select] } : { filter };
          for await (const entity of access.listEntities({ queryOptions: query })) if (entity.rowKey) rows++;
        }
      }),
    );
    figures[name] = Math.round(performance.now() - started);
    figures.rows = rows;
  }
  return figures;
}

async function main(): Promise<void> {
  const n = Number(process.env.BENCH_N);
  const account = process.env.BENCH_ACCOUNT ?? 'worker2';
  const config = loadConfig(
    {
      AZURE_FUNCTIONS_ENVIRONMENT: 'Development',
      AzureWebJobsStorage: accountConnectionString(account, {
        tablePort: Number(process.env.BENCH_TABLE_PORT),
        queuePort: Number(process.env.BENCH_QUEUE_PORT),
      }),
      SECRETS_KEY: 'YmVuY2gtb25seS1zZWNyZXRzLWtleS0zMi1ieXRlcyE=',
    },
    { localStateDir: '.dev/bench' },
  );
  const storage = new StorageAccount(config.storage);
  const users: TableClient = await storage.table('users');
  const access: TableClient = await storage.table('useraccess');
  const emailIndex: TableClient = await storage.table('useraccessemail');
  const tables = { identity: users, 'email-index': emailIndex, access } as const;

  const directoryId = randomUUID();
  const environmentId = `floor-${n}`;
  const [groupA, groupB, groupC] = [randomUUID(), randomUUID(), randomUUID()];
  // The bench's membership shape: half in A (and so in B, which nests A), 30 % in B, 20 % in C.
  const groupsOf = (i: number): string[] =>
    i % 10 < 5 ? [groupA, groupB] : i % 10 < 8 ? [groupB] : [groupC];
  const chunks = Math.ceil(n / BATCH);
  const queue: Batch[] = [
    ...Array.from({ length: chunks }, (_, chunk) => ({ kind: 'identity' as const, chunk })),
    ...Array.from({ length: chunks }, (_, chunk) => ({ kind: 'email-index' as const, chunk })),
    ...Array.from({ length: chunks }, (_, chunk) => ({ kind: 'access' as const, chunk })),
  ];
  // Rows are built as their transaction is sent (as the sync builds them), keyed by real ids; the
  // chunk picks the partition so that every transaction is full.
  const actionsOf = (batch: Batch): TransactionAction[] => {
    const bucket = (batch.chunk % PARTITIONS).toString(16);
    const rows: TransactionAction[] = [];
    for (let i = batch.chunk * BATCH; i < Math.min(n, (batch.chunk + 1) * BATCH); i++) {
      const objectId = randomUUID();
      const userId = userIdOf(directoryId, objectId);
      const displayName = `Floor user ${i}`;
      const email = `floor.user${i}@example.com`;
      const entity =
        batch.kind === 'identity'
          ? {
              ...toUserEntity(directoryId, { userId, objectId, displayName, email }),
              partitionKey: `${directoryId}~${bucket}`,
            }
          : batch.kind === 'email-index'
            ? {
                ...indexEntryOf(environmentId, { userId, email })!,
                partitionKey: `${environmentId}~${bucket}`,
              }
            : {
                ...toAccessEntity(environmentId, {
                  userId,
                  directoryId,
                  objectId,
                  displayName,
                  email,
                  active: true,
                  groups: groupsOf(i),
                  menus: ['Home'],
                }),
                partitionKey: `${environmentId}~${bucket}`,
              };
      rows.push(
        MODE === 'insert' ? ['create', entity] : ['upsert', entity, MODE === 'replace' ? 'Replace' : 'Merge'],
      );
    }
    return rows;
  };

  const probe = new PhaseProbe(watchedPids(process.env.BENCH_WATCH_PIDS));
  probe.start('writes');
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      for (let batch = queue[next++]; batch !== undefined; batch = queue[next++]) {
        await tables[batch.kind].submitTransaction(actionsOf(batch));
      }
    }),
  );
  const wallMs = Math.round(performance.now() - started);
  const [phase] = probe.stop();
  const reads = process.env.BENCH_FLOOR_READS === '1' ? await readBack(access, environmentId) : undefined;
  process.stdout.write(
    `RESULT ${JSON.stringify({
      n,
      scenario: 'floor',
      when: process.env.BENCH_FLOOR_WHEN ?? '',
      entities: 3 * n,
      partitions: 3 * PARTITIONS,
      concurrency: IN_FLIGHT,
      mode: MODE,
      requests: queue.length,
      wallMs,
      cpuMs: phase?.cpuMs,
      peakRssMiB: phase?.peakRssMiB,
      ...(reads ? { reads } : {}),
    })}\n`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
