// Measures kube-proxy syncs on this machine's iptables (nft backend), at 1,000 and 5,000
// Services x 3 endpoints: a chunked full sync onto a fresh node, a full resync of a node that
// already has every rule (the agent's periodic full sync, or a lost state), one-Service partial
// syncs on top (as upstream, and with topLevelChains 'when-changed'), and, with --monolithic, the
// full sync as one monolithic transaction (~8-50 s at 5,000, so not by default). Rendering (pure
// TypeScript) and restoring (iptables-restore --noflush --counters) are timed separately, in wall
// time and CPU time.
//
// Two floors are measured on the node that holds every rule, because they are what the targets run
// into on kernel 6.18 (5 restores each, median wall time and mean CPU time):
// - a restore that only declares a new chain: process start, `ip netns exec`, iptables-nft's cache;
// - a restore that adds that chain with one `-j ACCEPT` rule, reachable from nowhere. Any rule with a
//   verdict, a target or a match makes the commit validate the whole nat table (nft_table_validate
//   walks PREROUTING and OUTPUT -> KUBE-SERVICES -> every KUBE-SVC -> every KUBE-SEP; perf: ~90% of
//   the restore in nft_chain_validate/nft_table_validate). A one-Service partial sync must add such
//   rules, so this is its floor.
// Targets (issue 8) at 5,000: full sync onto a fresh node under 1 s, as the agent does it (freshNode
// hint, chunks two restores at a time); one-Service 'when-changed' partial under 30 ms; render and
// restore together.
//
//   node --import tsx test/bench/proxy-sync.ts [--runs N] [--chunk N] [--monolithic] [--json]
//
// Needs root. Each measurement gets fresh network namespaces `kn.bench-proxy-<pid>-<n>`; all of
// them are deleted at the end, also on an error or Ctrl-C.
import { parseArgs } from 'node:util';
import { DEFAULT_CHUNK_SERVICES, renderSync, type RenderOptions } from '../../src/proxy/render.js';
import {
  BENCH_NODE as NODE,
  childrenCpuMs,
  iptablesRestore,
  benchSnapshot as snapshotOf,
  deleteAllNamespaces as deleteAll,
  deleteNamespace,
  freshIptablesNode,
  loadSummary,
  measureIptablesSync as measureSync,
  median,
  natRuleCount as natRules,
  stopOnSignals,
  interruptedBy,
  type IptablesSyncFigures as SyncFigures,
} from './lib.js';

const TARGETS = { fullFresh5000Ms: 1000, partial5000Ms: 30 };
const MONOLITHIC = Number.MAX_SAFE_INTEGER; // a chunk size no snapshot reaches: one transaction

/** Each measurement's fresh namespace: `kn.bench-proxy-<pid>-<n>`, with kube-proxy's jump rules only. */
const freshNode = () => freshIptablesNode('kn.bench-proxy');

const KINDS = ['fresh', 'freshHinted', 'freshParallel', 'resync', 'partialAlways', 'partialFast'] as const;
type Kind = (typeof KINDS)[number];
type ScaleFigures = Record<Kind, SyncFigures> & { kernelNatRules: number; floors: Floors };

interface Floor {
  wallMs: number;
  cpuMs: number;
}
interface Floors {
  chainOnly: Floor;
  oneRule: Floor;
}

const FLOOR_CHAIN = 'KN-BENCH-FLOOR';
const FLOOR_REPEATS = 5;

/** A restore repeated FLOOR_REPEATS times: median wall time, mean CPU time (10 ms ticks, hence the mean). */
async function floor(ns: string, text: string): Promise<Floor> {
  const walls: number[] = [];
  const before = childrenCpuMs();
  for (let i = 0; i < FLOOR_REPEATS; i++) {
    const start = performance.now();
    await iptablesRestore(ns, text);
    walls.push(performance.now() - start);
  }
  return { wallMs: median(walls), cpuMs: (childrenCpuMs() - before) / FLOOR_REPEATS };
}

/** The two floors (see the header), on a node that holds every rule; the chain is deleted after. */
async function measureFloors(ns: string): Promise<Floors> {
  const chainOnly = await floor(ns, `*nat\n:${FLOOR_CHAIN} - [0:0]\nCOMMIT\n`);
  const oneRule = await floor(ns, `*nat\n:${FLOOR_CHAIN} - [0:0]\n-A ${FLOOR_CHAIN} -j ACCEPT\nCOMMIT\n`);
  await iptablesRestore(ns, `*nat\n:${FLOOR_CHAIN} - [0:0]\n-X ${FLOOR_CHAIN}\nCOMMIT\n`);
  return { chainOnly, oneRule };
}

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
    figures.floors = await measureFloors(ns);
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

