/**
 * Prints what a profile written by the bench (BENCH_PROFILE_DIR) says, as Markdown:
 * `node dist/bench/profile-summary.js <dir>/initial-20000` reads `.cpuprofile`, `.heapprofile` and
 * `.phases.json`. CPU time is split by phase (from the phase marks) and by kind of code; self time
 * and allocations are listed by function, and also charged to the nearest function of the app
 * itself on the stack ("app frame"), which is where a change would have to be made.
 */
import { readFile } from 'node:fs/promises';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface CpuNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: CpuNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

interface PhaseFile {
  offsets: { phase: string; atMs: number }[];
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) return url.slice(modules + 'node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + '/dist/'.length);
  return url.replace(/^node:/, '');
}

function frameName(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  return frame.url ? `${name} ${shortUrl(frame.url)}:${frame.lineNumber + 1}` : name;
}

/** The kind of code a frame belongs to. */
function kindOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(program)') return 'V8 (program)';
    return `native: ${functionName}`;
  }
  if (url.includes('@azure/data-tables')) return '@azure/data-tables';
  if (url.includes('@azure/core-') || url.includes('@typespec/')) return '@azure/core-*';
  if (url.includes('@azure/storage-queue')) return '@azure/storage-queue';
  if (url.includes('microsoft-graph-client')) return 'graph client';
  if (url.includes('@azure/msal')) return 'msal';
  if (url.includes('node_modules/')) return `other package: ${shortUrl(url).split('/')[0]}`;
  if (url.startsWith('node:')) return `node: ${url.slice(5).split('/').slice(0, 2).join('/')}`;
  if (url.includes('/dist/')) return `app: ${shortUrl(url).replace(/\.js$/, '')}`;
  return shortUrl(url);
}

function isApp(frame: CallFrame): boolean {
  return frame.url.includes('/dist/shared/');
}

function top(map: Map<string, number>, count: number, unit: (value: number) => string): string[] {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, value]) => `| ${name} | ${unit(value)} |`);
}

function add(map: Map<string, number>, key: string, value: number): void {
  map.set(key, (map.get(key) ?? 0) + value);
}

const ms = (us: number): string => `${(us / 1000).toFixed(0)} ms`;
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** The nearest frame of the app's own code on a node's stack, memoized per node. */
function appFrameResolver(byId: Map<number, CpuNode>, nodes: readonly CpuNode[]): (id: number) => string {
  const parent = new Map<number, number>();
  for (const node of nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const appFrameOf = new Map<number, string>();
  const appFrame = (id: number): string => {
    const known = appFrameOf.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id)!;
    const up = parent.get(id);
    const found = isApp(node.callFrame)
      ? frameName(node.callFrame)
      : up === undefined
        ? '(no app frame: callback or I/O)'
        : appFrame(up);
    appFrameOf.set(id, found);
    return found;
  };
  return appFrame;
}

function phaseResolver(phases: PhaseFile): (offsetMs: number) => string {
  const marks = [...phases.offsets].sort((a, b) => a.atMs - b.atMs);
  return (offsetMs) => {
    let phase = marks[0]?.phase ?? 'all';
    for (const mark of marks) if (mark.atMs <= offsetMs) phase = mark.phase;
    return phase;
  };
}

interface CpuTally {
  total: number;
  readonly self: Map<string, number>;
  readonly byKind: Map<string, number>;
  readonly byApp: Map<string, number>;
  readonly byPhase: Map<string, Map<string, number>>;
  readonly phaseSelf: Map<string, Map<string, number>>;
}

