// Measures kube-proxy's nftables mode on this machine's kernel and nft: a full sync of 1,000,
// 5,000 and 10,000 Services x 3 endpoints into a fresh namespace, then a one-Service partial sync
// on top (one endpoint of one Service moves). Rendering (pure TypeScript) and applying (`nft -f -`,
// one process per transaction) are timed separately; a partial sync's apply is split into the
// transaction that makes the change live and the one that deletes what it left (see layout.ts).
// Floors, measured at each size because they are what the targets run into on kernel 6.18:
// - an empty `nft -f` run (process start, `ip netns exec`);
// - a transaction that adds one chain with one DNAT rule to the full table: any rule with a
//   verdict, a DNAT, a `meta` or a vmap, and any map element that jumps, makes the commit validate
//   the whole table (nft_table_validate walks every chain reachable from the base chains, every
//   element of @service-ips, every Service's anonymous vmap). 6.18 has no per-chain validation
//   (Pablo Neira's "chain validation on updates" series, 2025, is not in it). A one-Service
//   update must add such rules, so this is its floor;
// - anonymous maps alone: in another fresh namespace, as many chains as there are Services, each
//   with nothing but upstream's `numgen random mod 1 vmap { 0 : goto ... }`, in transactions of
//   400 chains. Creating an anonymous set walks the table's whole list of sets several times
//   (nf_tables_newset's name lookup, nf_tables_set_alloc_name's sscanf of every "__map%d",
//   nft_set_lookup_global for the elements and for the rule's lookup), so N Services cost ~N^2/2
//   list steps however they are split into transactions. This is the floor of a full sync that
//   writes upstream's rules (`--skip-anon-floor` leaves it out).
// Targets (issue 8): full sync at 10,000 under 3 s; one-Service update at 10,000 under 30 ms.
//
//   node --import tsx test/bench/nftables-sync.ts [--runs N] [--sizes 1000,5000,10000]
//        [--chunk-lines N] [--monolithic] [--skip-anon-floor] [--json]
//
// Needs root. Each measurement gets a fresh namespace `kn.bench-nft-<pid>-<n>`; all of them are
// deleted at the end, also on an error or Ctrl-C.
import { parseArgs } from 'node:util';
import { DEFAULT_CHUNK_LINES } from '../../src/proxy/nftables/index.js';
import { deleteAllNamespaces, deleteNamespace, freshNamespace, interruptedBy, loadSummary, measureNftSize, median, NFT, nftApply, stopOnSignals, type NftApplied } from './lib.js';

const TARGETS = { full10000Ms: 3000, partial10000Ms: 30 };

/** Full sync, one-Service update and floors at one size, in a fresh namespace `kn.bench-nft-<pid>-<n>`. */
const measureSize = (services: number, chunkLines: number) => measureNftSize('kn.bench-nft', services, { chunkLines });

/** Chains in each transaction of the anonymous-map floor: about what a chunk of the full sync holds. */
const ANON_FLOOR_CHAINS = 400;

/**
 * In a fresh namespace, `services` chains each holding one anonymous vmap (upstream's rule for a
 * Service of one endpoint), and nothing else: what the anonymous maps of a full sync cost alone.
 * The chains jump to one empty chain and nothing jumps to them, so no validation is involved.
 */
async function anonymousMapFloor(services: number): Promise<NftApplied> {
  const ns = await freshNamespace('kn.bench-nft-anon');
  try {
    const total: NftApplied = { wallMs: 0, cpuMs: 0 };
    const add = ({ wallMs, cpuMs }: NftApplied): void => {
      total.wallMs += wallMs;
      total.cpuMs += cpuMs;
    };
    add(await nftApply(ns, 'add table ip kube-proxy\nadd chain ip kube-proxy mark-for-masquerade\n'));
    for (let i = 0; i < services; i += ANON_FLOOR_CHAINS) {
      let text = '';
      for (let j = i; j < Math.min(services, i + ANON_FLOOR_CHAINS); j++) text += `add chain ip kube-proxy anon-floor-${j} { numgen random mod 1 vmap { 0 : goto mark-for-masquerade } ; }\n`;
      add(await nftApply(ns, text));
    }
    return total;
  } finally {
    await deleteNamespace(ns);
  }
}

