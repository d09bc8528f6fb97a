// One Service port's share of kube-proxy's nftables table: its own chains (service-, local-,
// external-, endpoint-), its affinity sets, and the elements it puts into the shared sets and
// maps (cluster-ips, service-ips, service-nodeports, no-endpoint-*). Mirrors the body of the
// per-service loop of syncProxyRules and writeServiceToEndpointRules in
// pkg/proxy/nftables/proxier.go. The lab has no LoadBalancer ingress IPs, externalIPs or
// loadBalancerSourceRanges, so the firewall- chain and firewall-ips elements never appear here.
// Endpoint selection is shared with iptables mode (../categorize.ts).
import { hash } from 'node:crypto';
import { categorizeEndpoints, portPolicy } from '../categorize.js';
import type { EndpointInfo, ServiceSnapshot } from '../types.js';
import { elementKey, type NftElement } from './elements.js';
import { endpointNames, portChainNames } from './names.js';
import { chainBlock, CHAIN, TABLE } from './setup.js';

/** What of the node a Service port's rules depend on. */
export interface PortContext {
  nodeName: string;
  /** The pod CIDR (upstream's detect-local by cluster CIDR); empty: no local-traffic detection. */
  clusterCIDR: string;
}

/** A Service port rendered once; kept (memo.ts) as long as its inputs do not change. */
export interface RenderedNftPort {
  /** `namespace/name:port/PROTOCOL`. */
  key: string;
  /** The port's chains, in the order upstream's ensureChain declares them. */
  chains: string[];
  /** Affinity sets, each with its declaration (`{ type ... }`). */
  sets: [name: string, declaration: string][];
  /**
   * `add chain` + `flush chain` for every chain, `add set` for every affinity set, then each
   * chain's rules as one chain block (chainBlock in setup.ts), one command a line.
   */
  block: string;
  /** Lines in `block`. */
  lines: number;
  /** Rules in `block`. */
  rules: number;
  elements: NftElement[];
  /** Short digest of `block` and the elements: equal digests, equal rules. */
  digest: string;
  /** What a sync state keeps of the port (NftPortRecord in sync.ts), shared, never copied. */
  record: { key: string; digest: string; chains: string[]; sets: [string, string][]; elements: NftElement[] };
}

interface Endpoint {
  ep: EndpointInfo;
  chain: string;
  affinitySet: string;
}

