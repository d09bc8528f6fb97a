// kube-proxy for every node of the lab, in iptables or nftables mode (kube-proxy-arg
// proxy-mode=...). After each change the agent asks for a sync: the rules are rendered by the pure
// renderers from a snapshot of Services and Endpoints and written into each node's namespace by
// the mode's writer (iptables.ts, nftables.ts). Syncs are partial (only what changed, as
// kube-proxy does since 1.28): every change, and at least every sync period (--iptables-sync-period,
// 30 s), as upstream's sync loop. A full sync, which rewrites everything and so repairs what
// someone broke by hand, comes once an hour (upstream's proxyutil.FullSyncPeriod), when a node's
// rules are found gone (every 5 s: the canary chain, or nftables mode's table) and on
// `knetlab proxy resync`. Switching modes removes the other mode's rules. Stale UDP
// conntrack entries of removed endpoints are deleted, as kube-proxy does, so a UDP client is not
// stuck on a pod that is gone.
import type { Endpoints, Service } from '../../api/types.js';
import type { ProxyMode } from '../../config/types.js';
import type { LabPlan, NodePlan } from '../../dataplane/plan.js';
import { run } from '../../kernel/exec.js';
import { snapshotFromObjects } from '../../proxy/from-objects.js';
import type { ProxySnapshot } from '../../proxy/types.js';
import type { Log } from '../cluster.js';
import type { Store } from '../store.js';
import { IptablesWriter } from './iptables.js';
import { NftablesWriter } from './nftables.js';
import type { ModeWriter } from './writer.js';

const INTACT_CHECK_EVERY_MS = 5_000;
/** Upstream's proxyutil.FullSyncPeriod. */
const FULL_SYNC_EVERY_MS = 3_600_000;

export interface NodeSyncRecord {
  node: string;
  mode: ProxyMode;
  at: string;
  ms: number;
  partial: boolean;
  lines: number;
  error?: string;
}

export interface ProxySettings {
  mode: ProxyMode;
  serviceCIDR: string;
  /** kube-proxy's --iptables-sync-period: the longest time between two syncs. */
  syncEveryMs: number;
}

export class KubeProxy {
  private writer: ModeWriter = new IptablesWriter();
  private serviceCIDR = '';
  /** Per node incarnation: what the last sync wrote, for partial syncs. */
  private readonly states = new Map<string, unknown>();
  /** Node incarnations the current mode has prepared (the other mode's rules removed). */
  private readonly prepared = new Set<string>();
  private readonly last = new Map<string, NodeSyncRecord>();
  private udpEndpoints = new Map<string, Set<string>>();
  private running: Promise<void> | undefined;
  private again: Promise<void> | undefined;
  private timers: NodeJS.Timeout[] = [];
  private lastFullSync = performance.now();

  constructor(
    private readonly store: Store,
    private readonly plan: () => LabPlan | undefined,
    /** Bumped each time a node's namespace is (re)created: a new incarnation starts with empty tables. */
    private readonly epochOf: (node: string) => number,
    private readonly log: Log,
    /** Told of every sync that wrote rules (for `knetlab events`). */
    private readonly report: (sync: NodeSyncRecord, tool: string) => void = () => {},
  ) {}

  /**
   * The mode and settings from the lab's config. A new mode takes over every node at the next
   * sync; the change is returned in words for `up` to print.
   */
  configure(settings: ProxySettings): string[] {
    const changes = settings.mode === this.writer.mode || this.prepared.size === 0 ? [] : [`switched kube-proxy from ${this.writer.mode} to ${settings.mode} mode`];
    if (settings.mode !== this.writer.mode) {
      this.writer = settings.mode === 'nftables' ? new NftablesWriter() : new IptablesWriter();
      this.states.clear();
      this.prepared.clear();
      this.last.clear();
    }
    if (settings.serviceCIDR !== this.serviceCIDR) this.states.clear();
    this.serviceCIDR = settings.serviceCIDR;
    this.startLoops(settings.syncEveryMs);
    return changes;
  }

  /** Brings every node's rules up to date. Calls during a sync coalesce into one more sync. */
  sync(): Promise<void> {
    if (!this.running) {
      this.running = this.syncAll().finally(() => (this.running = undefined));
      return this.running;
    }
    this.again ??= this.running.then(() => {
      this.again = undefined;
      return this.sync();
    });
    return this.again;
  }

  /** Forgets what was written, so the next sync is a full one everywhere. */
  forceFullSync(): Promise<void> {
    this.states.clear();
    this.lastFullSync = performance.now();
    return this.sync();
  }

