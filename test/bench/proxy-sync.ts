// Measures kube-proxy syncs on this machine's iptables (nft backend): a chunked full sync of
// 1,000 and 5,000 Services x 3 endpoints, a one-Service partial sync on top of each, and, for
// comparison, the same 5,000 Services as one monolithic transaction. Rendering (pure
// TypeScript) and restoring (iptables-restore --noflush --counters) are timed separately.
// Targets: full sync at 5,000 under 1.5 s, one-Service partial at 5,000 under 50 ms.
// See test/bench/README.md.
//
//   node --import tsx test/bench/proxy-sync.ts [--runs N] [--json]
//
// Needs root. Each measurement gets a fresh network namespace `kn.bench-proxy-<pid>-<n>`; all of
// them are deleted at the end, also on an error or Ctrl-C.
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { run } from '../../src/kernel/exec.js';
import { renderJumpRules, renderSync, type SyncResult, type SyncState } from '../../src/proxy/render.js';
import type { NodeContext, ProxySnapshot, ServiceSnapshot } from '../../src/proxy/types.js';

const NODE: NodeContext = { nodeName: 'node-a', nodeIPs: ['192.168.100.10'], clusterCIDR: '10.42.0.0/16' };
const TARGETS = { full5000Ms: 1500, partial5000Ms: 50 };
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

function restore(ns: string, text: string) {
  return run(['ip', 'netns', 'exec', ns, 'iptables-restore', '-w', '--noflush', '--counters'], { input: text });
}

// ---- workload ---------------------------------------------------------------------------------------

function service(i: number): ServiceSnapshot {
  return {
    service: { namespace: `ns${i % 50}`, name: `svc-${i}`, portName: 'http', protocol: 'TCP', clusterIP: `10.43.${i >> 8}.${i & 255}`, port: 80, sessionAffinity: 'None', affinityTimeoutSeconds: 10800, externalTrafficPolicy: 'Cluster' },
    endpoints: [0, 1, 2].map((j) => ({ ip: `10.42.${(i >> 8) * 3 + j}.${i & 255}`, port: 8080, ready: true, nodeName: `node-${j}` })),
  };
}

function snapshotOf(services: number): ProxySnapshot {
  return { services: Array.from({ length: services }, (_, i) => service(i + 1)) };
}

/** The same snapshot with one endpoint of the k-th Service moved to another pod. */
function withOneEndpointMoved(snapshot: ProxySnapshot, k: number): ProxySnapshot {
  const services = [...snapshot.services];
  const changed = services[k]!;
  services[k] = { ...changed, endpoints: changed.endpoints.map((ep, j) => (j === 1 ? { ...ep, ip: `10.42.250.${k & 255}` } : ep)) };
  return { services };
}

// ---- measurements -----------------------------------------------------------------------------------

interface SyncFigures {
  renderMs: number;
  restoreMs: number;
  transactions: number;
  lines: number;
}

async function timed<T>(work: () => T | Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await work();
  return { ms: performance.now() - start, value };
}

async function measureSync(ns: string, render: () => SyncResult): Promise<SyncFigures & { state: SyncState }> {
  const rendered = await timed(render);
  const restored = await timed(async () => {
    for (const text of rendered.value.transactions) await restore(ns, text);
  });
  const lines = rendered.value.transactions.reduce((n, t) => n + t.split('\n').length - 1, 0);
  return { renderMs: rendered.ms, restoreMs: restored.ms, transactions: rendered.value.transactions.length, lines, state: rendered.value.state };
}

/**
 * A fresh namespace, the jump rules, a full sync, then two one-Service partial syncs on top: one
 * as upstream does it (top-level chains rewritten), one with topLevelChains 'when-changed'.
 */
async function measureScale(services: number, chunkServices?: number) {
  const ns = await freshNamespace();
  try {
    await restore(ns, renderJumpRules());
    const snapshot = snapshotOf(services);
    const full = await measureSync(ns, () => renderSync(snapshot, NODE, undefined, chunkServices ? { chunkServices } : {}));
    const once = withOneEndpointMoved(snapshot, Math.floor(services / 2));
    const partial = await measureSync(ns, () => renderSync(once, NODE, full.state));
    const twice = withOneEndpointMoved(once, Math.floor(services / 3));
    const partialFast = await measureSync(ns, () => renderSync(twice, NODE, partial.state, { topLevelChains: 'when-changed' }));
    const { stdout } = await run(['ip', 'netns', 'exec', ns, 'iptables-save', '-t', 'nat']);
    const kernelRules = stdout.split('\n').filter((l) => l.startsWith('-A ')).length;
    return { full: strip(full), partial: strip(partial), partialFast: strip(partialFast), kernelNatRules: kernelRules };
  } finally {
    await deleteNamespace(ns);
  }
}

