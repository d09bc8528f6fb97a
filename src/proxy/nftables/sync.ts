// One sync of a node's `table ip kube-proxy`: pure, from a snapshot (and what the last sync
// wrote) to the texts for `nft -f -`. Mirrors syncProxyRules in pkg/proxy/nftables/proxier.go:
// a full sync (no `previous`, upstream's needFullSync) runs setupNFTables, rebuilds every set and
// map and writes every Service port's chains; a partial sync writes only the chains of ports that
// changed, adds and deletes only the elements that changed, and removes stale chains and affinity
// sets. Where upstream lists the kernel's chains and sets, this remembers what it wrote in a
// JSON-serialisable NftSyncState.
//
// Departures, each measured here (test/bench/nftables-sync.ts, nft 1.0.6, kernel 6.18):
// - A full sync of many Services is written as several transactions (layout.ts): one transaction
//   of 10,000 Services took 17.6 s (DESIGN.md), 82 s with this text; in chunks ~11 s, most of it
//   the kernel creating upstream's 10,000 anonymous vmaps (~N^2, see layout.ts).
// - Rules are written as chain blocks and elements as set and map blocks (chainBlock in setup.ts):
//   the same objects, but nft then does not read every chain and set of the table first.
// - A partial sync is two transactions: the change, with nothing that makes nft read the table,
//   then the deletions, which do. Stale chains are deleted in the second one, where upstream
//   deletes them a sync (and at least a second) later, for kernels before 6.2 that still counted
//   a chain as referenced for a moment after its last map element went; `deleteStale: 'later'`
//   defers them the same way.
import { servicePortName } from '../hash.js';
import type { NodeContext, ProxySnapshot, ServiceSnapshot } from '../types.js';
import { uniqueElements } from './elements.js';
import { layOutFull, layOutPartial, type PortWrite } from './layout.js';
import { planPartial, type NftSyncState } from './partial.js';
import { NftPortMemo } from './memo.js';
import { isAffinitySetName, isServiceChainName } from './names.js';
import { MASQUERADE_MARK, renderSetup, type SetupInputs } from './setup.js';

export type { NftPortRecord, NftSyncState } from './partial.js';

export interface NftSyncOptions {
  /** Service CIDRs for cluster-ips-check's drop rule (k3s: 10.43.0.0/16). Default: none, no rule. */
  serviceCIDRs?: readonly string[];
  /** IPs that accept NodePorts (nodeport-ips). Default: the node's IPv4 addresses, as nftables mode's `--nodeport-addresses primary`. */
  nodePortIPs?: readonly string[];
  masqueradeMark?: string;
  /** A full sync writes Service ports' chains in transactions of at most this many lines. */
  chunkLines?: number;
  /** Full sync even though `previous` is given (its chains are still cleaned up). */
  fullSync?: boolean;
  /** Per-service chains / sets the kernel has (`nft list chains`), for cleanup after the agent lost its state. */
  existingChains?: readonly string[];
  existingSets?: readonly string[];
  /** Rendered ports to reuse. Default: the memo that came with `previous`, else a new one. `false`: none. */
  memo?: NftPortMemo | false;
  /**
   * When a partial sync deletes the chains and sets it made stale. 'now' (default): in its second
   * transaction. 'later': it only empties the chains and leaves the deletion to the next sync
   * with 'now' (or a full sync), as upstream deletes stale chains a sync later. Deleting anything
   * makes nft 1.0.6 read the whole table (~300 ms at 10,000 Services): an agent under churn can
   * pass 'later' and 'now' once a second or when idle.
   */
  deleteStale?: 'now' | 'later';
}

export interface NftSyncStats {
  partial: boolean;
  services: number;
  /** Service ports whose chains were written. */
  writtenServices: number;
  rules: number;
  elementsAdded: number;
  elementsDeleted: number;
  deletedChains: number;
  deletedSets: number;
}

export interface NftSyncResult {
  /** Texts for `nft -f -`, to apply in order; each is one kernel transaction. Empty: nothing to do. */
  transactions: string[];
  state: NftSyncState;
  stats: NftSyncStats;
}

