// The agent's reconciler: it turns the config into nodes and the stored pods into sandboxes, and
// on every change compares what is wanted with what runs and acts on the difference only. Running
// `up` twice changes nothing; changing a node's CIDR rebuilds that node and its pods alone.
import type { LabConfig } from '../config/types.js';
import type { Pod } from '../api/types.js';
import { nodeFingerprint, planLab, type LabPlan, type NodePlan } from '../dataplane/plan.js';
import { labPrefix, lanNetns } from '../dataplane/names.js';
import { renderLan, renderLanPorts, renderNetnsAdd, renderNetnsDelete, renderNode, renderForgetNodes, renderOverlay, renderPodMtu } from '../dataplane/render.js';
import { listNetns, runIpBatch, runIpBatches } from '../kernel/ip.js';
import { writeSysctls } from '../kernel/netns.js';
import { PodIPAllocator, type PodIPState } from '../ipam/pod-ips.js';
import { existsSync } from 'node:fs';
import { KnetlabError } from '../errors.js';
import { hostAccessConflicts, hostLinkName, renderHostAccess, renderHostAccessRemoval, renderStaleHostRoutes } from '../dataplane/host-access.js';
import { readHostNetwork } from '../kernel/host.js';
import { schedulePod } from './scheduler.js';
import { hasReadinessProbe } from './controllers/pod-state.js';
import { failedPod, nodeObject, pendingPod, runningPod } from './objects.js';
import { podKey, Sandboxes, type PodEnvironment, type SandboxRequest } from './sandboxes.js';
import type { Store } from './store.js';

/** What Kubernetes needs of a node's kernel; a fresh namespace has ip_forward 0. */
const NODE_SYSCTLS = { 'net.ipv4.ip_forward': '1', 'net.bridge.bridge-nf-call-iptables': '1' };

export type Log = (message: string) => void;

/** What the agent wants to know about pods coming and going (readiness probes start and stop). */
export interface PodHooks {
  started(pod: Pod, node: NodePlan): void;
  stopped(key: string): void;
}

