// Pod sandboxes: the network namespace, veth and address that make a pod, and the workload that
// serves its ports. Pods are started in groups so that a 200-pod apply costs one `netns add`
// batch, one batch per node and one small batch per pod, not a process per link or address.
import type { Pod } from '../api/types.js';
import type { NodePlan } from '../dataplane/plan.js';
import { podNetns, podVethName } from '../dataplane/names.js';
import { podInside, renderNetnsAdd, renderNetnsDelete, renderPodPorts, type PodWiring } from '../dataplane/render.js';
import { configurePodInside } from '../kernel/netlink.js';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { LabConfig } from '../config/types.js';
import type { DnsMetrics, ViewSource } from '../dns/server.js';
import { runIpBatch, runIpBatches } from '../kernel/ip.js';
import { isDnsServer, podHosts, podResolvConf } from './coredns.js';
import { PodWorkload } from './workload.js';

/** What pods see of the cluster besides their network: DNS settings, and what the DNS pod answers. */
export interface PodEnvironment {
  dnsConfig(): Pick<LabConfig, 'clusterDNS' | 'clusterDomain'> | undefined;
  dnsServing: { view: ViewSource; metrics: DnsMetrics };
}

/** `ip netns exec NAME` bind-mounts each file of /etc/netns/NAME over /etc: a pod's own resolv.conf and hosts. */
function podEtc(netns: string): string {
  return `/etc/netns/${netns}`;
}

export interface Sandbox {
  wiring: PodWiring;
  workload: PodWorkload;
  namespace: string;
  name: string;
  dnsServer: boolean;
}

export interface SandboxRequest {
  pod: Pod;
  node: NodePlan;
  ip: string;
}

export function podKey(pod: Pod): string {
  return `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`;
}

export class Sandboxes {
  private readonly byPod = new Map<string, Sandbox>();

  constructor(
    private readonly lab: string,
    private readonly environment?: PodEnvironment,
  ) {}

  get(key: string): Sandbox | undefined {
    return this.byPod.get(key);
  }

  countOn(node: string): number {
    let n = 0;
    for (const s of this.byPod.values()) if (s.wiring.node.name === node) n++;
    return n;
  }

  keysOn(node: string): string[] {
    return [...this.byPod].filter(([, s]) => s.wiring.node.name === node).map(([k]) => k);
  }

  wirings(): PodWiring[] {
    return [...this.byPod.values()].map((s) => s.wiring);
  }

  keys(): string[] {
    return [...this.byPod.keys()];
  }

  /** Creates the sandboxes of several pods at once; on failure removes whatever it created. */
  async create(requests: SandboxRequest[]): Promise<void> {
    const wirings = requests.map(({ pod, node, ip }): PodWiring => {
      const netns = podNetns(this.lab, pod.metadata.namespace ?? 'default', pod.metadata.name);
      return { netns, veth: podVethName(netns), ip, node };
    });
    const started: Sandbox[] = [];
    try {
      await runIpBatch(renderNetnsAdd(wirings.map((w) => w.netns)));
      const nodes = [...new Set(wirings.map((w) => w.node))];
      await runIpBatches(nodes.map((node) => renderPodPorts(node, wirings.filter((w) => w.node === node))));
      for (const w of wirings) configurePodInside(podInside(w));
      requests.forEach(({ pod }, i) => {
        const wiring = wirings[i]!;
        const ports = pod.spec.containers.flatMap((c) => c.ports ?? []).map((p) => ({ containerPort: p.containerPort, protocol: p.protocol ?? 'TCP' }));
        const namespace = pod.metadata.namespace ?? 'default';
        const dnsServer = isDnsServer(pod);
        const sandbox = { wiring, namespace, name: pod.metadata.name, dnsServer };
        this.writeEtc(sandbox);
        const identity = { name: pod.metadata.name, namespace, healthy: true, ...(dnsServer && this.environment ? { dns: this.environment.dnsServing } : {}) };
        started.push({ ...sandbox, workload: PodWorkload.start(wiring.netns, identity, ports) });
      });
    } catch (err) {
      await Promise.all(started.map((s) => s.workload.close()));
      await runIpBatch({ ...renderNetnsDelete(wirings.map((w) => w.netns)), force: true });
      for (const w of wirings) rmSync(podEtc(w.netns), { recursive: true, force: true });
      throw err;
    }
    requests.forEach(({ pod }, i) => this.byPod.set(podKey(pod), started[i]!));
  }

  /** Stops the pods' workloads and deletes their namespaces (which takes their veths with them). */
  async remove(keys: string[]): Promise<Sandbox[]> {
    const gone = keys.flatMap((k) => {
      const s = this.byPod.get(k);
      this.byPod.delete(k);
      return s ? [s] : [];
    });
    // Sockets first: an open socket would keep the namespace alive after its name is gone.
    await Promise.all(gone.map((s) => s.workload.close()));
    await runIpBatch(renderNetnsDelete(gone.map((s) => s.wiring.netns)));
    for (const s of gone) rmSync(podEtc(s.wiring.netns), { recursive: true, force: true });
    return gone;
  }

  /** After cluster-dns or cluster-domain changed: every pod's resolv.conf anew, as kubelet would on restart. */
  rewriteEtc(): void {
    for (const s of this.byPod.values()) this.writeEtc(s);
  }

  /** The pod's /etc/hosts, and its /etc/resolv.conf pointing at cluster DNS (the DNS pod itself keeps the host's, as dnsPolicy Default). */
  private writeEtc({ wiring, name, namespace, dnsServer }: Omit<Sandbox, 'workload'>): void {
    const dir = podEtc(wiring.netns);
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/hosts`, podHosts(name, wiring.ip));
    const dns = this.environment?.dnsConfig();
    if (dns && !dnsServer) writeFileSync(`${dir}/resolv.conf`, podResolvConf(namespace, dns));
  }
}
