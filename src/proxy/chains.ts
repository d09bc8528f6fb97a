// kube-proxy's fixed chains: the top-level chains every sync rewrites whole, and the jumps from
// the kernel's built-in chains into them, which kube-proxy installs once with EnsureRule rather
// than in the restore text (a --noflush restore cannot touch PREROUTING without owning all of it).
// Mirrors the constants, iptablesJumpChains, iptablesKubeletJumpChains and the fixed rules at the
// top and bottom of syncProxyRules in pkg/proxy/iptables/proxier.go.
import { chainLine, quoted, rule, tableSection, type TableName } from './rules-text.js';

export const KUBE_SERVICES = 'KUBE-SERVICES';
export const KUBE_EXTERNAL_SERVICES = 'KUBE-EXTERNAL-SERVICES';
export const KUBE_NODEPORTS = 'KUBE-NODEPORTS';
export const KUBE_POSTROUTING = 'KUBE-POSTROUTING';
export const KUBE_MARK_MASQ = 'KUBE-MARK-MASQ';
export const KUBE_FORWARD = 'KUBE-FORWARD';
export const KUBE_PROXY_FIREWALL = 'KUBE-PROXY-FIREWALL';
/** kubelet's firewall chain, which kube-proxy also writes (its anti-martian rule for 127/8). */
export const KUBE_FIREWALL = 'KUBE-FIREWALL';

/** The chain whose disappearance tells kube-proxy (ipt.Monitor upstream) that someone flushed iptables. */
export const CANARY_CHAIN = 'KUBE-PROXY-CANARY';
export const CANARY_TABLES: readonly TableName[] = ['mangle', 'nat', 'filter'];

/** kube-proxy's default --iptables-masquerade-bit 14, written as `%#08x` upstream. */
export const MASQUERADE_MARK = '0x4000';

/** Filter chains declared (so flushed and refilled) by every sync, in upstream's order. */
export const FILTER_TOP_LEVEL_CHAINS = [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL, KUBE_FIREWALL] as const;
/** Nat chains declared by every sync, in upstream's order. */
export const NAT_TOP_LEVEL_CHAINS = [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ] as const;

/** KUBE-POSTROUTING: masquerade what KUBE-MARK-MASQ marked, clearing the mark first. */
export function postroutingRules(): string[] {
  return [
    rule('-A', KUBE_POSTROUTING, '-m', 'mark', '!', '--mark', `${MASQUERADE_MARK}/${MASQUERADE_MARK}`, '-j', 'RETURN'),
    // Clear the mark so the packet is not masqueraded again if it re-traverses the stack.
    rule('-A', KUBE_POSTROUTING, '-j', 'MARK', '--xor-mark', MASQUERADE_MARK),
    // iptables 1.6.2+ supports --random-fully, so upstream (HasRandomFully) adds it.
    rule('-A', KUBE_POSTROUTING, '-m', 'comment', '--comment', quoted('kubernetes service traffic requiring SNAT'), '-j', 'MASQUERADE', '--random-fully'),
  ];
}

export function markMasqRules(): string[] {
  return [rule('-A', KUBE_MARK_MASQ, '-j', 'MARK', '--or-mark', MASQUERADE_MARK)];
}

/**
 * kubelet's "block incoming localnet connections" rule, which kube-proxy writes too when
 * localhost NodePorts are enabled (the default): they need route_localnet=1, which would
 * otherwise let other hosts reach 127.0.0.1 services.
 */
export function kubeletFirewallRules(): string[] {
  return [
    rule('-A', KUBE_FIREWALL, '-m', 'comment', '--comment', quoted('block incoming localnet connections'), '-d', '127.0.0.0/8', '!', '-s', '127.0.0.0/8', '-m', 'conntrack', '!', '--ctstate', 'RELATED,ESTABLISHED,DNAT', '-j', 'DROP'),
  ];
}

/**
 * KUBE-FORWARD. The INVALID drop is written because nf_conntrack_tcp_be_liberal is 0 in a fresh
 * namespace; upstream also adds `-m nfacct` counters when the kernel has xt_nfacct, which this
 * kernel does not, so those are left out exactly as upstream leaves them out here.
 */