const LABELS: Record<Kind, string> = {
  fresh: 'full sync, fresh node:   ',
  freshHinted: 'same, freshNode hint:    ',
  freshParallel: 'same, chunks 2 at a time:',
  resync: 'full resync (has rules): ',
  partialAlways: 'one-Service partial:     ',
  partialFast: "same, 'when-changed':    ",
};
const NOTES: Record<Kind, string> = {
  fresh: '(one iptables-restore per transaction)',
  freshHinted: '(chains in each chunk ordered for the restore; later partial syncs ~6 ms slower)',
  freshParallel: '(with the hint, two iptables-restore at a time for the chunks, then the last: as the agent does)',
  resync: '(no state, every chain rewritten; top-level chains atomic)',
  partialAlways: '(upstream: top-level chains rewritten)',
  partialFast: '(knetlab option: unchanged top-level chains skipped)',
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, chunk: { type: 'string', default: String(DEFAULT_CHUNK_SERVICES) }, monolithic: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } });
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
    const results: Record<string, Record<string, SyncFigures & { totalMs: number; totalCpuMs: number }> & { kernelNatRules?: number; floors?: Floors }> = {};
    for (const services of [1000, 5000]) {
      const all: ScaleFigures[] = [];
      for (let i = 0; i < runs; i++) all.push(await measureScale(services, { chunkServices }));
      const r: Record<string, SyncFigures & { totalMs: number; totalCpuMs: number }> & { kernelNatRules?: number; floors?: Floors } = {};
      for (const kind of KINDS) r[kind] = medianOf(all.map((f) => strip(f[kind])));
      r.kernelNatRules = all[0]!.kernelNatRules;
      const floorOf = (f: (x: Floors) => Floor): Floor => ({ wallMs: median(all.map((x) => f(x.floors).wallMs)), cpuMs: median(all.map((x) => f(x.floors).cpuMs)) });
      r.floors = { chainOnly: floorOf((x) => x.chainOnly), oneRule: floorOf((x) => x.oneRule) };
      results[`chunked${services}`] = r;
      log(`${services} Services (${r.kernelNatRules} nat rules in the kernel after the sync)`);
      for (const kind of KINDS) log(`   ${LABELS[kind]}${describe(r[kind]!)}  ${NOTES[kind]}`);
      log(`   floors:                  a restore declaring one chain ${ms(r.floors.chainOnly.wallMs)} (cpu ${ms(r.floors.chainOnly.cpuMs)}); with one -j ACCEPT rule in it ${ms(r.floors.oneRule.wallMs)} (cpu ${ms(r.floors.oneRule.cpuMs)}): the whole nat table validated`);
    }
    let ratio: number | undefined;
    if (values.monolithic) {
      const mono: SyncFigures[] = [];
      for (let i = 0; i < runs; i++) mono.push(await measureMonolithic(5000));
      const monolithic = medianOf(mono);
      results.monolithic5000 = { full: monolithic };
      log('5000 Services as one monolithic transaction, for comparison');
      log(`   full sync, monolithic:   ${describe(monolithic)}`);
      ratio = monolithic.restoreMs / results.chunked5000!.fresh!.restoreMs;
      log(`   monolithic / chunked restore time: ${ratio.toFixed(1)}x`);
    }
    const chunked = results.chunked5000!;

    const verdict = (ok: boolean, text: string) => `${ok ? 'PASS' : 'FAIL'}  ${text}`;
    const agent = chunked.freshParallel!;
    const fast = chunked.partialFast!;
    const floors = chunked.floors!;
    const verdicts = [
      verdict(agent.totalMs < TARGETS.fullFresh5000Ms, `full sync of 5000 onto a fresh node, as the agent does it, in ${ms(agent.totalMs)} < ${TARGETS.fullFresh5000Ms} ms (render ${ms(agent.renderMs)} + restore ${ms(agent.restoreMs)}, freshNode hint, chunks two restores at a time; CPU ${ms(agent.totalCpuMs)} on 2 cores)`),
      verdict(fast.totalMs < TARGETS.partial5000Ms, `one-Service partial at 5000, 'when-changed', in ${ms(fast.totalMs)} < ${TARGETS.partial5000Ms} ms (render ${ms(fast.renderMs)} + restore ${ms(fast.restoreMs)}; CPU ${ms(fast.totalCpuMs)}; floor: any restore that adds one rule ${ms(floors.oneRule.wallMs)}, CPU ${ms(floors.oneRule.cpuMs)})`),
    ];
    const loadAfter = loadSummary();
    log(`load after: ${loadAfter}`);
    log('Verdict:');
    for (const v of verdicts) log(`   ${v}`);
    if (values.json) console.log(JSON.stringify({ runs, chunkServices, load: { before: loadBefore, after: loadAfter }, targets: TARGETS, results, ...(ratio === undefined ? {} : { monolithicOverChunked: ratio }), verdicts }, null, 2));
    if (verdicts.some((v) => v.startsWith('FAIL'))) process.exitCode = 1;
  } finally {
    await deleteAll();
  }
}

stopOnSignals();

await main().catch((err: Error) => {
  console.error(`bench failed: ${err.message}`);
  process.exitCode = interruptedBy() ? 130 : 1;
});
