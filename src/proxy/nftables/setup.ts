// The fixed part of kube-proxy's nftables table: the table itself, the base chains on the
// netfilter hooks, the top-level chains they jump to, and the dispatch maps and sets. Mirrors
// setupNFTables, nftablesBaseChains and nftablesJumpChains in pkg/proxy/nftables/proxier.go, in
// the layout with filter-* chains at dstnat-10 and filter-output-post-dnat for cluster-ips-check
// (read at kubernetes commit b0f823e). Priorities are written as numbers, as upstream's tests
// show them: nft 1.0.6 accepts `dstnat` only on the prerouting hook.

export const TABLE = 'ip kube-proxy';
export const MASQUERADE_MARK = '0x4000';

export const CHAIN = {
  services: 'services',
  serviceEndpointsCheck: 'service-endpoints-check',
  nodePortEndpointsCheck: 'nodeport-endpoints-check',
  reject: 'reject-chain',
  clusterIPsCheck: 'cluster-ips-check',
  firewallCheck: 'firewall-check',
  markMasq: 'mark-for-masquerade',
  masquerading: 'masquerading',
} as const;

/** The sets and maps whose elements Service ports contribute. */
export const CONTAINERS = ['cluster-ips', 'service-ips', 'firewall-ips', 'no-endpoint-services', 'no-endpoint-nodeports', 'service-nodeports'] as const;
export type Container = (typeof CONTAINERS)[number];

interface BaseChain {
  name: string;
  type: 'filter' | 'nat';
  hook: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
  /** dstnat - 10, dstnat + 10, dstnat, srcnat as numbers (dstnat = -100, srcnat = 100). */
  priority: number;
}

export const BASE_CHAINS: readonly BaseChain[] = [
  { name: 'filter-prerouting', type: 'filter', hook: 'prerouting', priority: -110 },
  { name: 'filter-input', type: 'filter', hook: 'input', priority: -110 },
  { name: 'filter-forward', type: 'filter', hook: 'forward', priority: -110 },
  { name: 'filter-output', type: 'filter', hook: 'output', priority: -110 },
  { name: 'filter-output-post-dnat', type: 'filter', hook: 'output', priority: -90 },
  { name: 'nat-prerouting', type: 'nat', hook: 'prerouting', priority: -100 },
  { name: 'nat-output', type: 'nat', hook: 'output', priority: -100 },
  { name: 'nat-postrouting', type: 'nat', hook: 'postrouting', priority: 100 },
];

/** Which base chain jumps to which top-level chain, in upstream's order. */
const JUMP_CHAINS: readonly [dst: string, src: string, match: string][] = [
  [CHAIN.nodePortEndpointsCheck, 'filter-input', 'ct state new '],
  [CHAIN.serviceEndpointsCheck, 'filter-input', 'ct state new '],
  [CHAIN.serviceEndpointsCheck, 'filter-forward', 'ct state new '],
  [CHAIN.serviceEndpointsCheck, 'filter-output', 'ct state new '],
  [CHAIN.firewallCheck, 'filter-prerouting', 'ct state new '],
  [CHAIN.firewallCheck, 'filter-output', 'ct state new '],
  [CHAIN.services, 'nat-output', ''],
  [CHAIN.services, 'nat-prerouting', ''],
  [CHAIN.masquerading, 'nat-postrouting', ''],
  [CHAIN.clusterIPsCheck, 'filter-forward', 'ct state new '],
  [CHAIN.clusterIPsCheck, 'filter-output-post-dnat', 'ct state new '],
];

export interface SetupInputs {
  /** Addresses that accept NodePorts (nftables mode's default `--nodeport-addresses primary`); empty: all local addresses. */
  nodePortIPs: readonly string[];
  /** The Service CIDRs; traffic to an unallocated address in them is dropped. Empty: no such rule. */
  serviceCIDRs: readonly string[];
  masqueradeMark: string;
}

const ADDR = 'ipv4_addr';
const NO_LOCALHOST = 'ip daddr != 127.0.0.0/8';

/** Each set and map: its type and upstream's comment. */
export const DECLARATIONS: Record<Container | 'nodeport-ips', { kind: 'set' | 'map'; spec: string }> = {
  'cluster-ips': { kind: 'set', spec: `type ${ADDR} ; comment "Active ClusterIPs"` },
  'nodeport-ips': { kind: 'set', spec: `type ${ADDR} ; comment "IPs that accept NodePort traffic"` },
  'no-endpoint-services': { kind: 'map', spec: `type ${ADDR} . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints"` },
  'no-endpoint-nodeports': { kind: 'map', spec: `type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints"` },
  'firewall-ips': { kind: 'map', spec: `type ${ADDR} . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges"` },
  'service-ips': { kind: 'map', spec: `type ${ADDR} . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic"` },
  'service-nodeports': { kind: 'map', spec: `type inet_proto . inet_service : verdict ; comment "NodePort traffic"` },
};

/** `add set|map ... { type ... ; comment ... ; }`, with `elements = { ... }` when given. */
export function declareContainer(name: Container | 'nodeport-ips', elements?: readonly string[]): string {
  const d = DECLARATIONS[name];
  const body = elements && elements.length > 0 ? ` ; elements = { ${elements.join(', ')} }` : '';
  return `add ${d.kind} ${TABLE} ${name} { ${d.spec}${body} ; }`;
}