/** ~400 Services of 3 endpoints a chunk: measured best of 2,500 / 5,000 / 20,000 at 10,000 Services. */
export const DEFAULT_CHUNK_LINES = 5_000;

const memoOfState = new WeakMap<NftSyncState, NftPortMemo>();

export function renderNftSync(snapshot: ProxySnapshot, node: NodeContext, previous?: NftSyncState, options: NftSyncOptions = {}): NftSyncResult {
  const setupInputs: SetupInputs = {
    nodePortIPs: options.nodePortIPs ?? node.nodeIPs.filter((ip) => !ip.includes(':')),
    serviceCIDRs: options.serviceCIDRs ?? [],
    masqueradeMark: options.masqueradeMark ?? MASQUERADE_MARK,
  };
  const setup = JSON.stringify([node.nodeName, node.clusterCIDR, setupInputs.nodePortIPs, setupInputs.serviceCIDRs, setupInputs.masqueradeMark]);
  const full = previous === undefined || options.fullSync === true || previous.version !== 1 || previous.setup !== setup;
  const memo = options.memo === false ? new NftPortMemo() : (options.memo ?? (previous && memoOfState.get(previous)) ?? new NftPortMemo());
  memo.useContext({ nodeName: node.nodeName, clusterCIDR: node.clusterCIDR });

  const ports = memo.renderAll(snapshot.services, portKey);
  const state: NftSyncState = { version: 1, setup, ports: ports.map((p) => p.record) };
  if (options.memo !== false) memoOfState.set(state, memo);

  const old = previous?.ports ?? [];
  const writes: PortWrite[] = [];
  const staleChains = new Set<string>();
  const staleSets = new Set<string>();
  let elementsAdded = 0;
  let elementsDeleted = 0;
  let text: string[];
  if (full) {
    const active = new Set<string>();
    const activeSets = new Set<string>();
    for (const port of ports) {
      writes.push({ port, replacedSets: [], oldChains: [] });
      for (const c of port.chains) active.add(c);
      for (const [s] of port.sets) activeSets.add(s);
    }
    for (const record of old) {
      for (const c of record.chains) if (!active.has(c)) staleChains.add(c);
      for (const [s] of record.sets) if (!activeSets.has(s)) staleSets.add(s);
    }
    for (const c of previous?.pending?.chains ?? []) if (!active.has(c)) staleChains.add(c);
    for (const set of previous?.pending?.sets ?? []) if (!activeSets.has(set)) staleSets.add(set);
    for (const c of options.existingChains ?? []) if (isServiceChainName(c) && !active.has(c)) staleChains.add(c);
    for (const s of options.existingSets ?? []) if (isAffinitySetName(s) && !activeSets.has(s)) staleSets.add(s);
    const elements = uniqueElements(ports.map((p) => p.elements));
    const setupLines = renderSetup(setupInputs, previous === undefined);
    text = layOutFull({ setup: setupLines, writes, elements, staleChains, staleSets, chunkLines: options.chunkLines ?? DEFAULT_CHUNK_LINES });
    elementsAdded = elements.length;
  } else {
    const plan = planPartial(ports, previous!, options.deleteStale ?? 'now');
    writes.push(...plan.writes);
    if (plan.pending) state.pending = plan.pending;
    for (const c of plan.deleteChains) staleChains.add(c);
    for (const set of plan.deleteSets) staleSets.add(set);
    elementsAdded = plan.elements.added.length + plan.elements.changed.length;
    elementsDeleted = plan.elements.deleted.length + plan.elements.changed.length;
    text = layOutPartial(plan);
  }

  let rules = 0;
  for (const w of writes) rules += w.port.rules;
  return {
    transactions: text,
    state,
    stats: { partial: !full, services: ports.length, writtenServices: writes.length, rules, elementsAdded, elementsDeleted, deletedChains: staleChains.size, deletedSets: staleSets.size },
  };
}

/** `namespace/name:port/PROTOCOL`: a Service port's identity, as upstream's ServicePortName. */
function portKey(s: ServiceSnapshot): string {
  return `${servicePortName(s.service)}/${s.service.protocol}`;
}
