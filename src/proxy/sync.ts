// One sync of a node's kube-proxy rules: pure, from a snapshot (and what the last sync wrote) to
// iptables-restore transactions. Like syncProxyRules in pkg/proxy/iptables/proxier.go, every
// sync rewrites the top-level chains whole and, in a partial sync (kube-proxy 1.28+), writes a
// Service's own chains only when they changed; chains that are gone get a chain line plus `-X`.
// Where upstream asks iptables-save which chains exist, this remembers what it wrote in a
// JSON-serialisable SyncState.
//
// Two additions upstream does not have. A full sync of many Services is split into several
// transactions (transactions.ts: one 75k-line restore took 7.96 s on the nft backend). And each
// Service port's rendered rules are remembered (render-cache.ts), so a partial sync renders only
// the Services whose inputs changed; the cache rides along with the SyncState it produced.
import { KUBE_EXTERNAL_SERVICES, KUBE_FIREWALL, KUBE_FORWARD, KUBE_MARK_MASQ, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_PROXY_FIREWALL, KUBE_SERVICES, forwardRules, kubeletFirewallRules, markMasqRules, nodePortsTailRule, postroutingRules } from './chains.js';
import { isServiceChainName, servicePortName } from './hash.js';
import { RenderCache, digestOf, renderPort, type KeyedPort, type RenderedChain, type RenderedPort, type SharedRules } from './render-cache.js';
import type { RenderContext } from './service-rules.js';
import { layOut, type TopLevelChain } from './transactions.js';
import type { NodeContext, ProxySnapshot, ServiceSnapshot } from './types.js';

export { RenderCache } from './render-cache.js';

/** What the last successful sync wrote: each per-service nat chain and a digest of its rules. */
export interface SyncState {
  version: 1;
  chains: Record<string, string>;
  /** The same for the top-level chains, as `table/CHAIN` (used by topLevelChains: 'when-changed'). */
  topLevel: Record<string, string>;
}

export interface RenderOptions {
  /** Above this many Services with chains to write, write them in transactions of this many. */
  chunkServices?: number;
  /**
   * The caller knows the node has none of kube-proxy's chains yet, only the jump rules of
   * renderJumpRules (a node just created). A hint, the rules are the same: the chains inside each
   * chunk are ordered for a faster restore, at the price of slightly slower partial syncs until
   * the next full sync (see transactions.ts).
   */
  freshNode?: boolean;
  /**
   * Nat chains present on the node (from iptables-save). Stale kube-proxy chains among them are
   * deleted too, as upstream finds them; useful for a full sync after the agent lost its state.
   */
  existingChains?: readonly string[];
  /**
   * 'always' (upstream, the default): every sync rewrites the top-level chains. 'when-changed'
   * (a knetlab shortcut, not upstream): a partial sync skips those whose rules did not change,
   * so a one-Service change does not rewrite KUBE-SERVICES' thousands of rules.
   */
  topLevelChains?: 'always' | 'when-changed';
  /**
   * Where rendered Service ports are remembered. Default: the cache that came with `previous`
   * (when renderSync returned it in this process), else a new one, which the returned state
   * carries to the next sync. `false`: render everything afresh. The output never depends on it.
   */
  cache?: RenderCache | false;
}

export interface SyncStats {
  /** Service ports rendered. */
  services: number;
  /** `-A` lines written, in all transactions. */
  rules: number;
  /** Chains declared and filled (not counting deleted ones). */
  chains: number;
  deletedChains: number;
  partial: boolean;
}

export interface SyncResult {
  /**
   * iptables-restore --noflush --counters inputs, to apply in this order. Each commits as one
   * kernel transaction per table. They may also be joined and given to one iptables-restore,
   * which commits each `*table` ... `COMMIT` section in turn: same result, one process.
   */
  transactions: string[];
  /**
   * How many of the transactions, from the first, are chunks of per-service chains (0 when the
   * sync is one transaction). Chunks write disjoint chains and jump only to chains they write
   * themselves (each rewrites KUBE-MARK-MASQ), so they may be applied in any order, or two
   * iptables-restore at a time (iptables-nft retries a restore whose cache went stale meanwhile);
   * the transactions after them must wait for all of them.
   */
  chunks: number;
  state: SyncState;
  stats: SyncStats;
}

export const DEFAULT_CHUNK_SERVICES = 500;
/** Upstream's largeClusterEndpointsThreshold. */
export const LARGE_CLUSTER_ENDPOINTS = 1000;

