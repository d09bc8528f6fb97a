// What a partial sync must change, from the Service ports now and what the last sync wrote.
// Mirrors the partial-sync parts of syncProxyRules in pkg/proxy/nftables/proxier.go: the chains
// of a Service that did not change are skipped (skipServiceUpdate), map and set elements are
// added, replaced or deleted one by one (nftElementStorage.ensureElem, cleanupLeftoverKeys), and
// chains no Service uses any more are emptied and deleted (staleChains). Where upstream asks the
// kernel which chains and sets exist, this reads the records of the previous NftSyncState.
import { diffElements, elementKey, type ElementChanges, type NftElement } from './elements.js';
import type { PortWrite } from './layout.js';
import type { RenderedNftPort } from './service-port.js';

/** What the last successful sync wrote, per Service port, plus the node-level inputs of its setup. */
export interface NftSyncState {
  version: 1;
  /** The node-level inputs (node, pod CIDR, node port IPs, Service CIDRs, mark); a change forces a full sync. */
  setup: string;
  /** Sorted by key. */
  ports: NftPortRecord[];
  /** Chains emptied and sets no longer used, not yet deleted (deleteStale 'later'). */
  pending?: { chains: string[]; sets: string[] };
}

export interface NftPortRecord {
  /** `namespace/name:port/PROTOCOL`. */
  key: string;
  digest: string;
  chains: string[];
  sets: [name: string, declaration: string][];
  elements: NftElement[];
}

export interface PartialPlan {
  writes: PortWrite[];
  elements: ElementChanges;
  /** Stale chains of this sync: emptied in the sync's first transaction. */
  flush: Set<string>;
  deleteChains: Set<string>;
  deleteSets: Set<string>;
  /** What stays to be deleted by a later sync. */
  pending?: { chains: string[]; sets: string[] };
}

export function planPartial(ports: readonly RenderedNftPort[], previous: NftSyncState, deleteStale: 'now' | 'later'): PartialPlan {
  const old = previous.ports;
  const writes: PortWrite[] = [];
  const flush = new Set<string>();
  const staleSets = new Set<string>();
  const before: NftElement[] = [];
  const after: NftElement[] = [];
  const gone = (record: NftPortRecord): void => {
    for (const c of record.chains) flush.add(c);
    for (const [s] of record.sets) staleSets.add(s);
    before.push(...record.elements);
  };
  const changed = (port: RenderedNftPort, was?: NftPortRecord): void => {
    const chains = new Set(port.chains);
    const sets = new Map(port.sets);
    const replacedSets: string[] = [];
    for (const c of was?.chains ?? []) if (!chains.has(c)) flush.add(c);
    for (const [s, declaration] of was?.sets ?? []) {
      if (!sets.has(s)) staleSets.add(s);
      else if (sets.get(s) !== declaration) replacedSets.push(s);
    }
    writes.push({ port, replacedSets, oldChains: was?.chains ?? [] });
    if (was) before.push(...was.elements);
    after.push(...port.elements);
  };
  // Both lists are sorted by key: one walk finds what changed, came or went. A port the memo
  // kept is the very record `previous` holds, so most steps compare two pointers.
  let i = 0;
  for (const port of ports) {
    while (i < old.length && old[i]!.key < port.key) gone(old[i++]!);
    const was = i < old.length && old[i]!.key === port.key ? old[i++] : undefined;
    if (was !== port.record && was?.digest !== port.digest) changed(port, was);
  }
  while (i < old.length) gone(old[i++]!);

  // Stale objects of earlier syncs: a chain written again is live again; a set declared again is
  // replaced (its declaration may differ; nothing uses it, its chains were emptied).
  const pendingChains = new Set(previous.pending?.chains);
  const pendingSets = new Set(previous.pending?.sets);
  for (const w of writes) {
    for (const c of w.port.chains) pendingChains.delete(c);
    for (const [set] of w.port.sets) if (pendingSets.delete(set)) (w.replacedSets as string[]).push(set);
  }
  let held: Set<string> | undefined;
  const heldElsewhere = (k: string): boolean => (held ??= new Set(ports.flatMap((p) => p.elements.map(elementKey)))).has(k);
  const elements = diffElements(before, after, heldElsewhere);
  if (deleteStale === 'later') {
    const chains = [...pendingChains, ...flush];
    const sets = [...pendingSets, ...staleSets];
    const pending = chains.length + sets.length > 0 ? { chains, sets } : undefined;
    return { writes, elements, flush, deleteChains: new Set(), deleteSets: new Set(), ...(pending ? { pending } : {}) };
  }
  return { writes, elements, flush, deleteChains: new Set([...pendingChains, ...flush]), deleteSets: new Set([...pendingSets, ...staleSets]) };
}
