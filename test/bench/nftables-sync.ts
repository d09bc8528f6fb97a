// Measures kube-proxy's nftables mode on this machine's kernel and nft: a full sync of 1,000,
// 5,000 and 10,000 Services x 3 endpoints into a fresh namespace, then a one-Service partial sync
// on top (one endpoint of one Service moves). Rendering (pure TypeScript) and applying (`nft -f -`,
// one process per transaction) are timed separately; a partial sync's apply is split into the
// transaction that makes the change live and the one that deletes what it left (see layout.ts).
// Two floors are measured at each size for context: an empty `nft -f` run, and a transaction that
// adds one chain with one DNAT rule (the kernel revalidates the whole table on such a commit).
// Targets (issue 8): full sync at 10,000 under 3 s; one-Service update at 10,000 under 30 ms.
//
//   node --import tsx test/bench/nftables-sync.ts [--runs N] [--sizes 1000,5000,10000]
//        [--chunk-lines N] [--monolithic] [--json]
//
// Needs root. Each measurement gets a fresh namespace `kn.bench-nft-<pid>-<n>`; all of them are
// deleted at the end, also on an error or Ctrl-C.
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { run } from '../../src/kernel/exec.js';
import { DEFAULT_CHUNK_LINES, nftBinary, renderNftSync, type NftSyncResult } from '../../src/proxy/nftables/index.js';
import type { NodeContext, ProxySnapshot, ServiceSnapshot } from '../../src/proxy/types.js';

const NODE: NodeContext = { nodeName: 'node-a', nodeIPs: ['192.168.100.10'], clusterCIDR: '10.42.0.0/16' };
const SERVICE_CIDRS = ['10.43.0.0/16'];
const TARGETS = { full10000Ms: 3000, partial10000Ms: 30 };
const NFT = nftBinary();

const live = new Set<string>();
let nsCounter = 0;
let interrupted: NodeJS.Signals | undefined;

async function freshNamespace(): Promise<string> {
  if (interrupted) throw new Error(`interrupted by ${interrupted}`);
  const ns = `kn.bench-nft-${process.pid}-${nsCounter++}`;
  await run(['ip', 'netns', 'add', ns]);
  live.add(ns);
  return ns;
}

async function deleteNamespace(ns: string): Promise<void> {
  await run(['ip', 'netns', 'delete', ns], { allowFailure: true });
  live.delete(ns);
}

const TIME = existsSync('/usr/bin/time') ? ['/usr/bin/time', '-f', '%U %S'] : [];

interface Applied {
  wallMs: number;
  /** user + system CPU time of `nft` (kernel work included): unlike wall time, not inflated by other load. */
  cpuMs: number;
}

/** `nft -f -` of one transaction, timed by the wall clock and by the CPU time nft used. */
async function nft(ns: string, text: string): Promise<Applied> {
  const start = performance.now();
  const r = await run([...TIME, 'ip', 'netns', 'exec', ns, NFT, '-f', '-'], { input: text });
  const wallMs = performance.now() - start;
  const [user, sys] = (r.stderr.trim().split('\n').at(-1) ?? '').split(' ').map(Number);
  return { wallMs, cpuMs: TIME.length && user !== undefined && sys !== undefined ? (user + sys) * 1000 : Number.NaN };
}

function service(i: number): ServiceSnapshot {
  return {
    service: { namespace: `ns${i % 50}`, name: `svc-${i}`, portName: 'http', protocol: 'TCP', clusterIP: `10.43.${i >> 8}.${i & 255}`, port: 80, sessionAffinity: 'None', affinityTimeoutSeconds: 10800, externalTrafficPolicy: 'Cluster' },
    endpoints: [0, 1, 2].map((j) => ({ ip: `10.42.${(i >> 8) * 3 + j}.${i & 255}`, port: 8080, ready: true, nodeName: `node-${j}` })),
  };
}

