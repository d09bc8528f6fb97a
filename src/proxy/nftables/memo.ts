// Remembers each Service port's rendered nftables text, so a sync of 10,000 Services in which one
// endpoint moved renders, names and digests one Service instead of 10,000. An entry is reused
// only when every input of renderNftPort is equal to the one it was rendered from (the Service
// port, its endpoints, the node context); inputs are compared by value and copied when stored,
// so a caller that edits its snapshot in place still gets fresh rules. Upstream kube-proxy gets
// the same effect from its change trackers (serviceUpdateResult/endpointUpdateResult): it skips
// the chains of Services that did not change (skipServiceUpdate in syncProxyRules).
import { copyEndpoint, copyService, sameEndpoints, sameService } from '../port-inputs.js';
import type { EndpointInfo, ServicePortInfo, ServiceSnapshot } from '../types.js';
import { renderNftPort, type PortContext, type RenderedNftPort } from './service-port.js';

interface Entry {
  service: ServicePortInfo;
  endpoints: EndpointInfo[];
  port: RenderedNftPort;
}

/** The fields that make a port's key (`namespace/name:port/PROTOCOL`). */
type KeyFields = Pick<ServicePortInfo, 'namespace' | 'name' | 'portName' | 'protocol'>;

/**
 * Rendered ports for one node context at a time (another context empties it). When a snapshot
 * lists the same ports in the same order as the last one (the agent's usual case), every port is
 * found by its position: no key is built, hashed or sorted again.
 */
export class NftPortMemo {
  private context = '';
  private ctx: PortContext = { nodeName: '', clusterCIDR: '' };
  private readonly byKey = new Map<string, Entry>();
  /** Per input index of the last snapshot: its key fields. */
  private inputs: KeyFields[] = [];
  /** Input indexes in key order, each key once; their keys and entries. */
  private order: number[] = [];
  private keys: string[] = [];
  private entries: (Entry | undefined)[] = [];

  useContext(ctx: PortContext): void {
    const context = `${ctx.nodeName}\n${ctx.clusterCIDR}`;
    if (context === this.context) return;
    this.byKey.clear();
    this.entries = this.entries.map(() => undefined);
    this.context = context;
    this.ctx = { ...ctx };
  }

  /**
   * Every port of the snapshot, rendered or remembered, sorted by key (sorted output makes golden
   * files and diffs readable); a port given twice: the later one wins, as in upstream's
   * ServicePortMap.
   */
  renderAll(services: readonly ServiceSnapshot[], keyOf: (s: ServiceSnapshot) => string): RenderedNftPort[] {
    if (!this.sameKeys(services)) this.reindex(services, keyOf);
    const out: RenderedNftPort[] = new Array(this.order.length);
    for (let p = 0; p < this.order.length; p++) {
      const snapshot = services[this.order[p]!]!;
      let entry = this.entries[p];
      if (!entry || !sameService(entry.service, snapshot.service) || !sameEndpoints(entry.endpoints, snapshot.endpoints)) {
        entry = { service: copyService(snapshot.service), endpoints: snapshot.endpoints.map(copyEndpoint), port: renderNftPort(this.keys[p]!, snapshot, this.ctx) };
        this.entries[p] = entry;
        this.byKey.set(this.keys[p]!, entry);
      }
      out[p] = entry.port;
    }
    return out;
  }

  private sameKeys(services: readonly ServiceSnapshot[]): boolean {
    if (services.length !== this.inputs.length) return false;
    for (let i = 0; i < services.length; i++) {
      const a = services[i]!.service;
      const b = this.inputs[i]!;
      if (a.namespace !== b.namespace || a.name !== b.name || a.portName !== b.portName || a.protocol !== b.protocol) return false;
    }
    return true;
  }

  private reindex(services: readonly ServiceSnapshot[], keyOf: (s: ServiceSnapshot) => string): void {
    const last = new Map<string, number>();
    services.forEach((s, i) => last.set(keyOf(s), i));
    const sorted = [...last.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    this.inputs = services.map(({ service: { namespace, name, portName, protocol } }) => ({ namespace, name, portName, protocol }));
    this.order = sorted.map(([, i]) => i);
    this.keys = sorted.map(([k]) => k);
    this.entries = this.keys.map((k) => this.byKey.get(k));
    // Ports that went away are forgotten.
    if (this.byKey.size > this.keys.length) for (const k of this.byKey.keys()) if (!last.has(k)) this.byKey.delete(k);
  }
}
