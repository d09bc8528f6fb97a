// The rules of one Service port: its lines in the shared top-level chains (KUBE-SERVICES,
// KUBE-NODEPORTS, filter REJECT/DROP) and its own chains (KUBE-EXT, KUBE-SVC, KUBE-SVL, KUBE-SEP)
// with their contents. This is the body of the per-service loop of syncProxyRules and
// writeServiceToEndpointRules in pkg/proxy/iptables/proxier.go, argument order included.
import { categorizeEndpoints, endpointString, portPolicy } from './categorize.js';
import { KUBE_EXTERNAL_SERVICES, KUBE_MARK_MASQ, KUBE_NODEPORTS, KUBE_SERVICES } from './chains.js';
import { endpointChainName, servicePortChainName, servicePortName } from './hash.js';
import { probability, quoted, rule } from './rules-text.js';
import type { EndpointInfo, ServicePortInfo, ServiceSnapshot } from './types.js';

export interface RenderContext {
  nodeName: string;
  /** The cluster CIDR; '' when unknown, which disables the local-traffic rules as upstream does. */
  clusterCIDR: string;
  /** Over 1,000 endpoints upstream drops the comments of KUBE-SEP rules and SVC->SEP jumps. */
  largeClusterMode: boolean;
}

export interface ServicePortRules {
  /** `ns/name:port`. */
  name: string;
  natServices: string[];
  natNodePorts: string[];
  filterServices: string[];
  filterExternalServices: string[];
  /** The port's own nat chains in upstream's declaration order, each with its rule lines. */
  chains: Map<string, string[]>;
}