/** The snapshot with one endpoint of the k-th Service moved to another pod (unchanged Services are the same objects). */
function withOneEndpointMoved(snapshot: ProxySnapshot, k: number, tag: number): ProxySnapshot {
  const services = [...snapshot.services];
  const changed = services[k]!;
  services[k] = { ...changed, endpoints: changed.endpoints.map((ep, j) => (j === 1 ? { ...ep, ip: `10.42.250.${tag}` } : ep)) };
  return { services };
}

async function timed<T>(work: () => T | Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const value = await work();
  return [performance.now() - start, value];
}

interface Figures {
  renderMs: number;
  /** Apply time of each transaction, in order: wall clock, and nft's CPU time. */
  applyMs: number[];
  cpuMs: number[];
  lines: number;
}

async function measureSync(ns: string, render: () => NftSyncResult): Promise<Figures & { result: NftSyncResult }> {
  const [renderMs, result] = await timed(render);
  const applyMs: number[] = [];
  const cpuMs: number[] = [];
  for (const text of result.transactions) {
    const applied = await nft(ns, text);
    applyMs.push(applied.wallMs);
    cpuMs.push(applied.cpuMs);
  }
  return { renderMs, applyMs, cpuMs, lines: result.transactions.reduce((n, t) => n + t.split('\n').length - 1, 0), result };
}

async function measureSize(services: number, chunkLines: number) {
  const ns = await freshNamespace();
  try {
    const snapshot: ProxySnapshot = { services: Array.from({ length: services }, (_, i) => service(i + 1)) };
    const options = { serviceCIDRs: SERVICE_CIDRS, chunkLines };
    const full = await measureSync(ns, () => renderNftSync(snapshot, NODE, undefined, options));
    // Two updates in a row; the second is the figure (the first warms the memo after a full sync).
    const once = withOneEndpointMoved(snapshot, Math.floor(services / 2), 1);
    const first = await measureSync(ns, () => renderNftSync(once, NODE, full.result.state, options));
    const twice = withOneEndpointMoved(once, Math.floor(services / 3), 2);
    const partial = await measureSync(ns, () => renderNftSync(twice, NODE, first.result.state, options));
    const empty = await nft(ns, '\n');
    const natRule = await nft(ns, 'add chain ip kube-proxy bench-floor { meta l4proto tcp dnat to 10.0.0.1:80 ; }\n');
    const { stdout } = await run(['ip', 'netns', 'exec', ns, NFT, 'list', 'chains', 'ip']);
    const chains = stdout.split('\n').filter((l) => l.trim().startsWith('chain ')).length;
    return { full: strip(full), partial: strip(partial), floors: { emptyMs: empty.wallMs, natRuleMs: natRule.wallMs, natRuleCpuMs: natRule.cpuMs }, chains };
  } finally {
    await deleteNamespace(ns);
  }
}

type Measured = Awaited<ReturnType<typeof measureSize>>;
const strip = ({ result: _r, ...f }: Figures & { result: NftSyncResult }): Figures => f;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const ms = (n: number) => `${n < 100 ? n.toFixed(1) : Math.round(n)} ms`;
/** CPU times come from /usr/bin/time in 10 ms steps. */
const cpu = (n: number) => (Number.isNaN(n) ? 'n/a' : n < 10 ? '<10 ms' : ms(n));