export function renderNftPort(key: string, { service: svc, endpoints }: ServiceSnapshot, ctx: PortContext): RenderedNftPort {
  const proto = svc.protocol.toLowerCase();
  const portName = `${svc.namespace}/${svc.name}${svc.portName ? `:${svc.portName}` : ''}`;
  const names = portChainNames(svc);
  const policy = portPolicy(svc);
  const cat = categorizeEndpoints(endpoints, policy, ctx.nodeName);
  const named = new Map<EndpointInfo, Endpoint>();
  const info = (ep: EndpointInfo): Endpoint => {
    let e = named.get(ep);
    if (!e) named.set(ep, (e = { ep, ...endpointNames(svc, ep.ip, ep.port) }));
    return e;
  };
  const reachable = cat.allReachable.map(info);
  const cluster = cat.cluster.map(info);
  const local = cat.local.map(info);
  const affinity = svc.sessionAffinity === 'ClientIP';

  const chains: string[] = reachable.map((e) => e.chain);
  const usesClusterChain = cluster.length > 0 && policy.usesClusterEndpoints;
  if (usesClusterChain) chains.push(names.service);
  const usesLocalChain = local.length > 0 && policy.usesLocalEndpoints;
  if (usesLocalChain) chains.push(names.local);

  const hasEndpoints = cat.hasAny;
  const internalChain = policy.internalPolicyLocal ? names.local : names.service;
  const hasInternal = hasEndpoints && !(policy.internalPolicyLocal && local.length === 0);
  const externalPolicyChain = policy.externalPolicyLocal ? names.local : names.service;
  const hasExternal = hasEndpoints && !(policy.externalPolicyLocal && local.length === 0);
  const usesExternalChain = hasEndpoints && policy.externallyAccessible;
  if (usesExternalChain) chains.push(names.external);
  const internalVerdict = hasEndpoints ? 'drop' : `goto ${CHAIN.reject}`;
  const externalVerdict = internalVerdict;

  const elements: NftElement[] = [{ container: 'cluster-ips', key: svc.clusterIP, value: '' }];
  const dest = `${svc.clusterIP} . ${proto} . ${svc.port}`;
  if (hasInternal) elements.push({ container: 'service-ips', key: dest, value: `goto ${internalChain}` });
  else elements.push({ container: 'no-endpoint-services', key: dest, value: internalVerdict, comment: portName });
  if (svc.nodePort) {
    const nodePort = `${proto} . ${svc.nodePort}`;
    if (hasEndpoints) elements.push({ container: 'service-nodeports', key: nodePort, value: `goto ${names.external}` });
    if (!hasExternal) elements.push({ container: 'no-endpoint-nodeports', key: nodePort, value: externalVerdict, comment: portName });
  }

  const lines: string[] = [];
  for (const chain of chains) lines.push(`add chain ${TABLE} ${chain}`, `flush chain ${TABLE} ${chain}`);
  // Upstream's order of rules; each chain's own rules stay in that order in its block.
  const rules = new Map<string, string[]>(chains.map((c) => [c, []]));
  const rule = (chain: string, text: string): void => {
    rules.get(chain)!.push(text);
  };
  if (hasInternal && ctx.clusterCIDR) {
    // Masquerades off-cluster traffic to the Service IP (it may bounce off-node).
    rule(internalChain, `ip daddr ${svc.clusterIP} ${proto} dport ${svc.port} ip saddr != ${ctx.clusterCIDR} jump ${CHAIN.markMasq}`);
  }
  if (usesExternalChain) {
    if (!policy.externalPolicyLocal) {
      rule(names.external, `jump ${CHAIN.markMasq}`);
    } else {
      if (ctx.clusterCIDR) rule(names.external, `ip saddr ${ctx.clusterCIDR} goto ${names.service} comment "short-circuit pod traffic"`);
      rule(names.external, `fib saddr type local jump ${CHAIN.markMasq} comment "masquerade local traffic"`);
      rule(names.external, `fib saddr type local goto ${names.service} comment "short-circuit local traffic"`);
    }
    if (hasExternal) rule(names.external, `goto ${externalPolicyChain}`);
  }
  const sets: [string, string][] = [];
  if (affinity) {
    const declaration = `{ type ipv4_addr ; flags dynamic,timeout ; timeout ${svc.affinityTimeoutSeconds}s ; }`;
    for (const e of reachable) {
      sets.push([e.affinitySet, declaration]);
      lines.push(`add set ${TABLE} ${e.affinitySet} ${declaration}`);
    }
  }
  if (usesClusterChain) writeServiceToEndpointRules(rule, names.service, cluster, affinity);
  if (usesLocalChain) writeServiceToEndpointRules(rule, names.local, local, affinity);
  for (const e of reachable) {
    // Hairpin: a pod reaching itself through the Service must be masqueraded.
    rule(e.chain, `ip saddr ${e.ep.ip} jump ${CHAIN.markMasq}`);
    if (affinity) rule(e.chain, `update @${e.affinitySet} { ip saddr }`);
    rule(e.chain, `meta l4proto ${proto} dnat to ${e.ep.ip}:${e.ep.port}`);
  }
  let ruleCount = 0;
  for (const [chain, list] of rules) {
    if (list.length > 0) lines.push(chainBlock(chain, list));
    ruleCount += list.length;
  }
  const block = lines.length > 0 ? `${lines.join('\n')}\n` : '';
  const digest = hash('sha1', `${block}\0${elements.map(elementKey).join('\0')}\0${elements.map((e) => e.value).join('\0')}`, 'base64url').slice(0, 16);
  return { key, chains, sets, block, lines: lines.length, rules: ruleCount, elements, digest, record: { key, digest, chains, sets, elements } };
}

/** Affinity lookups first (a known client goes back to its endpoint), then the random spread. */
function writeServiceToEndpointRules(rule: (chain: string, text: string) => void, chain: string, endpoints: readonly Endpoint[], affinity: boolean): void {
  if (affinity) for (const e of endpoints) rule(chain, `ip saddr @${e.affinitySet} goto ${e.chain}`);
  const spread = endpoints.map((e, i) => `${i} : goto ${e.chain}`).join(' , ');
  rule(chain, `numgen random mod ${endpoints.length} vmap { ${spread} }`);
}
