// The lab's topology as one plain model, built from what the agent serves (status, pods, services,
// endpoints) and rendered by mermaid.ts and dot.ts. Pure: no I/O, deterministic order, and every
// element carries an id that is safe in both Mermaid and DOT (letters, digits and "_", unique).
import type { Endpoints, Pod, Service } from '../api/types.js';
import { nth, parseCidr } from '../ipam/cidr.js';
import { LAN_BRIDGE, NODE_LAN_IF, NODE_POD_BRIDGE, VXLAN_IF } from '../dataplane/names.js';

/** The part of `knetlab status -o json` the graph needs (LabStatus is assignable to it). */
export interface GraphStatusInput {
  lab: string;
  config?: { clusterCIDR: string; serviceCIDR: string; lanCIDR?: string; flannelBackend: string; proxyMode?: string } | undefined;
  lan?: { cidr: string; ip: string } | undefined;
  nodes: { name: string; role: string; ip: string; podCIDR: string }[];
}

export interface GraphInput {
  status: GraphStatusInput;
  pods: Pod[];
  services: Service[];
  endpoints: Endpoints[];
}

export interface PodBox {
  id: string;
  name: string;
  namespace: string;
  ip?: string;
  phase: string;
  ready: boolean;
}

export interface NodeBox {
  id: string;
  /** The subgraph (Mermaid) or cluster (DOT) that holds the node's parts and pods. */
  groupId: string;
  name: string;
  role: string;
  ip: string;
  lanIf: string;
  podCIDR: string;
  backend: string;
  /** The node's pod bridge (cni0) and its address, the pod CIDR's .1. */
  bridge: { id: string; name: string; cidr?: string };
  /** flannel.1 with the pod CIDR's .0 as a /32, for the vxlan backend. */
  overlay?: { name: string; cidr: string };
  pods: PodBox[];
}

export interface ServiceBox {
  id: string;
  name: string;
  namespace: string;
  type: string;
  /** The ClusterIP, or "None" for a headless Service. */
  clusterIP: string;
  ports: { name?: string; port: number; protocol: string; nodePort?: number }[];
  /** How many ready endpoint addresses it has (its edges). */
  ready: number;
}

export interface EndpointEdge {
  from: string;
  to: string;
  kind: 'pod' | 'node' | 'external';
  ip: string;
  /** The endpoint's ports, "8080/TCP". */
  ports: string[];
}

export interface TopologyModel {
  lab: string;
  /** Ids of the Services group and of the group of pods on no node. */
  groups: { services: string; unscheduled: string };
  clusterCIDR?: string;
  serviceCIDR?: string;
  proxyMode?: string;
  lan: { id: string; cidr?: string; bridge: string; machine?: { id: string; ip: string } };
  nodes: NodeBox[];
  /** Pods not (yet) on a known node. */
  unscheduled: PodBox[];
  services: ServiceBox[];
  /** Ready endpoint addresses that are neither a pod nor a node. */
  externals: { id: string; ip: string }[];
  edges: EndpointEdge[];
}

/** Hands out ids made of [A-Za-z0-9_], with a numeric suffix when two names would collide. */
export class IdAllocator {
  private readonly used = new Set<string>();

  take(...parts: string[]): string {
    const base = parts.map((p) => p.replace(/[^A-Za-z0-9]+/g, '_')).join('__');
    let id = base;
    for (let n = 2; this.used.has(id); n++) id = `${base}_${n}`;
    this.used.add(id);
    return id;
  }
}

