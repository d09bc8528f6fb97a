// Which endpoints a Service port's chains may use on this node, given its traffic policies.
// Mirrors pkg/proxy/topology.go CategorizeEndpoints and the ServicePort helpers of
// pkg/proxy/serviceport.go (ExternallyAccessible, UsesClusterEndpoints, UsesLocalEndpoints).
// Simplifications, stated once: only ready endpoints are used (upstream falls back to
// serving+terminating ones when no endpoint is ready) and topology hints are not implemented.
import type { EndpointInfo, ServicePortInfo } from './types.js';

/** The policy facts about one Service port that decide which chains it gets. */
export interface PortPolicy {
  /** Reachable other than by ClusterIP (here: it has a nodePort; the lab has no externalIPs or LB). */
  externallyAccessible: boolean;
  /** externalTrafficPolicy: Local, which only matters for an externally accessible port. */
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  usesClusterEndpoints: boolean;
  usesLocalEndpoints: boolean;
}

export function portPolicy(port: ServicePortInfo): PortPolicy {
  const externallyAccessible = port.nodePort !== undefined && port.nodePort !== 0;
  const externalPolicyLocal = externallyAccessible && port.externalTrafficPolicy === 'Local';
  const internalPolicyLocal = port.internalTrafficPolicy === 'Local';
  return {
    externallyAccessible,
    externalPolicyLocal,
    internalPolicyLocal,
    // Even with externalTrafficPolicy Local, cluster endpoints are needed for the
    // short-circuit of pod and node traffic to external destinations (upstream's comment).
    usesClusterEndpoints: !internalPolicyLocal || externallyAccessible,
    usesLocalEndpoints: internalPolicyLocal || externalPolicyLocal,
  };
}

export interface CategorizedEndpoints {
  /** Endpoints for "Cluster" policy: every ready endpoint. */
  cluster: EndpointInfo[];
  /** Endpoints for "Local" policy: the ready endpoints on this node. */
  local: EndpointInfo[];
  /** Every endpoint that gets a KUBE-SEP chain on this node. */
  allReachable: EndpointInfo[];
  /** Whether the port has a usable endpoint anywhere in the cluster. */
  hasAny: boolean;
}

export function categorizeEndpoints(endpoints: readonly EndpointInfo[], policy: PortPolicy, nodeName: string): CategorizedEndpoints {
  const ready = sortEndpoints(endpoints.filter((ep) => ep.ready));
  const isLocal = (ep: EndpointInfo): boolean => nodeName !== '' && ep.nodeName === nodeName;
  const cluster = policy.usesClusterEndpoints ? ready : [];
  const local = policy.usesLocalEndpoints ? ready.filter(isLocal) : [];
  // Without terminating-endpoint fallback or topology, the cluster list is a superset of the
  // local one, so upstream's merge of the two lists reduces to this choice.
  const allReachable = policy.usesClusterEndpoints ? cluster : local;
  return { cluster, local, allReachable, hasAny: ready.length > 0 };
}

/** `ip:port`, the endpoint's String() upstream, which also names its KUBE-SEP chain. */
export function endpointString(ep: Pick<EndpointInfo, 'ip' | 'port'>): string {
  return `${ep.ip}:${ep.port}`;
}

/**
 * Upstream keeps each port's endpoints sorted by their `ip:port` string (byEndpoint in
 * endpointslicecache.go), as strings: 10.0.0.10:80 sorts before 10.0.0.2:80. The order decides
 * which rule gets which probability, so it is part of the rules' text. Duplicates are dropped.
 */
export function sortEndpoints(endpoints: readonly EndpointInfo[]): EndpointInfo[] {
  const byKey = new Map<string, EndpointInfo>();
  for (const ep of endpoints) byKey.set(endpointString(ep), ep);
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, ep]) => ep);
}