export class Cluster {
  private plan: LabPlan | undefined;
  private readonly allocators = new Map<string, PodIPAllocator>();
  private readonly epochs = new Map<string, number>();
  private nextEpoch = 1;
  readonly sandboxes: Sandboxes;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    readonly lab: string,
    private readonly store: Store,
    private readonly log: Log,
    private savedIPs: Record<string, PodIPState> = {},
    private readonly hooks?: PodHooks,
    environment?: PodEnvironment,
    /** The plan a previous agent ran, so that a restart keeps every node's addresses. */
    private readonly savedPlan?: LabPlan,
  ) {
    this.sandboxes = new Sandboxes(lab, environment);
  }

  get config(): LabPlan | undefined {
    return this.plan;
  }

  /** Runs kernel work one operation at a time: requests arrive concurrently, the kernel state is one. */
  serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(work, work);
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Which incarnation of the node's namespace runs now; it changes whenever the node is rebuilt. */
  nodeEpoch(node: string): number {
    return this.epochs.get(node) ?? 0;
  }

  ipamState(): Record<string, PodIPState> {
    return Object.fromEntries([...this.allocators].map(([node, a]) => [node, a.state]));
  }

  /** Brings nodes in line with the config, then (re)starts every pod that has no sandbox. */
  async applyConfig(config: LabConfig): Promise<string[]> {
    const prev = this.plan;
    // Nodes keep their pod CIDRs and LAN addresses across changes, as k3s keeps a registered node's.
    const next = planLab(this.lab, config, prev ?? this.savedPlan);
    const changes: string[] = [];
    if (!prev || prev.lan.cidr !== next.lan.cidr || prev.lan.ip !== next.lan.ip) {
      if (prev) await this.removeNodes(prev.nodes);
      await this.sweep();
      await this.createLan(next);
      await this.createNodes(next, next.nodes);
      await this.syncOverlay(next, next.nodes);
      changes.push(prev ? `rebuilt the LAN ${next.lan.cidr}` : `built the LAN ${next.lan.cidr} and ${next.nodes.length} nodes (${next.backend})`);
    } else {
      const before = new Map(prev.nodes.map((n) => [n.name, nodeFingerprint(n, prev.lan)]));
      const after = new Map(next.nodes.map((n) => [n.name, nodeFingerprint(n, next.lan)]));
      const removed = prev.nodes.filter((n) => before.get(n.name) !== after.get(n.name));
      const added = next.nodes.filter((n) => before.get(n.name) !== after.get(n.name));
      await this.removeNodes(removed);
      await this.createNodes(next, added);
      const switched = prev.backend !== next.backend;
      // Every node learns about the others: its routes (and VXLAN neighbours) are the node set's.
      if (removed.length || added.length || switched) await this.syncOverlay(next, next.nodes);
      await runIpBatches(renderForgetNodes(next.nodes.filter((n) => !added.includes(n)), removed));
      if (switched) {
        await runIpBatches(renderPodMtu(this.sandboxes.wirings(), next.podMTU));
        changes.push(`switched flannel-backend from ${prev.backend} to ${next.backend}`);
      }
      changes.push(...removed.map((n) => `removed node ${n.name}`), ...added.map((n) => `created node ${n.name} (${n.ip}, pods ${n.podCIDR})`));
    }
    await this.syncHostAccess(next, config);
    this.plan = next;
    for (const n of prev?.nodes ?? []) if (!next.nodes.some((m) => m.name === n.name)) this.store.delete(nodeObject(n));
    for (const n of next.nodes) this.store.put(nodeObject(n));
    await this.startPendingPods();
    return changes;
  }

  /** Gives the host its veth into the LAN and routes (host-access: true), or takes them away. */
  private async syncHostAccess(plan: LabPlan, config: LabConfig): Promise<void> {
    const exists = existsSync(`/sys/class/net/${hostLinkName(this.lab)}`);
    if (!config.hostAccess) {
      if (exists) await runIpBatch(renderHostAccessRemoval(this.lab));
      return;
    }
    const host = await readHostNetwork();
    const conflicts = hostAccessConflicts(this.lab, config, host);
    if (conflicts.length) throw new KnetlabError(`host access refused: ${conflicts.join('; ')}`, { hint: 'set host-access: false, or choose ranges the host does not use' });
    for (const batch of renderHostAccess(plan, config, exists)) await runIpBatch(batch);
    await runIpBatch(renderStaleHostRoutes(plan, config, host));
  }

  /** Each node's flannel backend state (its batches in order; nodes side by side). */
  private async syncOverlay(plan: LabPlan, nodes: NodePlan[]): Promise<void> {
    await Promise.all(
      nodes.map(async (node) => {
        for (const batch of renderOverlay(plan, node)) await runIpBatch(batch);
      }),
    );
  }

  private async createLan(plan: LabPlan): Promise<void> {
    await runIpBatch(renderNetnsAdd([plan.lan.netns]));
    await runIpBatch(renderLan(plan));
  }

  private async createNodes(plan: LabPlan, nodes: NodePlan[]): Promise<void> {
    if (nodes.length === 0) return;
    await runIpBatch(renderNetnsAdd(nodes.map((n) => n.netns)));
    await runIpBatch(renderLanPorts(plan, nodes));
    await runIpBatches(nodes.map((n) => renderNode(plan, n)));
    for (const n of nodes) {
      this.epochs.set(n.name, this.nextEpoch++);
      writeSysctls(n.netns, NODE_SYSCTLS);
      this.allocators.set(n.name, new PodIPAllocator(n.podCIDR, this.restoredIPs(n)));
    }
  }

  /** Saved allocations survive an agent restart, but only onto a node with the same pod CIDR. */
  private restoredIPs(node: NodePlan): PodIPState | undefined {
    const saved = this.savedIPs[node.name];
    delete this.savedIPs[node.name];
    if (!saved) return undefined;
    try {
      new PodIPAllocator(node.podCIDR, saved);
      return saved;
    } catch {
      return undefined;
    }
  }

  private async removeNodes(nodes: NodePlan[]): Promise<void> {
    if (nodes.length === 0) return;
    for (const n of nodes) {
      const keys = this.sandboxes.keysOn(n.name);
      for (const key of keys) this.hooks?.stopped(key);
      await this.sandboxes.remove(keys);
      for (const key of keys) {
        const pod = this.getPod(key);
        if (pod) this.store.put(pendingPod({ ...pod, spec: { ...pod.spec, nodeName: undefined } }, 'NodeRemoved', `node ${n.name} was removed; rescheduling`));
      }
      this.allocators.delete(n.name);
    }
    // Deleting a node's namespace would take its eth0's LAN end with it, but the kernel tears a
    // namespace down asynchronously: a node rebuilt at once would find its LAN port still there.
    await runIpBatch({ netns: lanNetns(this.lab), lines: nodes.map((n) => `link del ${n.lanPort}`), force: true });
    await runIpBatch(renderNetnsDelete(nodes.map((n) => n.netns)));
  }

  /** Removes namespaces of this lab that nothing tracks, e.g. left behind by a crashed agent. */
  async sweep(): Promise<void> {
    const prefix = labPrefix(this.lab);
    const stale = listNetns().filter((n) => n.startsWith(prefix));
    if (stale.length) {
      this.log(`removing ${stale.length} leftover namespaces`);
      await runIpBatch({ ...renderNetnsDelete(stale), force: true });
    }
  }

  private getPod(key: string): Pod | undefined {
    const [namespace, name] = key.split('/');
    return this.store.get<Pod>('Pod', namespace, name!);
  }

  /**
   * Schedules and starts every stored pod that has no sandbox yet, all in one kernel pass. If the
   * pass fails, each pod is tried on its own, so that one broken pod cannot hold back the others;
   * the ones that still fail are marked Failed with the kernel's reason and not retried.
   */
  async startPendingPods(): Promise<void> {
    const plan = this.plan;
    if (!plan) return;
    const pods = this.store.list<Pod>('Pod').filter((p) => !this.sandboxes.get(podKey(p)) && p.status?.phase !== 'Failed');
    if (pods.length === 0) return;
    const counts = new Map(plan.nodes.map((n) => [n.name, this.sandboxes.countOn(n.name)]));
    const requests: SandboxRequest[] = [];
    for (const pod of pods) {
      const placement = schedulePod(pod, plan.nodes.map((n) => ({ name: n.name, labels: n.labels, podCount: counts.get(n.name)! })));
      if ('unschedulable' in placement) {
        this.store.put(pendingPod(pod, 'Unschedulable', placement.unschedulable));
        continue;
      }
      const node = plan.nodes.find((n) => n.name === placement.node)!;
      try {
        requests.push({ pod, node, ip: this.allocateIP(pod, node) });
        counts.set(node.name, counts.get(node.name)! + 1);
      } catch (err) {
        this.store.put(pendingPod(pod, 'NoPodIP', (err as Error).message));
      }
    }
    try {
      await this.startSandboxes(requests);
    } catch {
      for (const r of requests) {
        await this.startSandboxes([r]).catch((err: Error) => {
          this.store.put(failedPod(r.pod, r.node, err.message));
          this.log(`pod ${podKey(r.pod)} failed to start on ${r.node.name}: ${err.message}`);
        });
      }
    }
  }

  private async startSandboxes(requests: SandboxRequest[]): Promise<void> {
    try {
      await this.sandboxes.create(requests);
    } catch (err) {
      for (const r of requests) this.allocators.get(r.node.name)?.release(r.ip);
      throw err;
    }
    for (const r of requests) {
      const pod = this.store.put(runningPod(r.pod, r.node, r.ip, !hasReadinessProbe(r.pod)));
      this.hooks?.started(pod, r.node);
      this.log(`pod ${podKey(r.pod)} started on ${r.node.name} with IP ${r.ip}`);
    }
  }

  private allocateIP(pod: Pod, node: NodePlan): string {
    const allocator = this.allocators.get(node.name);
    if (!allocator) throw new KnetlabError(`node ${node.name} has no pod IP allocator`);
    const owner = podKey(pod);
    const saved = pod.status?.podIP;
    if (saved && pod.spec.nodeName === node.name && allocator.state.allocated[saved] === owner) return saved;
    if (saved && pod.spec.nodeName === node.name) {
      try {
        return allocator.allocateSpecific(saved, owner);
      } catch {
        // the saved IP no longer fits this node; take a new one
      }
    }
    return allocator.allocate(owner);
  }

  async deletePods(pods: Pod[]): Promise<void> {
    for (const pod of pods) this.hooks?.stopped(podKey(pod));
    const removed = await this.sandboxes.remove(pods.map(podKey));
    for (const s of removed) this.allocators.get(s.wiring.node.name)?.release(s.wiring.ip);
    for (const pod of pods) {
      this.store.delete(pod);
      this.log(`pod ${podKey(pod)} deleted`);
    }
    // Freed addresses may let a waiting pod start (level-triggered: act on the new state).
    await this.startPendingPods();
  }

  /** Tears the whole lab down: sockets, then every namespace with the lab's prefix. */
  async destroy(): Promise<void> {
    // The kernel tears a deleted namespace down asynchronously; the host's end of host access is
    // removed here, at once, so the host is as it was when `down` returns.
    if (existsSync(`/sys/class/net/${hostLinkName(this.lab)}`)) await runIpBatch(renderHostAccessRemoval(this.lab));
    for (const key of this.sandboxes.keys()) this.hooks?.stopped(key);
    await this.sandboxes.remove(this.sandboxes.keys());
    await this.sweep();
    this.plan = undefined;
  }
}
