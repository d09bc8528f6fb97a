// How one sync's objects are laid out as `nft -f` transactions, so that every chain and set a
// line refers to exists when the line is read, nothing that handles traffic is half written, and
// the transaction that makes a change live is one nft can apply without reading the whole table.
//
// Full sync, small (at most `chunkLines` lines): one transaction in upstream's order: setup, each
// Service port's chains, the elements, the stale chains and sets.
// Full sync, large: (1) the setup, with the sets and maps declared but not emptied; (2..n) the
// Service ports' chains, at most `chunkLines` lines a transaction; (n+1) the sets and maps emptied
// and filled again, and the stale objects deleted. The maps that send traffic to Service chains
// change only in the last one, atomically; each chunk replaces whole chains, so a node that has
// rules keeps working throughout. At 10,000 Services this text as one transaction took 82 s
// here, in chunks ~11 s. On a fresh node the chunks' chains are reachable from nothing until the
// last transaction fills the maps, so the table is validated once, at the end (perf: validation
// is ~1.5% of a full sync's kernel time).
//
// Where a full sync's time goes (kernel 6.18, measured 2026-11, perf record over all transactions
// of a 10,000-Service sync): ~72% is the Services' anonymous vmaps (upstream's `numgen random mod
// N vmap { ... }`, one per Service chain). Each new anonymous set walks the table's whole list of
// sets ~4 times: nf_tables_newset looks its name up, nf_tables_set_alloc_name sscanf()s every
// "__map%d" to find a free number, and nft_set_lookup_global walks it again for the set's elements
// and for the rule's lookup (the name never matches, then the transaction is searched by id). So
// N Services cost ~N^2/2 list steps, however they are split: 10,000 chains holding only such a
// vmap took 7.4 s of kernel time in transactions of 416 chains and 8.1 s in transactions of 2,000;
// 5,000 took 1.9 s; the same 10,000 chains with a plain `goto` instead, 0.13 s. Transactions of
// 1,500 lines instead of 5,000: the same CPU time (10.4 s against 9.9 s), more processes. Only
// __nft_set_trans_bind (~6%) walks the transaction itself. A 3 s full sync at 10,000 cannot be
// had with upstream's rules on this kernel; see test/bench/nftables-sync.ts for the floor.
// Partial sync: (1) the changed ports' chains, new elements, stale chains emptied: no command
// that makes nft 1.0.6 read the table, so it costs what the change costs; (2) only when there is
// something to delete: element deletions and verdict changes, then stale chains and sets deleted.
// nft reads every chain and set for any `delete` (~130-170 ms at 10,000 Services); upstream too
// keeps deletion of stale chains out of the sync transaction (it deletes them a sync later), which
// deleteStale 'later' mirrors (partial.ts).
// The first transaction of a partial sync cannot cost less than one validation of the whole table:
// a rule with a jump, a DNAT, a `meta` or a vmap, or a map element that jumps, makes the commit
// walk every chain reachable from the base chains (nft_table_validate; kernel 6.18 has no
// per-chain validation). At 10,000 Services one chain with one DNAT rule costs ~80-90 ms of
// kernel time (perf: ~85% nft_chain_validate, nft_setelem_validate, nft_table_validate), and an
// element `drop` or an empty chain ~1 ms: a one-Service update, which must add such rules, is at
// that floor (~97 ms wall, ~+2 ms for its one new anonymous set), so 30 ms is out of reach here.
import { addElementLines, deleteElementLine, type ElementChanges, type NftElement } from './elements.js';
import type { RenderedNftPort } from './service-port.js';
import { renderChunkPreamble, TABLE, type SetupLines } from './setup.js';

/** A Service port whose chains a sync writes. */
export interface PortWrite {
  port: RenderedNftPort;
  /** Affinity sets whose declaration changed (a new timeout): deleted and declared again. */
  replacedSets: readonly string[];
  /** The port's chains as last written (flushed before a replaced set can be deleted). */
  oldChains: readonly string[];
}

export interface FullLayout {
  setup: SetupLines;
  writes: readonly PortWrite[];
  /** Every element, each once. */
  elements: readonly NftElement[];
  staleChains: ReadonlySet<string>;
  staleSets: ReadonlySet<string>;
  chunkLines: number;
}

export function layOutFull({ setup, writes, elements, staleChains, staleSets, chunkLines }: FullLayout): string[] {
  if (!Number.isInteger(chunkLines) || chunkLines < 1) throw new RangeError(`chunkLines must be a positive integer, not ${chunkLines}`);
  const elementLines = addElementLines(elements);
  const stale = staleLines(staleChains, staleSets, true);
  let total = setup.declare.length + setup.flush.length + elementLines.length + staleChains.size * 2 + staleSets.size;
  for (const w of writes) total += w.port.lines;

  if (total <= chunkLines) {
    let text = lines([...setup.declare, ...setup.flush]);
    for (const w of writes) if (w.port.block) text += `\n${w.port.block}`;
    text += `\n${lines(elementLines)}${stale}`;
    return [text];
  }
  const transactions = [lines(setup.declare)];
  const preamble = lines(renderChunkPreamble());
  let chunk = '';
  let count = 0;
  for (const w of writes) {
    if (count > 0 && count + w.port.lines > chunkLines) {
      transactions.push(preamble + chunk);
      chunk = '';
      count = 0;
    }
    chunk += w.port.block;
    count += w.port.lines;
  }
  if (count > 0) transactions.push(preamble + chunk);
  transactions.push(lines([...setup.flush, ...elementLines]) + stale);
  return transactions;
}

export interface PartialLayout {
  writes: readonly PortWrite[];
  elements: ElementChanges;
  /** Chains this sync made stale: emptied in its first transaction. */
  flush: ReadonlySet<string>;
  deleteChains: ReadonlySet<string>;
  deleteSets: ReadonlySet<string>;
}

export function layOutPartial({ writes, elements, flush, deleteChains, deleteSets }: PartialLayout): string[] {
  let live = '';
  for (const w of writes) {
    if (w.replacedSets.length > 0) {
      // Rules in the port's own chains refer to the set: empty them before deleting it.
      for (const c of w.oldChains) live += `flush chain ${TABLE} ${c}\n`;
      for (const s of w.replacedSets) live += `delete set ${TABLE} ${s}\n`;
    }
    live += w.port.block;
  }
  live += lines(addElementLines(elements.added));
  for (const c of flush) live += `flush chain ${TABLE} ${c}\n`;

  let cleanup = '';
  for (const e of elements.deleted) cleanup += `${deleteElementLine(e)}\n`;
  for (const { before } of elements.changed) cleanup += `${deleteElementLine(before)}\n`;
  cleanup += lines(addElementLines(elements.changed.map((c) => c.after)));
  cleanup += staleLines(deleteChains, deleteSets, false);
  return [live, cleanup].filter((text) => text !== '');
}

/** Flush every stale chain (they may jump to each other) unless done already, then delete chains, then sets. */
function staleLines(chains: ReadonlySet<string>, sets: ReadonlySet<string>, flush: boolean): string {
  let text = '';
  if (flush) for (const c of chains) text += `flush chain ${TABLE} ${c}\n`;
  for (const c of chains) text += `delete chain ${TABLE} ${c}\n`;
  for (const s of sets) text += `delete set ${TABLE} ${s}\n`;
  return text;
}

function lines(list: readonly string[]): string {
  return list.length > 0 ? `${list.join('\n')}\n` : '';
}
