// kube-proxy, iptables mode, for every node of the lab. After each change the agent asks for a
// sync: the rules are rendered by the pure renderer from a snapshot of Services and Endpoints and
// written with `iptables-restore --noflush --counters` into each node's namespace. Syncs are
// partial (only what changed, as kube-proxy does since 1.28); a periodic full sync and a canary
// chain repair what someone broke by hand. Stale UDP conntrack entries of removed endpoints are
// deleted, as kube-proxy does, so a UDP client is not stuck on a pod that is gone.
import type { Endpoints, Service } from '../api/types.js';
import type { LabPlan, NodePlan } from '../dataplane/plan.js';
import { run } from '../kernel/exec.js';
import { CANARY_CHAIN, renderJumpRules } from '../proxy/chains.js';
import { parseIptablesSave, tokenize } from '../proxy/iptables-save.js';
import { canonicalRule } from '../proxy/rule-spec.js';
import { snapshotFromObjects } from '../proxy/from-objects.js';
import { renderSync, type SyncState } from '../proxy/sync.js';
import type { ProxySnapshot } from '../proxy/types.js';
import type { Log } from './cluster.js';
import type { Store } from './store.js';

const CANARY_CHECK_EVERY_MS = 5_000;

export interface NodeSyncRecord {
  node: string;
  at: string;
  ms: number;
  partial: boolean;
  lines: number;
  error?: string;
}

export class KubeProxy {
  /** Per node (and node incarnation): what was last written, for partial syncs. */
  private readonly states = new Map<string, SyncState>();
  /** Node incarnations whose built-in chains jump to kube-proxy's (installed once, as EnsureRule does). */
  private readonly jumped = new Set<string>();
  private readonly last = new Map<string, NodeSyncRecord>();
  private udpEndpoints = new Map<string, Set<string>>();
  private running: Promise<void> | undefined;
  private again: Promise<void> | undefined;
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly store: Store,
    private readonly plan: () => LabPlan | undefined,
    /** Bumped each time a node's namespace is (re)created: a new incarnation starts with empty tables. */
    private readonly epochOf: (node: string) => number,
    private readonly log: Log,
    /** Told of every sync that wrote rules (for `knetlab events`). */
    private readonly report: (sync: NodeSyncRecord) => void = () => {},
  ) {}

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
    return this.sync();
  }

  /** The periodic full sync (kube-proxy's --iptables-sync-period) and the canary check. */
  startLoops(fullSyncEveryMs: number): void {
    this.stopLoops();
    this.timers.push(setInterval(() => void this.forceFullSync(), fullSyncEveryMs).unref());
    this.timers.push(setInterval(() => void this.checkCanaries(), CANARY_CHECK_EVERY_MS).unref());
  }

  stopLoops(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  summary(): { mode: 'iptables'; lastSync: NodeSyncRecord[] } {
    return { mode: 'iptables', lastSync: [...this.last.values()] };
  }

  problems(): string[] {
    return [...this.last.values()].filter((r) => r.error).map((r) => `kube-proxy on ${r.node}: last sync failed: ${r.error}`);
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
    for (const key of this.jumped) if (!live.has(key)) this.jumped.delete(key);
  }

  private async syncNode(plan: LabPlan, node: NodePlan, snapshot: ProxySnapshot): Promise<void> {
    const key = this.incarnation(node);
    const started = performance.now();
    const previous = this.states.get(key);
    try {
      // A node kube-proxy has not seen yet (or whose canary vanished) gets the jumps from the
      // built-in chains and the canary first: only the jumps that are missing, never twice.
      const fresh = !this.jumped.has(key);
      if (fresh) {
        await ensureJumps(node);
        this.jumped.add(key);
      }
      // Unlike upstream, a partial sync rewrites KUBE-SERVICES and the other top-level chains only
      // when they changed: at thousands of Services that is the difference between ~300 ms and a
      // few tens. A hand edit there waits for the periodic full sync (iptables-sync-period).
      // freshNode is only an ordering hint for a node without rules: it cannot make them wrong.
      const out = renderSync(snapshot, { nodeName: node.name, nodeIPs: [node.ip], clusterCIDR: plan.clusterCIDR }, previous, { topLevelChains: 'when-changed', freshNode: fresh });
      // The leading chunks of a large full sync are independent: two restores at a time, then the rest in order.
      const chunks = out.transactions.slice(0, out.chunks);
      for (let i = 0; i < chunks.length; i += 2) await Promise.all(chunks.slice(i, i + 2).map((t) => restore(node, t)));
      for (const transaction of out.transactions.slice(out.chunks)) await restore(node, transaction);
      this.states.set(key, out.state);
      const lines = out.transactions.reduce((n, t) => n + t.split('\n').length, 0);
      const record = { node: node.name, at: new Date().toISOString(), ms: Math.round(performance.now() - started), partial: !!previous, lines };
      this.last.set(node.name, record);
      if (out.transactions.length) this.report(record);
    } catch (err) {
      this.states.delete(key);
      const error = (err as Error).message.split('\n')[0]!;
      this.last.set(node.name, { node: node.name, at: new Date().toISOString(), ms: Math.round(performance.now() - started), partial: !!previous, lines: 0, error });
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

  /** If someone flushed a node's tables, its canary chain is gone too: rewrite everything there. */
  private async checkCanaries(): Promise<void> {
    const plan = this.plan();
    if (!plan || this.running) return;
    let damaged = false;
    for (const node of plan.nodes) {
      const r = await run(['ip', 'netns', 'exec', node.netns, 'iptables', '-w', '-t', 'nat', '-S', CANARY_CHAIN], { allowFailure: true }).catch(() => undefined);
      if (r && r.exitCode !== 0) {
        this.log(`kube-proxy on ${node.name}: canary chain ${CANARY_CHAIN} is gone; rewriting the node's rules`);
        this.states.delete(this.incarnation(node));
        this.jumped.delete(this.incarnation(node));
        damaged = true;
      }
    }
    if (damaged) await this.sync();
  }
}

/**
 * kube-proxy's EnsureRule for the jumps from PREROUTING, OUTPUT, POSTROUTING, INPUT and FORWARD:
 * insert the ones the node lacks. Declaring kube-proxy's own chains flushes them; the full sync
 * that always follows writes them again.
 */
async function ensureJumps(node: NodePlan): Promise<void> {
  const { stdout } = await run(['ip', 'netns', 'exec', node.netns, 'iptables-save']);
  const present = new Set<string>();
  for (const [table, chains] of parseIptablesSave(stdout)) {
    for (const chain of chains.values()) for (const r of chain.rules) present.add(`${table} ${chain.name} ${canonicalRule(r.args)}`);
  }
  let table = '';
  const missing = renderJumpRules()
    .split('\n')
    .filter((line) => {
      if (line.startsWith('*')) table = line.slice(1);
      const rule = /^-[IA] (\S+) (.*)$/.exec(line);
      return !rule || !present.has(`${table} ${rule[1]} ${canonicalRule(tokenize(rule[2]!))}`);
    });
  await restore(node, missing.join('\n'));
}

function restore(node: NodePlan, text: string): Promise<unknown> {
  return run(['ip', 'netns', 'exec', node.netns, 'iptables-restore', '-w', '--noflush', '--counters'], { input: text });
}