const SHARED_KEYS = ['natServices', 'natNodePorts', 'filterServices', 'filterExternalServices'] as const;

/** The cache each returned state came with (a WeakMap keeps the state itself plain JSON data). */
const cacheOfState = new WeakMap<SyncState, RenderCache>();

/** `previous` undefined: full sync. Otherwise a partial sync on top of what `previous` describes. */
export function renderSync(snapshot: ProxySnapshot, node: NodeContext, previous?: SyncState, options: RenderOptions = {}): SyncResult {
  const chunkServices = options.chunkServices ?? DEFAULT_CHUNK_SERVICES;
  if (!Number.isInteger(chunkServices) || chunkServices < 1) throw new RangeError(`chunkServices must be a positive integer, not ${chunkServices}`);
  const cache = options.cache === false ? undefined : (options.cache ?? (previous && cacheOfState.get(previous)) ?? new RenderCache());
  const ports = uniqueSortedPorts(snapshot.services, cache);
  let totalEndpoints = 0;
  for (const p of ports) totalEndpoints += p.snapshot.endpoints.length;
  const ctx: RenderContext = { nodeName: node.nodeName, clusterCIDR: node.clusterCIDR, largeClusterMode: totalEndpoints > LARGE_CLUSTER_ENDPOINTS };
  // Every Service port is rendered, as upstream does even in a partial sync (from the cache when
  // its inputs did not change); the chains that changed are written.
  const rendered = cache ? cache.renderAll(ports, ctx) : ports.map((p) => renderPort(p, ctx));
  const state = stateOf(rendered, cache !== undefined);

  // When `previous` is what the last sync with this cache returned, that sync's ports say what
  // `previous` holds: a port that was part of it wrote exactly its chains then, and only the
  // ports rendered since can differ. That spares reading `previous.chains` (20,000 names).
  const last = cache?.last && cache.last.state === previous ? cache.last.ports : undefined;
  const renderedSince = rendered.filter((port) => previous === undefined || port.syncedIn !== previous);
  if (cache) for (const port of rendered) port.syncedIn = state;
  const replaced = last?.filter((port) => port.syncedIn !== state) ?? [];
  const lastDigests = new Map(replaced.flatMap((port) => port.chains.map((c) => [c.name, c.digest] as const)));
  const previousDigest = (chain: string): string | undefined => (last ? lastDigests.get(chain) : previous?.chains[chain]);

  // A full sync writes every chain (and needs no digest before the state is read).
  const groups: (readonly RenderedChain[])[] = [];
  for (const port of renderedSince) {
    const group = previous === undefined ? port.chains : port.chains.filter((chain) => previousDigest(chain.name) !== chain.digest);
    if (group.length > 0) groups.push(group);
  }
  // Chains written before that no port has now: only the replaced ports can have left any behind.
  let gone: string[];
  if (last) {
    const current = new Set(renderedSince.flatMap((port) => port.chains.map((c) => c.name)));
    gone = [...lastDigests.keys()].filter((chain) => !current.has(chain));
  } else {
    gone = Object.keys(previous?.chains ?? {}).filter((chain) => !(chain in state.chains));
  }
  const stale = staleChains(state, gone, options.existingChains);

  // The shared chains' digests are those of `previous` when no port's share of them changed.
  const sharedDigests = last && sameSharedRules(last, rendered) ? previous?.topLevel : undefined;
  const written = topLevelChains(rendered).filter((c) => {
    const key = `${c.table}/${c.chain}`;
    state.topLevel[key] = (c.shared ? sharedDigests?.[key] : undefined) ?? digestOf(c.rules);
    return options.topLevelChains !== 'when-changed' || previous?.topLevel?.[key] !== state.topLevel[key];
  });
  const out = layOut({ groups, topLevel: written, stale, chunkServices, chunkOrder: options.freshNode ? 'by-name' : 'by-service' });

  if (cache) {
    cache.last = { ports: rendered, state };
    cacheOfState.set(state, cache);
  }
  return {
    transactions: out.transactions,
    chunks: out.chunks,
    state,
    stats: { services: ports.length, rules: out.rules, chains: out.chains, deletedChains: stale.length, partial: previous !== undefined },
  };
}

/**
 * A new state. With a cache, its `chains` is listed from the ports when first read: it reads,
 * serialises and compares as a plain object, but a partial sync that nobody inspects never builds
 * it (the agent only hands the state to the next sync, and at 5,000 Services its 20,000 keys cost
 * more than the rest of rendering). The ports are kept by the cache anyway.
 */
