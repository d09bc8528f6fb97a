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
// here, in chunks ~11 s: within one transaction the kernel looks each new anonymous set up by
// walking the whole transaction (nft_set_lookup_byid), so a transaction's cost grows with its square.
// Partial sync: (1) the changed ports' chains, new elements, stale chains emptied: no command
// that makes nft 1.0.6 read the table, so it costs what the change costs; (2) only when there is
// something to delete: element deletions and verdict changes, then stale chains and sets deleted.
// nft reads every chain and set for any `delete` (~300 ms at 10,000 Services); upstream too keeps
// deletion of stale chains out of the sync transaction (it deletes them a sync later), which
// deleteStale 'later' mirrors (partial.ts).
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
