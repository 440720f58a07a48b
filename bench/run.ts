/**
 * `npm run bench`: the sync benchmark (issue 4). Starts Azurite and the dev directory, then runs
 * bench/sync-bench.ts once per size in a child process (trusting the dev CA, peak RSS its own) and
 * prints the figures as a Markdown table. Sizes: BENCH_SIZES (default "10000,100000");
 * BENCH_FLOORS=0 skips the floor measurements (at 100,000 they take most of the time);
 * BENCH_NODE_OPTIONS sets NODE_OPTIONS of the measured process only.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAzurite } from '../scripts/azurite.js';
import { ensureDevCa, startDevDirectory } from '../devdir/index.js';

type Result = Record<string, unknown> & { n: number; scenario: string };

async function caFile(caCertPath: string, stateDir: string): Promise<string> {
  const existing = process.env.NODE_EXTRA_CA_CERTS;
  if (!existing) return caCertPath;
  const combined = path.join(stateDir, 'extra-ca.pem');
  await writeFile(
    combined,
    `${(await readFile(existing, 'utf8')).trim()}\n${(await readFile(caCertPath, 'utf8')).trim()}\n`,
  );
  return combined;
}

function runChild(script: string, env: NodeJS.ProcessEnv): Promise<Result[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    const results: Result[] = [];
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.startsWith('RESULT ')) {
          const result = JSON.parse(line.slice(7)) as Result;
          results.push(result);
          process.stderr.write(`  ${result.n} ${result.scenario}: ${JSON.stringify(result)}\n`);
        }
      }
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(results) : reject(new Error(`benchmark exited with ${code}`)),
    );
  });
}

function table(results: Result[]): string {
  const lines = [
    '| N | run | status | Graph + token requests (minimum) | storage writes | storage reads | storage requests by kind | wall time | peak RSS |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results.filter((x) => x.scenario !== 'floor' && x.scenario !== 'baseline')) {
    const kinds = Object.entries(r.storage as Record<string, number>)
      .filter(([, count]) => count > 0)
      .map(([kind, count]) => `${kind} ${count}`)
      .join(', ');
    lines.push(
      `| ${r.n.toLocaleString('en')} | ${r.scenario} | ${String(r.status)} | ${Number(r.graphRequests) + Number(r.tokenRequests)} (${String(r.graphMinimum)}) | ${String(r.storageWrites)} | ${String(r.storageReads)} | ${kinds} | ${(Number(r.wallMs) / 1000).toFixed(1)} s | ${String(r.peakRssMb)} MB |`,
    );
  }
  lines.push(
    '',
    '| N | floor: entities | partitions | batches in flight | requests | wall time |',
    '|---|---|---|---|---|---|',
  );
  for (const r of results.filter((x) => x.scenario === 'floor')) {
    lines.push(
      `| ${r.n.toLocaleString('en')} | ${Number(r.entities).toLocaleString('en')} | ${String(r.partitions)} | ${String(r.concurrency)} | ${String(r.requests)} | ${(Number(r.wallMs) / 1000).toFixed(1)} s |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const sizes = (process.env.BENCH_SIZES ?? '10000,100000').split(',').map((s) => Number(s.trim()));
  const stateDir = path.resolve('.dev/bench');
  const { caCertPath } = await ensureDevCa(stateDir);
  const devDirectory = await startDevDirectory({ port: 0, stateDir });
  const extraCa = await caFile(caCertPath, stateDir);
  const all: Result[] = [];
  try {
    for (const n of sizes) {
      // A fresh in-memory Azurite per size, so one size's data does not slow the next.
      const azurite = await startAzurite();
      try {
        process.stderr.write(`N = ${n}\n`);
        all.push(
          ...(await runChild(path.join(here, 'sync-bench.js'), {
            ...process.env,
            NODE_EXTRA_CA_CERTS: extraCa,
            // Node options for the measured process only (Azurite and the dev directory keep theirs).
            ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}),
            BENCH_N: String(n),
            BENCH_DEVDIR_ORIGIN: devDirectory.origin,
            BENCH_TABLE_PORT: String(azurite.tablePort),
            BENCH_QUEUE_PORT: String(azurite.queuePort),
          })),
        );
      } finally {
        await azurite.stop();
      }
    }
  } finally {
    await devDirectory.stop();
  }
  process.stdout.write(`\n${table(all)}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