function stateOf(ports: readonly RenderedPort[], lazy: boolean): SyncState {
  const state: SyncState = { version: 1, chains: {}, topLevel: {} };
  if (!lazy) {
    for (const port of ports) for (const chain of port.chains) state.chains[chain.name] = chain.digest;
    return state;
  }
  const settle = (chains: Record<string, string>): void => {
    Object.defineProperty(state, 'chains', { value: chains, enumerable: true, writable: true, configurable: true });
  };
  Object.defineProperty(state, 'chains', {
    enumerable: true,
    configurable: true,
    get(): Record<string, string> {
      const chains: Record<string, string> = {};
      for (const port of ports) for (const chain of port.chains) chains[chain.name] = chain.digest;
      settle(chains);
      return chains;
    },
    set: settle,
  });
  return state;
}

/**
 * The top-level chains, in the order upstream writes their rules. The rules of the four that
 * Service ports share are gathered only when asked for (`rules` is a getter): a partial sync
 * that keeps their digests and does not write them never builds KUBE-SERVICES' 5,000 lines.
 */
function topLevelChains(ports: readonly RenderedPort[]): (TopLevelChain & { shared: boolean })[] {
  const fixed = (table: 'filter' | 'nat', chain: string, rules: string[]) => ({ table, chain, rules, shared: false });
  const shared = (table: 'filter' | 'nat', chain: string, key: keyof SharedRules, tail: string[] = []) => {
    let rules: string[] | undefined;
    return {
      table,
      chain,
      shared: true,
      get rules(): string[] {
        if (!rules) {
          rules = [];
          for (const port of ports) for (const line of port.shared[key]) rules.push(line);
          rules.push(...tail);
        }
        return rules;
      },
    };
  };
  return [
    fixed('filter', KUBE_FIREWALL, kubeletFirewallRules()),
    shared('filter', KUBE_SERVICES, 'filterServices'),
    shared('filter', KUBE_EXTERNAL_SERVICES, 'filterExternalServices'),
    fixed('filter', KUBE_FORWARD, forwardRules()),
    fixed('filter', KUBE_NODEPORTS, []),
    fixed('filter', KUBE_PROXY_FIREWALL, []),
    fixed('nat', KUBE_POSTROUTING, postroutingRules()),
    fixed('nat', KUBE_MARK_MASQ, markMasqRules()),
    shared('nat', KUBE_SERVICES, 'natServices', [nodePortsTailRule()]),
    shared('nat', KUBE_NODEPORTS, 'natNodePorts'),
  ];
}

/** Whether every port puts the same rules into the shared chains as in the last sync, in the same order. */
function sameSharedRules(last: readonly RenderedPort[], now: readonly RenderedPort[]): boolean {
  if (last.length !== now.length) return false;
  for (let i = 0; i < now.length; i++) {
    const a = last[i]!;
    const b = now[i]!;
    if (a === b) continue;
    if (a.key !== b.key) return false;
    for (const key of SHARED_KEYS) if (!sameLines(a.shared[key], b.shared[key])) return false;
  }
  return true;
}

function sameLines(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((line, i) => line === b[i]);
}

/**
 * Chains to delete: those written before that are gone, and kube-proxy's chains that exist on the
 * node and are not active now, by descending name (the cheap order for iptables-nft, see
 * transactions.ts).
 */
function staleChains(state: SyncState, gone: readonly string[], existing: readonly string[] = []): string[] {
  const stale = new Set(gone);
  for (const chain of existing) if (isServiceChainName(chain) && !(chain in state.chains)) stale.add(chain);
  return [...stale].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
}

/**
 * Service ports in a stable order (upstream iterates a Go map, so any order is faithful; sorted
 * output makes golden files and diffs readable). A port given twice: the later one wins, as in
 * upstream's ServicePortMap. The sort is remembered: a snapshot listing the same ports in the
 * same order as last time is not sorted again.
 */
function uniqueSortedPorts(services: readonly ServiceSnapshot[], cache?: RenderCache): KeyedPort[] {
  const keys = services.map((s) => `${servicePortName(s.service)}/${s.service.protocol}`);
  let sorted = cache?.order && sameLines(cache.order.keys, keys) ? cache.order.sorted : undefined;
  if (!sorted) {
    const lastIndex = new Map<string, number>();
    keys.forEach((key, i) => lastIndex.set(key, i));
    sorted = [...lastIndex.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, i]) => i);
    if (cache) cache.order = { keys, sorted };
  }
  return sorted.map((i) => ({ key: keys[i]!, snapshot: services[i]! }));
}