/**
 * Rules are written as chain blocks, `add chain T C { rule ; rule ; }`: the same rules, in the
 * same order, as upstream's one `add rule` per line. nft 1.0.6 reads every chain and set of the
 * table before it evaluates an `add rule` or `add element` (cache flags in its src/cache.c), which
 * at 10,000 Services costs ~300 ms per transaction; for a chain block it reads only the tables.
 */
export function chainBlock(chain: string, rules: readonly string[]): string {
  return `add chain ${TABLE} ${chain} { ${rules.join(' ; ')} ; }`;
}

export interface SetupLines {
  /** The table, base chains, top-level chains with their rules, sets and maps declared. */
  declare: string[];
  /** Upstream rebuilds its sets and maps on every full sync (nftElementStorage.reset): these empty them. */
  flush: string[];
}

/**
 * The setup of a full sync, in upstream's order. `recreateBaseChains` (upstream: the first sync
 * of a kube-proxy process) deletes and re-adds the base chains so that a changed priority takes
 * effect; the `add` before each `delete` makes it safe when the chain does not exist.
 */
export function renderSetup(inputs: SetupInputs, recreateBaseChains: boolean): SetupLines {
  const out: string[] = [`add table ${TABLE} { comment "rules for kube-proxy" ; }`];
  if (recreateBaseChains) for (const bc of BASE_CHAINS) out.push(`add chain ${TABLE} ${bc.name}`, `delete chain ${TABLE} ${bc.name}`);
  for (const bc of BASE_CHAINS) {
    out.push(`add chain ${TABLE} ${bc.name} { type ${bc.type} hook ${bc.hook} priority ${bc.priority} ; }`, `flush chain ${TABLE} ${bc.name}`);
  }
  const rules = new Map<string, string[]>();
  const rule = (chain: string, text: string): void => {
    const list = rules.get(chain);
    if (list) list.push(text);
    else rules.set(chain, [text]);
  };
  const created = new Set<string>();
  const ensure = (chain: string): void => {
    if (created.has(chain)) return;
    created.add(chain);
    out.push(`add chain ${TABLE} ${chain}`, `flush chain ${TABLE} ${chain}`);
  };
  for (const [dst, src, match] of JUMP_CHAINS) {
    ensure(dst);
    rule(src, `${match}jump ${dst}`);
  }
  for (const chain of [CHAIN.services, CHAIN.clusterIPsCheck, CHAIN.masquerading, CHAIN.markMasq]) ensure(chain);
  const mark = inputs.masqueradeMark;
  rule(CHAIN.markMasq, `mark set mark or ${mark}`);
  rule(CHAIN.masquerading, `mark and ${mark} == 0 return`);
  rule(CHAIN.masquerading, `mark set mark xor ${mark}`);
  rule(CHAIN.masquerading, 'masquerade fully-random');
  out.push(declareContainer('cluster-ips'));
  rule(CHAIN.clusterIPsCheck, 'ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"');
  if (inputs.serviceCIDRs.length > 0) rule(CHAIN.clusterIPsCheck, `ip daddr { ${inputs.serviceCIDRs.join(', ')} } drop comment "Drop traffic to unallocated ClusterIPs"`);
  const matchAll = inputs.nodePortIPs.length === 0;
  out.push(declareContainer('nodeport-ips'));
  if (matchAll) out.push(`delete set ${TABLE} nodeport-ips`);
  else out.push(`flush set ${TABLE} nodeport-ips`, declareContainer('nodeport-ips', inputs.nodePortIPs));
  out.push(
    declareContainer('no-endpoint-services'),
    declareContainer('no-endpoint-nodeports'),
    `add chain ${TABLE} ${CHAIN.reject} { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }`,
    `flush chain ${TABLE} ${CHAIN.reject}`,
  );
  rule(CHAIN.reject, 'reject');
  rule(CHAIN.serviceEndpointsCheck, 'ip daddr . meta l4proto . th dport vmap @no-endpoint-services');
  rule(CHAIN.nodePortEndpointsCheck, `${matchAll ? NO_LOCALHOST : 'ip daddr @nodeport-ips'} meta l4proto . th dport vmap @no-endpoint-nodeports`);
  out.push(declareContainer('firewall-ips'));
  rule(CHAIN.firewallCheck, 'ip daddr . meta l4proto . th dport vmap @firewall-ips');
  out.push(declareContainer('service-ips'), declareContainer('service-nodeports'));
  rule(CHAIN.services, 'ip daddr . meta l4proto . th dport vmap @service-ips');
  rule(CHAIN.services, `${matchAll ? `fib daddr type local ${NO_LOCALHOST}` : 'ip daddr @nodeport-ips'} meta l4proto . th dport vmap @service-nodeports`);
  for (const [chain, list] of rules) out.push(chainBlock(chain, list));
  const flush = CONTAINERS.map((c) => `flush ${DECLARATIONS[c].kind} ${TABLE} ${c}`);
  return { declare: out, flush };
}

/**
 * What a chunk needs before its Service chains can be written: the table and the one outside
 * chain they jump to (no table comment: a table body makes nft 1.0.6 read the whole table).
 */
export function renderChunkPreamble(): string[] {
  return [`add table ${TABLE}`, `add chain ${TABLE} ${CHAIN.markMasq}`];
}
