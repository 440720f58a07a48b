/**
 * Measuring one process from inside, without hooks in the code under test: memory sampled on a
 * timer, phases marked from the outside edges the sync already exposes (the directory reader it is
 * given, the storage pipeline it sends through), and the CPU time of this process and of watched
 * helper processes (Azurite, the dev directory) read at each mark.
 */
import { readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { getHeapSpaceStatistics } from 'node:v8';

const MIB = 1024 * 1024;
/** Linux reports /proc CPU times in clock ticks of 1/100 s. */
const TICK_MS = 10;

/** CPU milliseconds used so far by a process, from /proc (undefined elsewhere or once it is gone). */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}

/** `BENCH_WATCH_PIDS=azurite:123,devdir:456` → the processes whose CPU time each phase reports. */
export function watchedPids(spec: string | undefined): Map<string, number> {
  const watched = new Map<string, number>();
  for (const entry of (spec ?? '').split(',')) {
    const [name, pid] = entry.split(':');
    if (name && pid && Number.isInteger(Number(pid))) watched.set(name, Number(pid));
  }
  return watched;
}

function cpuSnapshot(watched: ReadonlyMap<string, number>): Record<string, number> {
  const usage = process.cpuUsage();
  const snapshot: Record<string, number> = { self: Math.round((usage.user + usage.system) / 1000) };
  for (const [name, pid] of watched) {
    const ms = processCpuMs(pid);
    if (ms !== undefined) snapshot[name] = ms;
  }
  return snapshot;
}

interface Mark {
  readonly phase: string;
  readonly at: number;
  readonly cpu: Record<string, number>;
}

export interface PhaseFigures {
  readonly phase: string;
  readonly wallMs: number;
  /** CPU milliseconds spent in the phase by this process and each watched process. */
  readonly cpuMs: Record<string, number>;
  readonly peakRssMiB: number;
  readonly peakHeapUsedMiB: number;
  /** At the sample of peak RSS: the V8 heap as reserved, and memory outside it (buffers, strings' backing). */
  readonly atPeakRss: {
    readonly heapTotalMiB: number;
    /** Of the heap reserved: the young generation (new space, new large objects) and the old. */
    readonly youngMiB: number;
    readonly oldMiB: number;
    readonly externalMiB: number;
  };
}

/**
 * Phases of one scenario. Samples every `intervalMs` while the event loop turns (a synchronous
 * stretch such as planning is sampled when it ends, by the mark that follows it).
 */
export class PhaseProbe {
  private readonly marks: Mark[] = [];
  private readonly samples: {
    at: number;
    rss: number;
    heapUsed: number;
    heapTotal: number;
    young: number;
    external: number;
  }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly watched: ReadonlyMap<string, number>,
    private readonly intervalMs = 50,
  ) {}

  get current(): string | undefined {
    return this.marks.at(-1)?.phase;
  }

  start(phase: string): void {
    this.marks.length = 0;
    this.samples.length = 0;
    this.enter(phase);
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  sample(): void {
    const memory = process.memoryUsage();
    let young = 0;
    for (const space of getHeapSpaceStatistics()) {
      if (space.space_name.startsWith('new_')) young += space.space_size;
    }
    this.samples.push({
      at: performance.now(),
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      heapTotal: memory.heapTotal,
      young,
      external: memory.external,
    });
  }

  /** Starts `phase` now, or at `at` (a moment already past, e.g. the end of the last read). */
  enter(phase: string, at = performance.now()): void {
    this.sample();
    if (this.current === phase) return;
    this.marks.push({ phase, at, cpu: cpuSnapshot(this.watched) });
  }

  /** Ends the last phase and returns every phase's figures, in order. */
  stop(): PhaseFigures[] {
    this.sample();
    if (this.timer) clearInterval(this.timer);
    const end: Mark = { phase: 'end', at: performance.now(), cpu: cpuSnapshot(this.watched) };
    const bounds = [...this.marks, end];
    const figures: PhaseFigures[] = [];
    for (let i = 0; i + 1 < bounds.length; i++) {
      const from = bounds[i]!;
      const to = bounds[i + 1]!;
      const inside = this.samples.filter((s) => s.at >= from.at && s.at <= to.at);
      const cpuMs: Record<string, number> = {};
      for (const [name, value] of Object.entries(to.cpu)) cpuMs[name] = value - (from.cpu[name] ?? value);
      const peak = inside.reduce<(typeof inside)[number] | undefined>(
        (best, s) => (best === undefined || s.rss > best.rss ? s : best),
        undefined,
      );
      figures.push({
        phase: from.phase,
        wallMs: Math.round(to.at - from.at),
        cpuMs,
        peakRssMiB: Math.round(Math.max(0, ...inside.map((s) => s.rss)) / MIB),
        peakHeapUsedMiB: Math.round(Math.max(0, ...inside.map((s) => s.heapUsed)) / MIB),
        atPeakRss: {
          heapTotalMiB: Math.round((peak?.heapTotal ?? 0) / MIB),
          youngMiB: Math.round((peak?.young ?? 0) / MIB),
          oldMiB: Math.round(((peak?.heapTotal ?? 0) - (peak?.young ?? 0)) / MIB),
          externalMiB: Math.round((peak?.external ?? 0) / MIB),
        },
      });
    }
    return figures;
  }

  /** Phase start times relative to `origin` (ms), for lining a profile up with the phases. */
  offsets(origin: number): { phase: string; atMs: number }[] {
    return this.marks.map((m) => ({ phase: m.phase, atMs: Math.round(m.at - origin) }));
  }
}

/**
 * A CPU profile and an allocation profile (every sampled allocation, collected or not) of one
 * stretch of this process, written as `<name>.cpuprofile` and `<name>.heapprofile` (both open in
 * Chrome DevTools; bench/profile-summary.ts prints them).
 */
export class Profiler {
  private readonly session = new Session();
  startedAt = 0;

  async start(): Promise<void> {
    this.session.connect();
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.setSamplingInterval', { interval: 500 });
    await this.session.post('HeapProfiler.enable');
    await this.session.post('HeapProfiler.startSampling', {
      samplingInterval: 16384,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    await this.session.post('Profiler.start');
    this.startedAt = performance.now();
  }

  async stop(dir: string, name: string, extra: unknown): Promise<void> {
    const { profile } = await this.session.post('Profiler.stop');
    const heap = await this.session.post('HeapProfiler.stopSampling');
    this.session.disconnect();
    await writeFile(path.join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    await writeFile(path.join(dir, `${name}.heapprofile`), JSON.stringify(heap.profile));
    await writeFile(path.join(dir, `${name}.phases.json`), JSON.stringify(extra, null, 2));
  }
}
