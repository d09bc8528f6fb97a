// How one sync's chains are laid out as iptables-restore transactions. A small sync is one
// transaction in upstream's layout (chain lines, then rules). A large one writes the per-service
// chains in chunks first and the top-level chains that jump to them last, in one transaction, so
// every jump target exists when it is referenced and nothing that handles traffic is ever half
// written: each chain is replaced whole by one transaction, and KUBE-SERVICES and its friends
// change atomically, on a fresh node and on one that already has rules alike.
//
// Filling KUBE-SERVICES chunk by chunk instead, on a fresh node, was measured and is slower: at
// every commit that adds a rule the kernel (6.18) walks every rule reachable from the built-in
// chains (nft_table_validate), ~40 ms for 5,000 Services. Chains nothing jumps to yet cost that
// walk nothing, so chunks that are only reached from the last transaction stay cheap; chunks that
// are reachable at once make each one pay for all before it: 1.50 s of iptables-restore CPU time
// against 1.37 s at 5,000 Services in chunks of 500, the later chunks growing from 120 to 170 ms.
//
// Inside a chunk, the order of the chains matters to two things the result does not depend on.
// iptables-nft 1.8.9's restore keeps the names of the chains a transaction mentions in a sorted
// linked list (cache_chain_list_insert in iptables/nft-cache.c), and every line walks it from its
// smallest name up to its own: the cost grows with the square of a chunk's size. And the kernel
// allocates rules in the order they come, which is the order its validation walk (above) reads
// them in when they were written Service by Service. So there are two orders:
// - 'by-service' (the default): Service by Service as in upstream's layout, each Service's
//   endpoint chains first and each kind by descending name (a name smaller than those already in
//   the list is found at its front). Restore at 5,000 Services in chunks of 500: 1.50 s of CPU
//   time (upstream's order: 1.66 s); the partial syncs that follow cost what they cost before.
// - 'by-name', for a fresh node: all endpoint chains of the chunk by descending name, then all
//   service chains, whose lines then walk past endpoint names that differ from theirs in the 7th
//   character. 1.36 s, but every partial sync after it costs ~6 ms more (58 -> 64 ms at 5,000)
//   until a full resync writes the rules again, Service by Service.
//
// Where the time goes at 5,000 Services (kernel 6.18, iptables 1.8.9, measured 2026-11 with perf
// and CPU times; see test/bench/proxy-sync.ts for the floors it prints):
// - A partial sync: any restore that adds one rule with a verdict (even `-j ACCEPT` in a chain
//   nothing jumps to) costs ~45-50 ms of CPU, ~90% of it nft_chain_validate/nft_table_validate
//   walking PREROUTING and OUTPUT -> KUBE-SERVICES -> every KUBE-SVC -> every KUBE-SEP (the walk
//   visits KUBE-SERVICES once per base chain that jumps to it); declaring a chain alone costs
//   ~3-4 ms, `ip netns exec` ~1 ms of CPU and 0.5-4 ms of wall time. A one-Service 'when-changed'
//   partial (~50 ms of CPU) is at that floor; the floor grows ~9 us a Service, so 30 ms is out of
//   reach above ~3,000 Services on this kernel, whatever the restore text. A persistent restore
//   process would save only the process start (~2 ms).
// - A full sync onto a fresh node: ~1.05-1.15 s of restore CPU in the chunks (chunks of 250, 500,
//   1,000 Services: 1.04-1.11, 1.11-1.13, 1.37-1.56 s), plus ~0.3 s in the last transaction
//   (5,000 KUBE-SERVICES rules, one validation), plus rendering (~150-300 ms). In a chunk, 18% is
//   iptables-nft's sorted chain-name list (strcmp), ~17% the kernel looking up each expression's
//   type by name (__nft_expr_type_get); in the last one, the sorted list again (5,000 jump
//   targets in random order) and the validation. On 2 cores the critical path is render + chunks
//   / 2 + last, ~1 s on a quiet machine: the 1 s target is at the edge and CPU-bound.
import { FILTER_TOP_LEVEL_CHAINS, KUBE_MARK_MASQ, NAT_TOP_LEVEL_CHAINS, markMasqRules } from './chains.js';
import type { RenderedChain } from './render-cache.js';
import { chainLine, tableSection } from './rules-text.js';