type Measured = Awaited<ReturnType<typeof measureSize>> & { anon?: NftApplied };
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const ms = (n: number) => `${n < 100 ? n.toFixed(1) : Math.round(n)} ms`;
/** CPU times come from /usr/bin/time in 10 ms steps. */
const cpu = (n: number) => (Number.isNaN(n) ? 'n/a' : n < 10 ? '<10 ms' : ms(n));

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '1' }, sizes: { type: 'string', default: '1000,5000,10000' }, 'chunk-lines': { type: 'string', default: String(DEFAULT_CHUNK_LINES) }, monolithic: { type: 'boolean', default: false }, 'skip-anon-floor': { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } });
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
      for (let i = 0; i < runs; i++) {
        const m: Measured = await measureSize(n, chunkLines);
        if (!values['skip-anon-floor']) m.anon = await anonymousMapFloor(n);
        all.push(m);
      }
      const pick = (f: (r: Measured) => number) => median(all.map(f));
      const r = all[0]!;
      results[n] = r;
      const fullApply = pick((x) => sum(x.full.applyMs));
      log(`${n} Services (${r.chains} chains in the kernel)`);
      log(`   full sync:          render ${ms(pick((x) => x.full.renderMs)).padStart(8)}   apply ${ms(fullApply).padStart(8)} (nft CPU ${cpu(pick((x) => sum(x.full.cpuMs)))})   ${r.full.applyMs.length} transactions, ${r.full.lines} lines`);
      log(`   one-Service update: render ${ms(pick((x) => x.partial.renderMs)).padStart(8)}   live after ${ms(pick((x) => x.partial.applyMs[0] ?? 0)).padStart(8)} (nft CPU ${cpu(pick((x) => x.partial.cpuMs[0] ?? 0))})   cleanup ${ms(pick((x) => x.partial.applyMs[1] ?? 0))} (CPU ${cpu(pick((x) => x.partial.cpuMs[1] ?? 0))})   ${r.partial.lines} lines`);
      log(`   floors:             empty nft -f ${ms(pick((x) => x.floors.emptyMs))}; one chain with one DNAT rule ${ms(pick((x) => x.floors.natRuleMs))} (nft CPU ${cpu(pick((x) => x.floors.natRuleCpuMs))})`);
      if (r.anon) log(`                       ${n} anonymous vmaps alone, nothing else: ${ms(pick((x) => x.anon?.wallMs ?? 0))} (nft CPU ${cpu(pick((x) => x.anon?.cpuMs ?? 0))}), the floor of a full sync`);
    }
  } finally {
    await deleteAllNamespaces();
  }
  const verdicts: string[] = [];
  const big = results[10000];
  if (big) {
    const full = sum(big.full.applyMs);
    const update = big.partial.applyMs[0] ?? 0;
    const anon = big.anon ? `; its 10000 anonymous vmaps alone ${ms(big.anon.wallMs)}, CPU ${cpu(big.anon.cpuMs)}` : '';
    verdicts.push(`${full < TARGETS.full10000Ms ? 'PASS' : 'FAIL'}  full sync at 10000 applied in ${ms(full)} < ${TARGETS.full10000Ms} ms (nft CPU ${cpu(sum(big.full.cpuMs))}; rendering ${ms(big.full.renderMs)} more${anon})`);
    verdicts.push(`${update < TARGETS.partial10000Ms ? 'PASS' : 'FAIL'}  one-Service update at 10000 live in ${ms(update)} < ${TARGETS.partial10000Ms} ms (nft CPU ${cpu(big.partial.cpuMs[0] ?? 0)}; floor for any rule ${ms(big.floors.natRuleMs)}; cleanup ${ms(big.partial.applyMs[1] ?? 0)} after it; rendering ${ms(big.partial.renderMs)} before it)`);
  }
  log(`load after: ${loadSummary()}`);
  log('Verdict:');
  for (const v of verdicts) log(`   ${v}`);
  if (values.json) console.log(JSON.stringify({ runs, chunkLines, targets: TARGETS, results, verdicts }, null, 2));
  if (verdicts.some((v) => v.startsWith('FAIL'))) process.exitCode = 1;
}

stopOnSignals();

main().catch(async (err: Error) => {
  await deleteAllNamespaces();
  console.error(err.message);
  process.exitCode = interruptedBy() ? 130 : 2;
});