function loadSummary(): string {
  const [one] = loadavg();
  const cores = availableParallelism();
  return `1-min load average ${one!.toFixed(2)} on ${cores} cores${one! > cores ? ' (busy: figures are pessimistic)' : ''}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '1' }, sizes: { type: 'string', default: '1000,5000,10000' }, 'chunk-lines': { type: 'string', default: String(DEFAULT_CHUNK_LINES) }, monolithic: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } });
  const runs = Number(values.runs);
  const sizes = values.sizes.split(',').map(Number);
  const chunkLines = values.monolithic ? Number.MAX_SAFE_INTEGER : Number(values['chunk-lines']);
  if (!Number.isInteger(runs) || runs < 1 || sizes.some((n) => !Number.isInteger(n) || n < 1) || !(chunkLines >= 1)) throw new Error('--runs, --sizes and --chunk-lines want positive integers');
  if (process.getuid?.() !== 0) throw new Error('needs root (it creates network namespaces and runs nft in them)');
  const log = (line: string) => values.json || console.log(line);
  log(`load before: ${loadSummary()}`);
  log(`${NFT}; median of ${runs} run(s), each in a fresh namespace; 3 endpoints a Service; ${values.monolithic ? 'one monolithic transaction' : `chunks of ${chunkLines} lines`}`);
  const results: Record<number, Measured> = {};
  try {
    for (const n of sizes) {
      const all: Measured[] = [];
      for (let i = 0; i < runs; i++) all.push(await measureSize(n, chunkLines));
      const pick = (f: (r: Measured) => number) => median(all.map(f));
      const r = all[0]!;
      results[n] = r;
      const fullApply = pick((x) => sum(x.full.applyMs));
      log(`${n} Services (${r.chains} chains in the kernel)`);
      log(`   full sync:          render ${ms(pick((x) => x.full.renderMs)).padStart(8)}   apply ${ms(fullApply).padStart(8)} (nft CPU ${cpu(pick((x) => sum(x.full.cpuMs)))})   ${r.full.applyMs.length} transactions, ${r.full.lines} lines`);
      log(`   one-Service update: render ${ms(pick((x) => x.partial.renderMs)).padStart(8)}   live after ${ms(pick((x) => x.partial.applyMs[0] ?? 0)).padStart(8)} (nft CPU ${cpu(pick((x) => x.partial.cpuMs[0] ?? 0))})   cleanup ${ms(pick((x) => x.partial.applyMs[1] ?? 0))} (CPU ${cpu(pick((x) => x.partial.cpuMs[1] ?? 0))})   ${r.partial.lines} lines`);
      log(`   floors:             empty nft -f ${ms(pick((x) => x.floors.emptyMs))}; one chain with one DNAT rule ${ms(pick((x) => x.floors.natRuleMs))} (nft CPU ${cpu(pick((x) => x.floors.natRuleCpuMs))})`);
    }
  } finally {
    for (const ns of [...live]) await deleteNamespace(ns);
  }
  const verdicts: string[] = [];
  const big = results[10000];
  if (big) {
    const full = sum(big.full.applyMs);
    const update = big.partial.applyMs[0] ?? 0;
    verdicts.push(`${full < TARGETS.full10000Ms ? 'PASS' : 'FAIL'}  full sync at 10000 applied in ${ms(full)} < ${TARGETS.full10000Ms} ms (nft CPU ${cpu(sum(big.full.cpuMs))}; rendering ${ms(big.full.renderMs)} more)`);
    verdicts.push(`${update < TARGETS.partial10000Ms ? 'PASS' : 'FAIL'}  one-Service update at 10000 live in ${ms(update)} < ${TARGETS.partial10000Ms} ms (nft CPU ${cpu(big.partial.cpuMs[0] ?? 0)}; floor for any rule ${ms(big.floors.natRuleMs)}; cleanup ${ms(big.partial.applyMs[1] ?? 0)} after it; rendering ${ms(big.partial.renderMs)} before it)`);
  }
  log(`load after: ${loadSummary()}`);
  log('Verdict:');
  for (const v of verdicts) log(`   ${v}`);
  if (values.json) console.log(JSON.stringify({ runs, chunkLines, targets: TARGETS, results, verdicts }, null, 2));
  if (verdicts.some((v) => v.startsWith('FAIL'))) process.exitCode = 1;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (!interrupted) console.error(`\n${signal}: stopping; deleting ${[...live].join(', ') || 'no namespaces'}`);
    interrupted = signal;
  });
}

main().catch(async (err: Error) => {
  for (const ns of [...live]) await deleteNamespace(ns);
  console.error(err.message);
  process.exitCode = 2;
});
