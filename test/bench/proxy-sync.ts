// Measures kube-proxy syncs on this machine's iptables (nft backend), at 1,000 and 5,000
// Services x 3 endpoints: a chunked full sync onto a fresh node, a full resync of a node that
// already has every rule (the agent's periodic full sync, or a lost state), one-Service partial
// syncs on top (as upstream, and with topLevelChains 'when-changed'), and for comparison the full
// sync as one monolithic transaction. Rendering (pure TypeScript) and restoring
// (iptables-restore --noflush --counters) are timed separately, in wall time and CPU time.
// Targets at 5,000: fresh full sync under 1.5 s, 'when-changed' partial under 50 ms, render and
// restore together. See test/bench/README.md.
//
//   node --import tsx test/bench/proxy-sync.ts [--runs N] [--chunk N] [--json]
//
// Needs root. Each measurement gets fresh network namespaces `kn.bench-proxy-<pid>-<n>`; all of
// them are deleted at the end, also on an error or Ctrl-C.
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { run } from '../../src/kernel/exec.js';
import { DEFAULT_CHUNK_SERVICES, renderJumpRules, renderSync, type RenderOptions, type SyncResult, type SyncState } from '../../src/proxy/render.js';
import type { NodeContext, ProxySnapshot, ServiceSnapshot } from '../../src/proxy/types.js';

const NODE: NodeContext = { nodeName: 'node-a', nodeIPs: ['192.168.100.10'], clusterCIDR: '10.42.0.0/16' };
const TARGETS = { fullFresh5000Ms: 1500, partial5000Ms: 50 };
const MONOLITHIC = Number.MAX_SAFE_INTEGER; // a chunk size no snapshot reaches: one transaction

// ---- namespaces -----------------------------------------------------------------------------------

const liveNamespaces = new Set<string>();
let nsCounter = 0;
let interrupted: NodeJS.Signals | undefined;

async function freshNamespace(): Promise<string> {
  if (interrupted) throw new Error(`interrupted by ${interrupted}`);
  const ns = `kn.bench-proxy-${process.pid}-${nsCounter++}`;
  await run(['ip', 'netns', 'add', ns]);
  liveNamespaces.add(ns);
  return ns;
}

async function deleteNamespace(ns: string): Promise<void> {
  await run(['ip', 'netns', 'delete', ns], { allowFailure: true });
  liveNamespaces.delete(ns);
}

async function deleteAll(): Promise<void> {
  for (const ns of [...liveNamespaces]) await deleteNamespace(ns).catch((err: Error) => console.error(`warning: deleting ${ns} failed: ${err.message}`));
}

/** A namespace as the agent leaves a node before its first sync: only kube-proxy's jump rules. */
async function freshNode(): Promise<string> {
  const ns = await freshNamespace();
  await restore(ns, renderJumpRules());
  return ns;
}

function restore(ns: string, text: string) {
  return run(['ip', 'netns', 'exec', ns, 'iptables-restore', '-w', '--noflush', '--counters'], { input: text });
}

// ---- workload ---------------------------------------------------------------------------------------

function service(i: number, movedEndpoint?: string): ServiceSnapshot {
  return {
    service: { namespace: `ns${i % 50}`, name: `svc-${i}`, portName: 'http', protocol: 'TCP', clusterIP: `10.43.${i >> 8}.${i & 255}`, port: 80, sessionAffinity: 'None', affinityTimeoutSeconds: 10800, externalTrafficPolicy: 'Cluster' },
    endpoints: [0, 1, 2].map((j) => ({ ip: j === 1 && movedEndpoint ? movedEndpoint : `10.42.${(i >> 8) * 3 + j}.${i & 255}`, port: 8080, ready: true, nodeName: `node-${j}` })),
  };
}

/**
 * N Services; `moved` Services have their second endpoint on another pod. Every call builds new
 * objects and strings, as the agent builds a new snapshot from its objects for every sync.
 */
function snapshotOf(services: number, moved: readonly number[] = []): ProxySnapshot {
  return { services: Array.from({ length: services }, (_, i) => service(i + 1, moved.includes(i + 1) ? `10.42.250.${(i + 1) & 255}` : undefined)) };
}

// ---- measurements -----------------------------------------------------------------------------------