  stopLoops(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  summary(): { mode: ProxyMode; lastSync: NodeSyncRecord[] } {
    return { mode: this.writer.mode, lastSync: [...this.last.values()] };
  }

  problems(): string[] {
    return [...this.last.values()].filter((r) => r.error).map((r) => `kube-proxy on ${r.node}: last sync failed: ${r.error}`);
  }

  /** The periodic sync (a full one once an hour) and the check that the rules are still there. */
  private startLoops(syncEveryMs: number): void {
    this.stopLoops();
    const periodic = () => (performance.now() - this.lastFullSync >= FULL_SYNC_EVERY_MS ? this.forceFullSync() : this.sync());
    this.timers.push(setInterval(() => void periodic(), syncEveryMs).unref());
    this.timers.push(setInterval(() => void this.checkIntact(), INTACT_CHECK_EVERY_MS).unref());
  }

  private incarnation(node: NodePlan): string {
    return `${node.netns}#${this.epochOf(node.name)}`;
  }

  private snapshot(): ProxySnapshot {
    return snapshotFromObjects(this.store.list<Service>('Service'), this.store.list<Endpoints>('Endpoints'));
  }

  private async syncAll(): Promise<void> {
    const plan = this.plan();
    if (!plan) return;
    const snapshot = this.snapshot();
    await Promise.all(plan.nodes.map((node) => this.syncNode(plan, node, snapshot)));
    await this.clearStaleUdp(plan, snapshot);
    const live = new Set(plan.nodes.map((n) => this.incarnation(n)));
    for (const key of this.states.keys()) if (!live.has(key)) this.states.delete(key);
    for (const key of this.prepared) if (!live.has(key)) this.prepared.delete(key);
  }

  private async syncNode(plan: LabPlan, node: NodePlan, snapshot: ProxySnapshot): Promise<void> {
    const writer = this.writer;
    const key = this.incarnation(node);
    const started = performance.now();
    const previous = this.states.get(key);
    const record = (fields: { partial: boolean; lines: number; error?: string }): NodeSyncRecord => {
      const r = { node: node.name, mode: writer.mode, at: new Date().toISOString(), ms: Math.round(performance.now() - started), ...fields };
      this.last.set(node.name, r);
      return r;
    };
    try {
      if (!this.prepared.has(key)) {
        await writer.prepare(node);
        this.prepared.add(key);
      }
      const out = await writer.write(node, { clusterCIDR: plan.clusterCIDR, serviceCIDR: this.serviceCIDR }, snapshot, previous);
      // A mode switch during the sync: what was written belongs to the old mode's state, which is gone.
      if (writer !== this.writer) return;
      this.states.set(key, out.state);
      const r = record({ partial: previous !== undefined, lines: out.lines });
      if (out.transactions) this.report(r, writer.tool);
    } catch (err) {
      this.states.delete(key);
      const error = (err as Error).message.split('\n')[0]!;
      record({ partial: previous !== undefined, lines: 0, error });
      this.log(`kube-proxy on ${node.name}: sync failed: ${error}`);
    }
  }

  /** A UDP "connection" to a Service stays pinned to its endpoint in conntrack; drop it when the endpoint goes. */
  private async clearStaleUdp(plan: LabPlan, snapshot: ProxySnapshot): Promise<void> {
    const now = new Map<string, Set<string>>();
    for (const { service, endpoints } of snapshot.services) {
      if (service.protocol !== 'UDP') continue;
      now.set(`${service.clusterIP}:${service.port}`, new Set(endpoints.filter((e) => e.ready).map((e) => e.ip)));
    }
    const gone = new Set<string>();
    for (const [svc, before] of this.udpEndpoints) {
      const after = now.get(svc) ?? new Set();
      for (const ip of before) if (!after.has(ip)) gone.add(ip);
    }
    this.udpEndpoints = now;
    if (gone.size === 0) return;
    await Promise.all(
      plan.nodes.flatMap((node) =>
        [...gone].map((ip) => run(['ip', 'netns', 'exec', node.netns, 'conntrack', '-D', '-p', 'udp', '--reply-src', ip], { allowFailure: true }).catch(() => undefined)),
      ),
    );
  }

  /** If someone flushed a node's rules (the canary chain or the table is gone), rewrite everything there. */
  private async checkIntact(): Promise<void> {
    const plan = this.plan();
    if (!plan || this.running) return;
    let damaged = false;
    for (const node of plan.nodes) {
      if (!this.prepared.has(this.incarnation(node)) || (await this.writer.intact(node))) continue;
      this.log(`kube-proxy on ${node.name}: its ${this.writer.mode} rules are gone; rewriting the node's rules`);
      this.states.delete(this.incarnation(node));
      this.prepared.delete(this.incarnation(node));
      damaged = true;
    }
    if (damaged) await this.sync();
  }
}
