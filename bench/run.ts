/**
 * `npm run bench`: the sync benchmark. Starts Azurite and the dev directory, then for each size
 * runs the storage floor (bench/floor-bench.ts), the sync (bench/sync-bench.ts) and the floor
 * again, each in its own process (trusting the dev CA, peak RSS its own; each floor into a fresh
 * Azurite account), and prints the figures as Markdown tables with the ratios against the floor.
 * Sizes: BENCH_SIZES (default "10000,20000,100000"); BENCH_FLOORS=0 skips the floors;
 * BENCH_FLOOR_MODES (default "merge,insert"): the first brackets the sync, the others are measured
 * once before it for reference (see bench/floor-bench.ts);
 * BENCH_NODE_OPTIONS sets NODE_OPTIONS of the measured processes only; BENCH_RUNS=initial and
 * BENCH_PROFILE_DIR are passed to the sync's process (see bench/sync-bench.ts); BENCH_HOST=1 also
 * measures the local host as its own process, an initial sync and a no-op requested over HTTP
 * (bench/host-bench.ts).
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAzurite } from '../scripts/azurite.js';
import { ensureDevCa, startDevDirectory } from '../devdir/index.js';

type Result = Record<string, unknown> & { n: number; scenario: string };

interface Phase {
  phase: string;
  wallMs: number;
  cpuMs: Record<string, number>;
  peakRssMiB: number;
  peakHeapUsedMiB: number;
  atPeakRss?: { heapTotalMiB: number; youngMiB?: number; oldMiB?: number; externalMiB: number };
}

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

function seconds(ms: unknown): string {
  return typeof ms === 'number' ? `${(ms / 1000).toFixed(1)} s` : '–';
}

function table(results: Result[]): string {
  const lines = [
    '| N | run | status | Graph + token requests (minimum) | storage writes | storage reads | storage requests by kind | wall time | peak RSS |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  const isHost = (x: Result) => x.scenario.startsWith('host: ');
  for (const r of results.filter((x) => x.scenario !== 'floor' && x.scenario !== 'baseline' && !isHost(x))) {
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
    '| N | floor | mode | entities | partitions | batches in flight | requests | wall time | CPU: own / Azurite | peak RSS |',
    '|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const r of results.filter((x) => x.scenario === 'floor')) {
    const cpu = (r.cpuMs ?? {}) as Record<string, number>;
    lines.push(
      `| ${r.n.toLocaleString('en')} | ${String(r.when)} | ${String(r.mode)} | ${Number(r.entities).toLocaleString('en')} | ${String(r.partitions)} | ${String(r.concurrency)} | ${String(r.requests)} | ${seconds(r.wallMs)} | ${seconds(cpu.self)} / ${seconds(cpu.azurite)} | ${String(r.peakRssMiB)} MiB |`,
    );
  }
  lines.push(
    '',
    '| N | run | phase | wall time | CPU: sync / Azurite / dev directory | peak RSS | peak heap used | at peak RSS: heap reserved (young + old) / external |',
    '|---|---|---|---|---|---|---|---|',
  );
  for (const r of results.filter((x) => Array.isArray(x.phases))) {
    for (const p of r.phases as Phase[]) {
      lines.push(
        `| ${r.n.toLocaleString('en')} | ${r.scenario} | ${p.phase} | ${seconds(p.wallMs)} | ${seconds(p.cpuMs.self)} / ${seconds(p.cpuMs.azurite)} / ${seconds(p.cpuMs.devdir)} | ${p.peakRssMiB} MiB | ${p.peakHeapUsedMiB} MiB | ${p.atPeakRss ? `${p.atPeakRss.heapTotalMiB} (${p.atPeakRss.youngMiB ?? '?'} + ${p.atPeakRss.oldMiB ?? '?'}) / ${p.atPeakRss.externalMiB} MiB` : '–'} |`,
      );
    }
  }
  lines.push(
    '',
    '| N | initial wall / floor (each floor of the run) | initial Azurite CPU / floor | initial writes / floor requests | initial peak RSS |',
    '|---|---|---|---|---|',
  );
  for (const initial of results.filter((x) => x.scenario === 'initial')) {
    const floors = results.filter((x) => x.scenario === 'floor' && x.n === initial.n);
    const azurite = (r: Result): number =>
      Array.isArray(r.phases)
        ? (r.phases as Phase[]).reduce((sum, p) => sum + (p.cpuMs.azurite ?? 0), 0)
        : Number((r.cpuMs as Record<string, number> | undefined)?.azurite);
    const ratios = (value: (r: Result) => number): string =>
      floors
        .map((f) => `${(value(initial) / value(f)).toFixed(2)} (${String(f.when)}, ${String(f.mode)})`)
        .join('; ') || 'no floor';
    lines.push(
      `| ${initial.n.toLocaleString('en')} | ${ratios((r) => Number(r.wallMs))} | ${ratios(azurite)} | ${(Number(initial.storageWrites) / Number(floors[0]?.requests)).toFixed(2)} | ${String(initial.scenarioPeakRssMiB)} MiB |`,
    );
  }
  const hostRuns = results.filter(isHost);
  if (hostRuns.length > 0) {
    lines.push(
      '',
      '| N | run (the local host as its own process) | status | wall time: request to end seen (queued; started to finished) | host RSS idle before the runs | peak RSS | RSS after |',
      '|---|---|---|---|---|---|---|',
    );
    for (const r of hostRuns) {
      lines.push(
        `| ${r.n.toLocaleString('en')} | ${r.scenario.slice('host: '.length)} | ${String(r.status)} | ${seconds(r.wallMs)} (${seconds(r.queuedMs)}; ${seconds(r.runMs)}) | ${String(r.idleRssMiB)} MiB | ${String(r.peakRssMiB)} MiB | ${String(r.afterRssMiB)} MiB |`,
      );
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const floors = process.env.BENCH_FLOORS !== '0';
  // `merge` writes as the sync does; `insert` (create) is what Azurite charges least for.
  const floorModes = (process.env.BENCH_FLOOR_MODES ?? 'merge,insert').split(',').map((m) => m.trim());
  const sizes = (process.env.BENCH_SIZES ?? '10000,20000,100000').split(',').map((s) => Number(s.trim()));
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
        const env = (account: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
          ...process.env,
          NODE_EXTRA_CA_CERTS: extraCa,
          // Node options for the measured process only (Azurite and the dev directory keep theirs).
          ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}),
          BENCH_N: String(n),
          BENCH_ACCOUNT: account,
          BENCH_DEVDIR_ORIGIN: devDirectory.origin,
          BENCH_TABLE_PORT: String(azurite.tablePort),
          BENCH_QUEUE_PORT: String(azurite.queuePort),
          // The dev directory serves Graph from this process.
          BENCH_WATCH_PIDS: `azurite:${String(azurite.pid)},devdir:${process.pid}`,
          ...extra,
        });
        // The floor brackets the sync (the machine is shared), each time into a fresh account.
        // Only the first mode brackets the sync; the others are references measured before it.
        const [bracket = 'merge', ...references] = floorModes;
        let account = 2;
        const floor = (mode: string, when: string) =>
          runChild(
            path.join(here, 'floor-bench.js'),
            env(`worker${account++}`, { BENCH_FLOOR_WHEN: when, BENCH_FLOOR_MODE: mode }),
          );
        if (floors) {
          for (const mode of references) all.push(...(await floor(mode, 'reference')));
          all.push(...(await floor(bracket, 'before')));
        }
        all.push(...(await runChild(path.join(here, 'sync-bench.js'), env('worker1'))));
        if (floors) all.push(...(await floor(bracket, 'after')));
        if (process.env.BENCH_HOST === '1') {
          all.push(...(await runChild(path.join(here, 'host-bench.js'), env('worker8'))));
        }
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