export interface TopLevelChain {
  table: 'filter' | 'nat';
  chain: string;
  rules: readonly string[];
}

export interface Layout {
  /** The chains of each Service port that must be written, in upstream's declaration order. */
  groups: readonly (readonly RenderedChain[])[];
  /** Top-level chains to (re)write, in the order upstream writes their rules. */
  topLevel: readonly TopLevelChain[];
  /** Chains to flush and delete, last. */
  stale: readonly string[];
  /** Above this many groups, write them in transactions of this many. */
  chunkServices: number;
  /** The order of the chains inside a chunk (see above). */
  chunkOrder: 'by-service' | 'by-name';
}

export interface LaidOut {
  transactions: string[];
  /** How many of the transactions, from the first, are chunks (see SyncResult.chunks). */
  chunks: number;
  /** `-A` lines in all transactions. */
  rules: number;
  /** Chains declared and filled, each counted once (deleted ones not counted). */
  chains: number;
}

export function layOut({ groups, topLevel, stale, chunkServices, chunkOrder }: Layout): LaidOut {
  const chunked = groups.length > chunkServices;
  const transactions: string[] = [];
  let chunks = 0;
  let rules = 0;
  let chains = 0;
  if (chunked) {
    for (let i = 0; i < groups.length; i += chunkServices) {
      // Each chunk (re)writes KUBE-MARK-MASQ, which its KUBE-SEP and KUBE-SVC rules jump to: on a
      // fresh node it would not exist before the last transaction otherwise.
      const lines = [chainLine(KUBE_MARK_MASQ), ...markMasqRules()];
      rules += markMasqRules().length;
      const chunk = groups.slice(i, i + chunkServices);
      for (const group of chunkOrder === 'by-service' ? chunk : [chunk.flat()]) {
        for (const c of [...byDescendingName(group.filter((c) => c.endpoint)), ...byDescendingName(group.filter((c) => !c.endpoint))]) {
          lines.push(chainLine(c.name));
          if (c.ruleCount > 0) lines.push(c.text);
          rules += c.ruleCount;
          chains++;
        }
      }
      transactions.push(tableSection('nat', [], lines));
      chunks++;
    }
  }

  // The last transaction, or the only one: upstream's layout, chain lines first.
  const inline = chunked ? [] : groups.flat();
  const declared = (table: string, order: readonly string[]): string[] => order.filter((chain) => topLevel.some((c) => c.table === table && c.chain === chain));
  const rulesOf = (table: string): string[] => topLevel.filter((c) => c.table === table).flatMap((c) => c.rules);
  const filterChains = declared('filter', FILTER_TOP_LEVEL_CHAINS);
  const natTop = declared('nat', NAT_TOP_LEVEL_CHAINS);
  const filterRules = rulesOf('filter');
  const natRules = rulesOf('nat');
  rules += filterRules.length + natRules.length;
  // Each inline chain's rules go in as one piece of text (its lines joined).
  for (const c of inline) {
    if (c.ruleCount > 0) natRules.push(c.text);
    rules += c.ruleCount;
  }
  let last = filterChains.length > 0 ? tableSection('filter', filterChains.map(chainLine), filterRules) : '';
  if (natTop.length + inline.length + stale.length > 0) {
    const natChains = [...natTop.map(chainLine), ...inline.map((c) => chainLine(c.name)), ...stale.map(chainLine)];
    // Deletions come last: by then nothing written in this transaction jumps to them.
    last += tableSection('nat', natChains, [...natRules, ...stale.map((chain) => `-X ${chain}`)]);
  }
  if (last) transactions.push(last);
  chains += filterChains.length + natTop.length + inline.length;
  if (chunked && !natTop.includes(KUBE_MARK_MASQ)) chains += 1;
  return { transactions, chunks, rules, chains };
}

function byDescendingName(chains: RenderedChain[]): RenderedChain[] {
  return chains.sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
}