function strip({ state: _state, ...figures }: SyncFigures & { state: SyncState }): SyncFigures {
  return figures;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** Runs a measurement `runs` times; each figure is the median of the runs. */
async function repeat(runs: number, measure: () => ReturnType<typeof measureScale>) {
  const all: Awaited<ReturnType<typeof measureScale>>[] = [];
  for (let i = 0; i < runs; i++) all.push(await measure());
  const pick = (which: 'full' | 'partial' | 'partialFast'): SyncFigures => ({
    renderMs: median(all.map((r) => r[which].renderMs)),
    restoreMs: median(all.map((r) => r[which].restoreMs)),
    transactions: all[0]![which].transactions,
    lines: all[0]![which].lines,
  });
  return { full: pick('full'), partial: pick('partial'), partialFast: pick('partialFast'), kernelNatRules: all[0]!.kernelNatRules };
}

// ---- report -----------------------------------------------------------------------------------------

let quiet = false;
const log = (line: string) => {
  if (!quiet) console.log(line);
};
const ms = (n: number) => `${n < 100 ? n.toFixed(1) : Math.round(n)} ms`;
const describe = (f: SyncFigures) => `render ${ms(f.renderMs).padStart(8)}   restore ${ms(f.restoreMs).padStart(8)}   ${String(f.transactions).padStart(2)} transaction(s), ${f.lines} lines`;

function loadSummary(): string {
  const [one] = loadavg();
  const cores = availableParallelism();
  return `1-min load average ${one!.toFixed(2)} on ${cores} cores${one! > cores ? ' (busy: figures are pessimistic)' : ''}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, json: { type: 'boolean', default: false } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs wants a positive integer, not "${values.runs}"`);
  if (process.getuid?.() !== 0) throw new Error('needs root (it creates network namespaces and runs iptables-restore in them)');
  quiet = values.json;
  const loadBefore = loadSummary();
  log(`load before: ${loadBefore}`);
  log(`median of ${runs} run(s), each in a fresh namespace; 3 endpoints a Service; chunks of 500 Services`);
  try {
    const results: Record<string, Awaited<ReturnType<typeof repeat>>> = {};
    for (const services of [1000, 5000]) {
      const r = (results[`chunked${services}`] = await repeat(runs, () => measureScale(services)));
      log(`${services} Services (${r.kernelNatRules} nat rules in the kernel after the sync)`);
      log(`   full sync, chunked:      ${describe(r.full)}`);
      log(`   one-Service partial:     ${describe(r.partial)}  (upstream: top-level chains rewritten)`);
      log(`   same, 'when-changed':    ${describe(r.partialFast)}  (knetlab option: unchanged top-level chains skipped)`);
    }
    const mono = (results.monolithic5000 = await repeat(runs, () => measureScale(5000, MONOLITHIC)));
    log('5000 Services as one monolithic transaction, for comparison');
    log(`   full sync, monolithic:   ${describe(mono.full)}`);
    const chunked = results.chunked5000!;
    const ratio = mono.full.restoreMs / chunked.full.restoreMs;
    log(`   monolithic / chunked restore time: ${ratio.toFixed(1)}x`);

    const verdicts = [
      `${chunked.full.restoreMs < TARGETS.full5000Ms ? 'PASS' : 'FAIL'}  full sync of 5000 restored in ${ms(chunked.full.restoreMs)} < ${TARGETS.full5000Ms} ms (rendering ${ms(chunked.full.renderMs)} more)`,
      `${chunked.partial.restoreMs < TARGETS.partial5000Ms ? 'PASS' : 'FAIL'}  one-Service partial at 5000, as upstream, restored in ${ms(chunked.partial.restoreMs)} < ${TARGETS.partial5000Ms} ms (rendering ${ms(chunked.partial.renderMs)} more)`,
      `${chunked.partialFast.restoreMs < TARGETS.partial5000Ms ? 'PASS' : 'FAIL'}  one-Service partial at 5000, 'when-changed', restored in ${ms(chunked.partialFast.restoreMs)} < ${TARGETS.partial5000Ms} ms (rendering ${ms(chunked.partialFast.renderMs)} more)`,
    ];
    const loadAfter = loadSummary();
    log(`load after: ${loadAfter}`);
    log('Verdict:');
    for (const v of verdicts) log(`   ${v}`);
    if (values.json) console.log(JSON.stringify({ runs, load: { before: loadBefore, after: loadAfter }, targets: TARGETS, results, monolithicOverChunked: ratio, verdicts }, null, 2));
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