export function forwardRules(): string[] {
  return [
    rule('-A', KUBE_FORWARD, '-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'DROP'),
    rule('-A', KUBE_FORWARD, '-m', 'comment', '--comment', quoted('kubernetes forwarding rules'), '-m', 'mark', '--mark', `${MASQUERADE_MARK}/${MASQUERADE_MARK}`, '-j', 'ACCEPT'),
    rule('-A', KUBE_FORWARD, '-m', 'comment', '--comment', quoted('kubernetes forwarding conntrack rule'), '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT'),
  ];
}

/**
 * The tail call from KUBE-SERVICES to KUBE-NODEPORTS for any local destination. With the default
 * empty --nodeport-addresses and localhost NodePorts on, upstream adds no `! -d 127.0.0.0/8`.
 */
export function nodePortsTailRule(): string {
  return rule('-A', KUBE_SERVICES, '-m', 'comment', '--comment', quoted('kubernetes service nodeports; NOTE: this must be the last rule in this chain'), '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', KUBE_NODEPORTS);
}

interface JumpRule {
  table: 'filter' | 'nat';
  from: string;
  to: string;
  comment: string;
  extraArgs: string[];
}

const NEW_CONNECTIONS = ['-m', 'conntrack', '--ctstate', 'NEW'];

/** iptablesJumpChains followed by iptablesKubeletJumpChains, in upstream's order. */
const JUMP_RULES: readonly JumpRule[] = [
  { table: 'filter', to: KUBE_EXTERNAL_SERVICES, from: 'INPUT', comment: 'kubernetes externally-visible service portals', extraArgs: NEW_CONNECTIONS },
  { table: 'filter', to: KUBE_EXTERNAL_SERVICES, from: 'FORWARD', comment: 'kubernetes externally-visible service portals', extraArgs: NEW_CONNECTIONS },
  { table: 'filter', to: KUBE_NODEPORTS, from: 'INPUT', comment: 'kubernetes health check service ports', extraArgs: [] },
  { table: 'filter', to: KUBE_SERVICES, from: 'FORWARD', comment: 'kubernetes service portals', extraArgs: NEW_CONNECTIONS },
  { table: 'filter', to: KUBE_SERVICES, from: 'OUTPUT', comment: 'kubernetes service portals', extraArgs: NEW_CONNECTIONS },
  { table: 'filter', to: KUBE_FORWARD, from: 'FORWARD', comment: 'kubernetes forwarding rules', extraArgs: [] },
  { table: 'filter', to: KUBE_PROXY_FIREWALL, from: 'INPUT', comment: 'kubernetes load balancer firewall', extraArgs: NEW_CONNECTIONS },
  { table: 'filter', to: KUBE_PROXY_FIREWALL, from: 'OUTPUT', comment: 'kubernetes load balancer firewall', extraArgs: NEW_CONNECTIONS },
  { table: 'filter', to: KUBE_PROXY_FIREWALL, from: 'FORWARD', comment: 'kubernetes load balancer firewall', extraArgs: NEW_CONNECTIONS },
  { table: 'nat', to: KUBE_SERVICES, from: 'OUTPUT', comment: 'kubernetes service portals', extraArgs: [] },
  { table: 'nat', to: KUBE_SERVICES, from: 'PREROUTING', comment: 'kubernetes service portals', extraArgs: [] },
  { table: 'nat', to: KUBE_POSTROUTING, from: 'POSTROUTING', comment: 'kubernetes postrouting rules', extraArgs: [] },
  { table: 'filter', to: KUBE_FIREWALL, from: 'INPUT', comment: '', extraArgs: [] },
  { table: 'filter', to: KUBE_FIREWALL, from: 'OUTPUT', comment: '', extraArgs: [] },
];

/**
 * One restore input, for a fresh node, that creates the canary chains and the jumps from the
 * built-in chains. Upstream does EnsureChain + EnsureRule(Prepend) for each jump; `-I` without a
 * position prepends too, so applying the list in order leaves the same rule order. It declares
 * the target chains, which flushes them under --noflush: apply it just before a full sync, and
 * only when the canary is missing (it does not check for the rules as EnsureRule would).
 */
export function renderJumpRules(): string {
  const sections: string[] = [];
  for (const table of ['mangle', 'filter', 'nat'] as const) {
    const jumps = JUMP_RULES.filter((j) => j.table === table);
    const chains = [CANARY_CHAIN, ...new Set(jumps.map((j) => j.to))].map(chainLine);
    const rules = jumps.map((j) => rule('-I', j.from, ...j.extraArgs, ...(j.comment ? ['-m', 'comment', '--comment', quoted(j.comment)] : []), '-j', j.to));
    sections.push(tableSection(table, chains, rules));
  }
  return sections.join('');
}
