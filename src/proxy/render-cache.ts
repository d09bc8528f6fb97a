// Remembers each Service port's rendered rules, so that a sync of 5,000 Services in which one
// endpoint moved renders, names and digests one Service instead of 5,000 (rendering them all took
// ~125 ms, twice the restore of the change). A port's rules are reused only when every input of
// renderServicePort equals the one they were rendered from: the Service port, its endpoints and
// the node context (node name, cluster CIDR, large-cluster mode). Inputs are compared by value
// and copied when stored, so a caller that edits its snapshot in place still gets fresh rules: a
// sync with the cache returns exactly what it returns without one.
import { hash } from 'node:crypto';
import { isEndpointChainName } from './hash.js';
import { copyEndpoint, copyService, sameEndpoints, sameService } from './port-inputs.js';
import { renderServicePort, type RenderContext, type ServicePortRules } from './service-rules.js';
import type { EndpointInfo, ServicePortInfo, ServiceSnapshot } from './types.js';

/**
 * One of a Service port's own chains. Kept as one string, not as a line per rule: a cache of
 * 5,000 Services holds 20,000 chains, and fewer, larger objects are cheaper to keep and collect.
 */
export class RenderedChain {
  /** The rule lines, joined by newlines ('' for a chain without rules). */
  readonly text: string;
  readonly ruleCount: number;
  /** A KUBE-SEP chain: it jumps to nothing but KUBE-MARK-MASQ. */
  readonly endpoint: boolean;
  private hashed?: string;

  constructor(
    readonly name: string,
    rules: readonly string[],
  ) {
    this.text = rules.join('\n');
    this.ruleCount = rules.length;
    this.endpoint = isEndpointChainName(name);
  }

  /** The digest a SyncState keeps of the rules (digestOf), worked out when first needed. */
  get digest(): string {
    return (this.hashed ??= digestText(this.text));
  }
}

/** A Service port rendered once; the same object for as long as its inputs do not change. */
export interface RenderedPort {
  /** `namespace/name:port/PROTOCOL`, unique in a snapshot. */
  key: string;
  /** Its rules in the top-level chains that all ports share. */
  shared: SharedRules;
  /** The port's own chains in upstream's declaration order. */
  chains: readonly RenderedChain[];
  /** The state of the last sync this port was part of (renderSync's bookkeeping). */
  syncedIn?: object;
}

/** The rules a Service port puts into the top-level chains, which all ports share. */
export type SharedRules = Pick<ServicePortRules, 'natServices' | 'natNodePorts' | 'filterServices' | 'filterExternalServices'>;

/** A Service port of a snapshot with its key. */
export interface KeyedPort {
  key: string;
  snapshot: ServiceSnapshot;
}

/** The short digest of a chain's rules that SyncState stores. */
export function digestOf(rules: readonly string[]): string {
  return digestText(rules.join('\n'));
}

function digestText(text: string): string {
  return hash('sha1', text, 'base64url').slice(0, 16);
}

/** Renders a port without remembering it: what the cache must be indistinguishable from. */
export function renderPort({ key, snapshot }: KeyedPort, ctx: RenderContext): RenderedPort {
  const { natServices, natNodePorts, filterServices, filterExternalServices, chains: byName } = renderServicePort(snapshot, ctx);
  const chains: RenderedChain[] = [];
  for (const [name, rules] of byName) chains.push(new RenderedChain(name, rules));
  return { key, shared: { natServices, natNodePorts, filterServices, filterExternalServices }, chains };
}

interface Entry {
  service: ServicePortInfo;
  endpoints: EndpointInfo[];
  port: RenderedPort;
}

/**
 * Rendered Service ports by key, for one node context at a time (another context empties it).
 * It also remembers what the last sync made with it did, for renderSync's shortcuts.
 */
export class RenderCache {
  private context = '';
  private readonly entries = new Map<string, Entry>();
  /** The entries in the order of the last call, tried before the map: snapshots rarely reorder. */
  private previousOrder: Entry[] = [];
  /** Snapshot keys in input order and the order that sorts them, from the last sync. */
  order?: { keys: readonly string[]; sorted: readonly number[] };
  /** The ports of the last sync made with this cache and the state it returned. */
  last?: { ports: readonly RenderedPort[]; state: object };
  /** Ports rendered (not found) so far. */
  rendered = 0;

  /** Ports remembered. */
  get size(): number {
    return this.entries.size;
  }

  /** Each port's rules: remembered if its inputs did not change, else rendered and remembered. */
  renderAll(ports: readonly KeyedPort[], ctx: RenderContext): RenderedPort[] {
    const context = `${ctx.nodeName}\n${ctx.clusterCIDR}\n${ctx.largeClusterMode}`;
    if (context !== this.context) {
      this.entries.clear();
      this.previousOrder = [];
      this.last = undefined;
      this.context = context;
    }
    const order: Entry[] = [];
    const rendered = ports.map((p, i) => {
      const guess = this.previousOrder[i];
      let entry = guess?.port.key === p.key ? guess : this.entries.get(p.key);
      if (!entry || !sameService(entry.service, p.snapshot.service) || !sameEndpoints(entry.endpoints, p.snapshot.endpoints)) {
        entry = { service: copyService(p.snapshot.service), endpoints: p.snapshot.endpoints.map(copyEndpoint), port: renderPort(p, ctx) };
        this.entries.set(p.key, entry);
        this.rendered++;
      }
      order.push(entry);
      return entry.port;
    });
    this.previousOrder = order;
    // Forget the ports that went away.
    if (this.entries.size > ports.length) {
      const live = new Set(ports.map((p) => p.key));
      for (const key of this.entries.keys()) if (!live.has(key)) this.entries.delete(key);
    }
    return rendered;
  }
}