interface SyncFigures {
  renderMs: number;
  /** CPU time of this process while rendering. */
  renderCpuMs: number;
  restoreMs: number;
  /** CPU time of the iptables-restore processes (and of `ip netns exec`), in 10 ms ticks. */
  restoreCpuMs: number;
  transactions: number;
  lines: number;
}

/**
 * CPU time of this process's finished children (cutime + cstime in /proc/self/stat, clock ticks
 * of 10 ms). Other work on a shared machine stretches wall times far more than CPU times, so
 * the restores' CPU time says what they would take on a quiet machine.
 */
function childrenCpuMs(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  // After "pid (comm) ", fields[0] is the state (field 3); cutime and cstime are fields 16 and 17.
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

async function timed<T>(work: () => T | Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await work();
  return { ms: performance.now() - start, value };
}

/**
 * How the transactions are given to iptables-restore: 'sequential', one process per transaction
 * in order (what the agent does); 'parallel', the chunks two processes at a time
 * (SyncResult.chunks says they are independent), then the rest in order.
 */
type Apply = 'sequential' | 'parallel';

async function applyAll(ns: string, { transactions, chunks }: SyncResult, how: Apply): Promise<void> {
  let next = 0;
  if (how === 'parallel') {
    const worker = async (): Promise<void> => {
      while (next < chunks) await restore(ns, transactions[next++]!);
    };
    await Promise.all([worker(), worker()]);
  }
  for (const text of transactions.slice(next)) await restore(ns, text);
}

/** Renders, then restores. */
async function measureSync(ns: string, render: () => SyncResult, how: Apply = 'sequential'): Promise<SyncFigures & { state: SyncState }> {
  const cpu = process.cpuUsage();
  const rendered = await timed(render);
  const { user, system } = process.cpuUsage(cpu);
  const { transactions } = rendered.value;
  const cpuBefore = childrenCpuMs();
  const restored = await timed(() => applyAll(ns, rendered.value, how));
  const restoreCpuMs = childrenCpuMs() - cpuBefore;
  const lines = transactions.reduce((n, t) => n + t.split('\n').length - 1, 0);
  return { renderMs: rendered.ms, renderCpuMs: (user + system) / 1000, restoreMs: restored.ms, restoreCpuMs, transactions: transactions.length, lines, state: rendered.value.state };
}

async function natRules(ns: string): Promise<number> {
  const { stdout } = await run(['ip', 'netns', 'exec', ns, 'iptables-save', '-t', 'nat']);
  return stdout.split('\n').filter((l) => l.startsWith('-A ')).length;
}

const KINDS = ['fresh', 'freshHinted', 'freshParallel', 'resync', 'partialAlways', 'partialFast'] as const;
type Kind = (typeof KINDS)[number];
type ScaleFigures = Record<Kind, SyncFigures> & { kernelNatRules: number };

/**
 * A full sync onto a fresh node as the agent asks for it; on that node a full resync (no state, as
 * after the agent's periodic forceFullSync), then two one-Service partial syncs: one as upstream
 * does it (top-level chains rewritten), one with topLevelChains 'when-changed'. Then the full sync
 * onto two more fresh nodes with the freshNode hint: one restore at a time, and the chunks two at
 * a time.
 */
async function measureScale(services: number, options: RenderOptions): Promise<ScaleFigures> {
  const figures: Partial<ScaleFigures> = {};
  const ns = await freshNode();
  try {
    const a = Math.floor(services / 2);
    const b = Math.floor(services / 3);
    // Snapshots are built before the clock starts: the agent builds its own from its objects.
    const [first, again, once, twice] = [snapshotOf(services), snapshotOf(services), snapshotOf(services, [a]), snapshotOf(services, [a, b])];
    figures.fresh = await measureSync(ns, () => renderSync(first, NODE, undefined, options));
    figures.kernelNatRules = await natRules(ns);
    const resync = await measureSync(ns, () => renderSync(again, NODE, undefined, options));
    figures.resync = resync;
    const partial = await measureSync(ns, () => renderSync(once, NODE, resync.state, options));
    figures.partialAlways = partial;
    figures.partialFast = await measureSync(ns, () => renderSync(twice, NODE, partial.state, { ...options, topLevelChains: 'when-changed' }));
    const expected = figures.kernelNatRules;
    const after = await natRules(ns);
    if (after !== expected) throw new Error(`${services} Services: ${after} nat rules after the partial syncs, ${expected} after the full sync`);
  } finally {
    await deleteNamespace(ns);
  }
  for (const how of ['sequential', 'parallel'] as const) {
    const other = await freshNode();
    try {
      const snapshot = snapshotOf(services);
      const hinted = { ...options, freshNode: true };
      figures[how === 'sequential' ? 'freshHinted' : 'freshParallel'] = await measureSync(other, () => renderSync(snapshot, NODE, undefined, hinted), how);
      const rules = await natRules(other);
      if (rules !== figures.kernelNatRules) throw new Error(`${services} Services: ${rules} nat rules after the ${how} full sync, ${figures.kernelNatRules} after the sequential one`);
    } finally {
      await deleteNamespace(other);
    }
  }
  return figures as ScaleFigures;
}

async function measureMonolithic(services: number): Promise<SyncFigures> {
  const ns = await freshNode();
  try {
    const snapshot = snapshotOf(services);
    return await measureSync(ns, () => renderSync(snapshot, NODE, undefined, { chunkServices: MONOLITHIC }));
  } finally {
    await deleteNamespace(ns);
  }
}

function strip({ renderMs, renderCpuMs, restoreMs, restoreCpuMs, transactions, lines }: SyncFigures): SyncFigures {
  return { renderMs, renderCpuMs, restoreMs, restoreCpuMs, transactions, lines };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** Each figure is the median over the runs (render and restore separately, and their sum per run). */
function medianOf(all: readonly SyncFigures[]): SyncFigures & { totalMs: number; totalCpuMs: number } {
  return {
    renderMs: median(all.map((f) => f.renderMs)),
    renderCpuMs: median(all.map((f) => f.renderCpuMs)),
    restoreMs: median(all.map((f) => f.restoreMs)),
    restoreCpuMs: median(all.map((f) => f.restoreCpuMs)),
    totalMs: median(all.map((f) => f.renderMs + f.restoreMs)),
    totalCpuMs: median(all.map((f) => f.renderCpuMs + f.restoreCpuMs)),
    transactions: all[0]!.transactions,
    lines: all[0]!.lines,
  };
}

// ---- report -----------------------------------------------------------------------------------------

let quiet = false;
const log = (line: string) => {
  if (!quiet) console.log(line);
};
const ms = (n: number) => `${n < 100 ? n.toFixed(1) : Math.round(n)} ms`;
const describe = (f: SyncFigures & { totalMs: number; totalCpuMs: number }) =>
  `render ${ms(f.renderMs).padStart(8)}  restore ${ms(f.restoreMs).padStart(8)}  total ${ms(f.totalMs).padStart(8)}  (cpu ${ms(f.totalCpuMs).padStart(8)})  ${String(f.transactions).padStart(2)} tx, ${f.lines} lines`;

function loadSummary(): string {
  const [one] = loadavg();
  const cores = availableParallelism();
  return `1-min load average ${one!.toFixed(2)} on ${cores} cores${one! > cores ? ' (busy: figures are pessimistic)' : ''}`;
}

const LABELS: Record<Kind, string> = {
  fresh: 'full sync, fresh node:   ',
  freshHinted: 'same, freshNode hint:    ',
  freshParallel: 'same, chunks 2 at a time:',
  resync: 'full resync (has rules): ',
  partialAlways: 'one-Service partial:     ',
  partialFast: "same, 'when-changed':    ",
};
const NOTES: Record<Kind, string> = {
  fresh: '(one iptables-restore per transaction, as the agent does)',
  freshHinted: '(chains in each chunk ordered for the restore; later partial syncs ~6 ms slower)',
  freshParallel: '(with the hint, two iptables-restore at a time for the chunks, then the last)',
  resync: '(no state, every chain rewritten; top-level chains atomic)',
  partialAlways: '(upstream: top-level chains rewritten)',
  partialFast: '(knetlab option: unchanged top-level chains skipped)',
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, chunk: { type: 'string', default: String(DEFAULT_CHUNK_SERVICES) }, json: { type: 'boolean', default: false } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs wants a positive integer, not "${values.runs}"`);
  const chunkServices = Number(values.chunk);
  if (!Number.isInteger(chunkServices) || chunkServices < 1) throw new Error(`--chunk wants a positive integer, not "${values.chunk}"`);
  if (process.getuid?.() !== 0) throw new Error('needs root (it creates network namespaces and runs iptables-restore in them)');
  quiet = values.json;
  const loadBefore = loadSummary();
  log(`load before: ${loadBefore}`);
  log(`median of ${runs} run(s), each in fresh namespaces; 3 endpoints a Service; chunks of ${chunkServices} Services`);
  try {
    const results: Record<string, Record<string, SyncFigures & { totalMs: number; totalCpuMs: number }> & { kernelNatRules?: number }> = {};
    for (const services of [1000, 5000]) {
      const all: ScaleFigures[] = [];
      for (let i = 0; i < runs; i++) all.push(await measureScale(services, { chunkServices }));
      const r: Record<string, SyncFigures & { totalMs: number; totalCpuMs: number }> & { kernelNatRules?: number } = {};
      for (const kind of KINDS) r[kind] = medianOf(all.map((f) => strip(f[kind])));
      r.kernelNatRules = all[0]!.kernelNatRules;
      results[`chunked${services}`] = r;
      log(`${services} Services (${r.kernelNatRules} nat rules in the kernel after the sync)`);
      for (const kind of KINDS) log(`   ${LABELS[kind]}${describe(r[kind]!)}  ${NOTES[kind]}`);
    }
    const mono: SyncFigures[] = [];
    for (let i = 0; i < runs; i++) mono.push(await measureMonolithic(5000));
    const monolithic = medianOf(mono);
    results.monolithic5000 = { full: monolithic };
    const chunked = results.chunked5000!;
    log('5000 Services as one monolithic transaction, for comparison');
    log(`   full sync, monolithic:   ${describe(monolithic)}`);
    const ratio = monolithic.restoreMs / chunked.fresh!.restoreMs;
    log(`   monolithic / chunked restore time: ${ratio.toFixed(1)}x`);

    const verdict = (ok: boolean, text: string) => `${ok ? 'PASS' : 'FAIL'}  ${text}`;
    const fresh = chunked.fresh!;
    const fast = chunked.partialFast!;
    const verdicts = [
      verdict(fresh.totalMs < TARGETS.fullFresh5000Ms, `full sync of 5000 onto a fresh node in ${ms(fresh.totalMs)} < ${TARGETS.fullFresh5000Ms} ms (render ${ms(fresh.renderMs)} + restore ${ms(fresh.restoreMs)}, a process per transaction as the agent does; CPU ${ms(fresh.totalCpuMs)})`),
      verdict(fast.totalMs < TARGETS.partial5000Ms, `one-Service partial at 5000, 'when-changed', in ${ms(fast.totalMs)} < ${TARGETS.partial5000Ms} ms (render ${ms(fast.renderMs)} + restore ${ms(fast.restoreMs)}; CPU ${ms(fast.totalCpuMs)})`),
    ];
    const hinted = chunked.freshHinted!;
    verdicts.push(verdict(hinted.totalMs < TARGETS.fullFresh5000Ms, `same with the freshNode hint (the agent does not give it yet) in ${ms(hinted.totalMs)} (render ${ms(hinted.renderMs)} + restore ${ms(hinted.restoreMs)}; CPU ${ms(hinted.totalCpuMs)})`));
    const loadAfter = loadSummary();
    log(`load after: ${loadAfter}`);
    log('Verdict:');
    for (const v of verdicts) log(`   ${v}`);
    if (values.json) console.log(JSON.stringify({ runs, chunkServices, load: { before: loadBefore, after: loadAfter }, targets: TARGETS, results, monolithicOverChunked: ratio, verdicts }, null, 2));
    if (verdicts.some((v) => v.startsWith('FAIL'))) process.exitCode = 1;
  } finally {
    await deleteAll();
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (!interrupted) console.error(`\n${signal}: stopping; deleting ${[...liveNamespaces].join(', ') || 'no namespaces'}`);
    interrupted = signal;
  });
}

await main().catch((err: Error) => {
  console.error(`bench failed: ${err.message}`);
  process.exitCode = interrupted ? 130 : 1;
});