function tallyCpu(profile: CpuProfile, phases: PhaseFile): CpuTally {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const appFrame = appFrameResolver(byId, profile.nodes);
  const phaseAt = phaseResolver(phases);
  const tally: CpuTally = {
    total: 0,
    self: new Map(),
    byKind: new Map(),
    byApp: new Map(),
    byPhase: new Map(),
    phaseSelf: new Map(),
  };
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    const duration = profile.timeDeltas[i + 1] ?? 0;
    const node = byId.get(profile.samples[i]!)!;
    const kind = kindOf(node.callFrame);
    const phase = phaseAt((at - profile.startTime) / 1000);
    tally.total += duration;
    add(tally.byKind, kind, duration);
    if (kind !== 'idle') {
      add(tally.self, frameName(node.callFrame), duration);
      add(tally.byApp, appFrame(node.id), duration);
    }
    let kinds = tally.byPhase.get(phase);
    if (!kinds) tally.byPhase.set(phase, (kinds = new Map<string, number>()));
    add(kinds, kind === 'idle' || kind === 'GC' ? kind : 'busy', duration);
    let functions = tally.phaseSelf.get(phase);
    if (!functions) tally.phaseSelf.set(phase, (functions = new Map<string, number>()));
    if (kind !== 'idle') add(functions, frameName(node.callFrame), duration);
  }
  return tally;
}

function summarizeCpu(profile: CpuProfile, phases: PhaseFile): string[] {
  const { total, self, byKind, byApp, byPhase, phaseSelf } = tallyCpu(profile, phases);
  const lines = [
    `CPU profile: ${ms(total)} sampled`,
    '',
    '| phase | sampled | busy | GC | idle | top self time |',
    '|---|---|---|---|---|---|',
  ];
  for (const [phase, kinds] of byPhase) {
    const sum = [...kinds.values()].reduce((a, b) => a + b, 0);
    const topSelf = [...(phaseSelf.get(phase) ?? new Map<string, number>())]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([name, value]) => `${name} ${ms(value)}`)
      .join('; ');
    lines.push(
      `| ${phase} | ${ms(sum)} | ${ms(kinds.get('busy') ?? 0)} | ${ms(kinds.get('GC') ?? 0)} | ${ms(kinds.get('idle') ?? 0)} | ${topSelf} |`,
    );
  }
  lines.push('', '| kind of code | self time |', '|---|---|', ...top(byKind, 25, ms));
  lines.push('', '| function (self time, idle excluded) | self time |', '|---|---|', ...top(self, 30, ms));
  lines.push('', '| nearest app frame on the stack | CPU time |', '|---|---|', ...top(byApp, 20, ms));
  return lines;
}

function summarizeHeap(root: HeapNode): string[] {
  const self = new Map<string, number>();
  const byApp = new Map<string, number>();
  const byKind = new Map<string, number>();
  let total = 0;
  const visit = (node: HeapNode, app: string): void => {
    const here = isApp(node.callFrame) ? frameName(node.callFrame) : app;
    if (node.selfSize > 0) {
      total += node.selfSize;
      add(self, frameName(node.callFrame), node.selfSize);
      add(byApp, here, node.selfSize);
      add(byKind, kindOf(node.callFrame), node.selfSize);
    }
    for (const child of node.children) visit(child, here);
  };
  visit(root, '(no app frame: callback or I/O)');
  return [
    `Allocation sampling (collected objects included): ${mib(total)} allocated`,
    '',
    '| kind of code | allocated |',
    '|---|---|',
    ...top(byKind, 15, mib),
    '',
    '| allocating function | allocated |',
    '|---|---|',
    ...top(self, 25, mib),
    '',
    '| nearest app frame on the stack | allocated |',
    '|---|---|',
    ...top(byApp, 20, mib),
  ];
}

async function main(): Promise<void> {
  const base = process.argv[2];
  if (!base) throw new Error('usage: profile-summary <dir>/<scenario>-<n>');
  const cpu = JSON.parse(await readFile(`${base}.cpuprofile`, 'utf8')) as CpuProfile;
  const heap = JSON.parse(await readFile(`${base}.heapprofile`, 'utf8')) as { head: HeapNode };
  const phases = JSON.parse(await readFile(`${base}.phases.json`, 'utf8')) as PhaseFile;
  process.stdout.write(`${[...summarizeCpu(cpu, phases), '', ...summarizeHeap(heap.head)].join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