const byKey = <T>(key: (t: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
const nsName = (o: { metadata: { name: string; namespace?: string } }) => `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;

/** "shop/cart", or just "web-1" in the default namespace. */
export function displayName(namespace: string, name: string): string {
  return namespace === 'default' ? name : `${namespace}/${name}`;
}

export function buildTopology(input: GraphInput): TopologyModel {
  const ids = new IdAllocator();
  const groups = { services: ids.take('services'), unscheduled: ids.take('unscheduled') };
  const { status } = input;
  const backend = status.config?.flannelBackend ?? 'vxlan';
  const lan: TopologyModel['lan'] = { id: ids.take('lan'), cidr: status.lan?.cidr ?? status.config?.lanCIDR, bridge: LAN_BRIDGE };
  if (status.lan?.ip) lan.machine = { id: ids.take('lan', 'machine'), ip: status.lan.ip };

  const nodes: NodeBox[] = status.nodes.map((n) => {
    const cidr = parseCidr(n.podCIDR);
    const id = ids.take('node', n.name);
    const box: NodeBox = {
      id,
      groupId: ids.take('node', n.name, 'group'),
      name: n.name,
      role: n.role,
      ip: n.ip,
      lanIf: NODE_LAN_IF,
      podCIDR: n.podCIDR,
      backend,
      bridge: { id: ids.take('node', n.name, NODE_POD_BRIDGE), name: NODE_POD_BRIDGE, ...(cidr ? { cidr: `${nth(cidr, 1)}/${cidr.prefix}` } : {}) },
      pods: [],
    };
    if (backend === 'vxlan' && cidr) box.overlay = { name: VXLAN_IF, cidr: `${nth(cidr, 0)}/32` };
    return box;
  });
  const nodeByName = new Map(nodes.map((n) => [n.name, n]));

  const unscheduled: PodBox[] = [];
  const podByKey = new Map<string, PodBox>();
  const podByIP = new Map<string, PodBox>();
  for (const pod of [...input.pods].sort(byKey(nsName))) {
    const namespace = pod.metadata.namespace ?? 'default';
    const box: PodBox = {
      id: ids.take('pod', namespace, pod.metadata.name),
      name: pod.metadata.name,
      namespace,
      phase: pod.status?.phase ?? 'Pending',
      ready: pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    };
    if (pod.status?.podIP) box.ip = pod.status.podIP;
    const node = pod.spec.nodeName ? nodeByName.get(pod.spec.nodeName) : undefined;
    (node ? node.pods : unscheduled).push(box);
    podByKey.set(`${namespace}/${box.name}`, box);
    if (box.ip) podByIP.set(box.ip, box);
  }

  const services: ServiceBox[] = [];
  const edges: EndpointEdge[] = [];
  const externals = new Map<string, { id: string; ip: string }>();
  const endpointsByKey = new Map(input.endpoints.map((e) => [nsName(e), e]));
  for (const svc of [...input.services].sort(byKey(nsName))) {
    const namespace = svc.metadata.namespace ?? 'default';
    const box: ServiceBox = {
      id: ids.take('svc', namespace, svc.metadata.name),
      name: svc.metadata.name,
      namespace,
      type: svc.spec.type ?? 'ClusterIP',
      clusterIP: svc.spec.clusterIP ?? 'None',
      ports: (svc.spec.ports ?? []).map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, protocol: p.protocol ?? 'TCP', ...(p.nodePort ? { nodePort: p.nodePort } : {}) })),
      ready: 0,
    };
    services.push(box);
    // One edge per ready address, with every port it serves (an address may appear in several subsets).
    const targets = new Map<string, EndpointEdge>();
    for (const subset of endpointsByKey.get(`${namespace}/${box.name}`)?.subsets ?? []) {
      const ports = (subset.ports ?? []).map((p) => `${p.port}/${p.protocol ?? 'TCP'}`);
      for (const address of subset.addresses ?? []) {
        const ref = address.targetRef?.kind === 'Pod' ? podByKey.get(`${address.targetRef.namespace}/${address.targetRef.name}`) : undefined;
        const pod = ref ?? podByIP.get(address.ip);
        const node = pod ? undefined : nodes.find((n) => n.ip === address.ip);
        let to: string;
        let kind: EndpointEdge['kind'];
        if (pod) [to, kind] = [pod.id, 'pod'];
        else if (node) [to, kind] = [node.id, 'node'];
        else {
          let ext = externals.get(address.ip);
          if (!ext) externals.set(address.ip, (ext = { id: ids.take('endpoint', address.ip), ip: address.ip }));
          [to, kind] = [ext.id, 'external'];
        }
        const edge = targets.get(to) ?? { from: box.id, to, kind, ip: address.ip, ports: [] };
        for (const p of ports) if (!edge.ports.includes(p)) edge.ports.push(p);
        targets.set(to, edge);
      }
    }
    box.ready = targets.size;
    edges.push(...[...targets.values()].sort(byKey((e) => e.to)));
  }

  const model: TopologyModel = { lab: status.lab, groups, lan, nodes, unscheduled, services, externals: [...externals.values()], edges };
  if (status.config) Object.assign(model, { clusterCIDR: status.config.clusterCIDR, serviceCIDR: status.config.serviceCIDR, ...(status.config.proxyMode ? { proxyMode: status.config.proxyMode } : {}) });
  return model;
}

// Label text shared by both renderers, one string per line; each renderer escapes and joins them.

export function lanLines(m: TopologyModel): string[] {
  return [`LAN ${m.lan.cidr ?? ''}`.trim(), `bridge ${m.lan.bridge}`];
}

export function nodeTitle(n: NodeBox): string {
  return `node ${n.name} (${n.role}) · pod CIDR ${n.podCIDR}`;
}

export function nodeLines(n: NodeBox): string[] {
  const lines = [`${n.name}`, `${n.lanIf} ${n.ip}`];
  if (n.overlay) lines.push(`${n.overlay.name} ${n.overlay.cidr} (flannel ${n.backend})`);
  else lines.push(`flannel ${n.backend}`);
  return lines;
}

export function bridgeLines(n: NodeBox): string[] {
  return [`${n.bridge.name} bridge`, ...(n.bridge.cidr ? [n.bridge.cidr] : [])];
}

export function podLines(p: PodBox): string[] {
  const state = p.phase !== 'Running' ? p.phase : p.ready ? '' : 'not ready';
  return [displayName(p.namespace, p.name), p.ip ?? 'no IP', ...(state ? [state] : [])];
}

export function serviceLines(s: ServiceBox): string[] {
  const lines = [`svc ${displayName(s.namespace, s.name)} (${s.type})`, s.clusterIP === 'None' ? 'headless (no ClusterIP)' : `ClusterIP ${s.clusterIP}`];
  for (const p of s.ports) lines.push(`${p.port}/${p.protocol}${p.nodePort ? ` · NodePort ${p.nodePort}` : ''}`);
  if (s.ready === 0) lines.push('no ready endpoints');
  return lines;
}

export function servicesTitle(m: TopologyModel): string {
  return `Services${m.serviceCIDR ? ` · service-cidr ${m.serviceCIDR}` : ''} (ClusterIPs are on no interface)`;
}