export function renderServicePort(snapshot: ServiceSnapshot, ctx: RenderContext): ServicePortRules {
  const port = snapshot.service;
  const name = servicePortName(port);
  const protocol = port.protocol.toLowerCase();
  const policy = portPolicy(port);
  const endpoints = categorizeEndpoints(snapshot.endpoints, policy, ctx.nodeName);
  const out: ServicePortRules = { name, natServices: [], natNodePorts: [], filterServices: [], filterExternalServices: [], chains: new Map() };

  const clusterPolicyChain = servicePortChainName('KUBE-SVC-', name, protocol);
  const localPolicyChain = servicePortChainName('KUBE-SVL-', name, protocol);
  const externalTrafficChain = servicePortChainName('KUBE-EXT-', name, protocol);
  const usesClusterPolicyChain = endpoints.cluster.length > 0 && policy.usesClusterEndpoints;
  const usesLocalPolicyChain = endpoints.local.length > 0 && policy.usesLocalEndpoints;

  const hasEndpoints = endpoints.hasAny;
  const internalTrafficChain = policy.internalPolicyLocal ? localPolicyChain : clusterPolicyChain;
  const hasInternalEndpoints = hasEndpoints && (!policy.internalPolicyLocal || endpoints.local.length > 0);
  const externalPolicyChain = policy.externalPolicyLocal ? localPolicyChain : clusterPolicyChain;
  const hasExternalEndpoints = hasEndpoints && (!policy.externalPolicyLocal || endpoints.local.length > 0);
  // Based on hasEndpoints, not hasExternalEndpoints: the short-circuit rules for pod and node
  // traffic are needed even when no endpoint is local.
  const usesExternalTrafficChain = hasEndpoints && policy.externallyAccessible;

  // No endpoints at all: REJECT (connection refused). Endpoints, but none local under a Local
  // policy: DROP (as if the node did not serve the port).
  const unserved = !hasEndpoints ? { target: 'REJECT', comment: quoted(`${name} has no endpoints`) } : { target: 'DROP', comment: quoted(`${name} has no local endpoints`) };

  const clusterIPMatch = ['-m', protocol, '-p', protocol, '-d', port.clusterIP, '--dport', String(port.port)];
  if (hasInternalEndpoints) {
    out.natServices.push(rule('-A', KUBE_SERVICES, '-m', 'comment', '--comment', quoted(`${name} cluster IP`), ...clusterIPMatch, '-j', internalTrafficChain));
  } else {
    out.filterServices.push(rule('-A', KUBE_SERVICES, '-m', 'comment', '--comment', unserved.comment, ...clusterIPMatch, '-j', unserved.target));
  }

  if (port.nodePort) {
    const nodePortMatch = ['-m', protocol, '-p', protocol, '--dport', String(port.nodePort)];
    if (hasEndpoints) out.natNodePorts.push(rule('-A', KUBE_NODEPORTS, '-m', 'comment', '--comment', name, ...nodePortMatch, '-j', externalTrafficChain));
    if (!hasExternalEndpoints) {
      out.filterExternalServices.push(rule('-A', KUBE_EXTERNAL_SERVICES, '-m', 'comment', '--comment', unserved.comment, '-m', 'addrtype', '--dst-type', 'LOCAL', ...nodePortMatch, '-j', unserved.target));
    }
  }

  // Declare the port's chains in upstream's order; rules are appended to them below.
  if (usesExternalTrafficChain) out.chains.set(externalTrafficChain, []);
  if (usesClusterPolicyChain) out.chains.set(clusterPolicyChain, []);
  if (usesLocalPolicyChain) out.chains.set(localPolicyChain, []);
  const sepChains = new Map(endpoints.allReachable.map((ep) => [ep, endpointChainName(name, protocol, endpointString(ep))] as const));
  for (const chain of sepChains.values()) out.chains.set(chain, []);
  const append = (chain: string, ...words: string[]): void => {
    out.chains.get(chain)!.push(`-A ${chain} ${rule(...words)}`);
  };

  if (hasInternalEndpoints && ctx.clusterCIDR) {
    // Masquerade off-cluster traffic to the ClusterIP: a static route to the Service range via
    // any node works, and the reply must come back through that node.
    append(internalTrafficChain, '-m', 'comment', '--comment', quoted(`${name} cluster IP`), ...clusterIPMatch, '!', '-s', ctx.clusterCIDR, '-j', KUBE_MARK_MASQ);
  }

  if (usesExternalTrafficChain) {
    if (!policy.externalPolicyLocal) {
      // Endpoints may be on other nodes: masquerade so that replies come back through this one.
      append(externalTrafficChain, '-m', 'comment', '--comment', quoted(`masquerade traffic for ${name} external destinations`), '-j', KUBE_MARK_MASQ);
    } else {
      // Pods calling a NodePort behave as if they went out to a load balancer and back in:
      // no traffic policy applies to them.
      if (ctx.clusterCIDR) append(externalTrafficChain, '-m', 'comment', '--comment', quoted(`pod traffic for ${name} external destinations`), '-s', ctx.clusterCIDR, '-j', clusterPolicyChain);
      // The node itself: its source address is a local address, so it must be masqueraded.
      append(externalTrafficChain, '-m', 'comment', '--comment', quoted(`masquerade LOCAL traffic for ${name} external destinations`), '-m', 'addrtype', '--src-type', 'LOCAL', '-j', KUBE_MARK_MASQ);
      append(externalTrafficChain, '-m', 'comment', '--comment', quoted(`route LOCAL traffic for ${name} external destinations`), '-m', 'addrtype', '--src-type', 'LOCAL', '-j', clusterPolicyChain);
    }
    // Everything else (external clients) keeps its source address and follows the policy.
    if (hasExternalEndpoints) append(externalTrafficChain, '-j', externalPolicyChain);
  }

  const target: EndpointTarget = { name, port, sepChains, largeClusterMode: ctx.largeClusterMode, append };
  if (usesClusterPolicyChain) writeServiceToEndpointRules(target, clusterPolicyChain, endpoints.cluster);
  if (usesLocalPolicyChain) writeServiceToEndpointRules(target, localPolicyChain, endpoints.local);

  for (const [ep, chain] of sepChains) {
    const comment = ctx.largeClusterMode ? [] : ['-m', 'comment', '--comment', name];
    // Hairpin: a pod reaching itself through the Service must be masqueraded, or its reply
    // would skip the reverse NAT.
    append(chain, ...comment, '-s', ep.ip, '-j', KUBE_MARK_MASQ);
    const affinity = port.sessionAffinity === 'ClientIP' ? ['-m', 'recent', '--name', chain, '--set'] : [];
    append(chain, ...comment, ...affinity, '-m', protocol, '-p', protocol, '-j', 'DNAT', '--to-destination', endpointString(ep));
  }
  return out;
}

interface EndpointTarget {
  name: string;
  port: ServicePortInfo;
  sepChains: ReadonlyMap<EndpointInfo, string>;
  largeClusterMode: boolean;
  append: (chain: string, ...words: string[]) => void;
}

/** writeServiceToEndpointRules upstream: affinity checks first, then the random spread. */
function writeServiceToEndpointRules({ name, port, sepChains, largeClusterMode, append }: EndpointTarget, chain: string, endpoints: readonly EndpointInfo[]): void {
  const comment = (ep: EndpointInfo): string[] => (largeClusterMode ? [] : ['-m', 'comment', '--comment', quoted(`${name} -> ${endpointString(ep)}`)]);
  if (port.sessionAffinity === 'ClientIP') {
    for (const ep of endpoints) {
      const sep = sepChains.get(ep)!;
      append(chain, ...comment(ep), '-m', 'recent', '--name', sep, '--rcheck', '--seconds', String(port.affinityTimeoutSeconds), '--reap', '-j', sep);
    }
  }
  // Rule i matches with probability 1/(n-i) of what reaches it, so each endpoint gets 1/n;
  // the last rule always matches.
  const n = endpoints.length;
  endpoints.forEach((ep, i) => {
    const spread = i < n - 1 ? ['-m', 'statistic', '--mode', 'random', '--probability', probability(n - i)] : [];
    append(chain, ...comment(ep), ...spread, '-j', sepChains.get(ep)!);
  });
}
