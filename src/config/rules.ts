// Step 3 of reading config.yaml: the rules a typed config must follow before the lab touches the
// kernel. Each rule is a small pure function that looks at the Draft and returns every problem it
// finds, each saying what is wrong and how to fix it. A value the schema already rejected is
// missing from the Draft, and rules that need it stay silent instead of piling on.
import type { Diagnostic, PathSegment, SourceMap } from '../diagnostics.js';
import { contains, formatCidr, intToIp, isIPv4, isNetworkAddress, nth, offsetOf, overlaps, parseCidr, type Cidr } from '../ipam/cidr.js';
import { DEFAULTS } from './default.js';
import { DNS1123_LABEL, LABEL_NAME, isDNS1123Subdomain, labelKeyProblem, sanitize, suggestLabelKey, type Draft, type DraftNode } from './schema.js';
import { KUBE_PROXY_FLAGS, closest, didYouMean } from './suggest.js';
import { parseDuration } from './duration.js';
import { isProxyMode } from './kube-proxy-args.js';
import type { FlannelBackend } from './types.js';

export type Rule = (config: Draft, sm: SourceMap) => Diagnostic[];
type CidrKey = 'cluster-cidr' | 'service-cidr' | 'lan-cidr';

const CIDR_KEYS: CidrKey[] = ['cluster-cidr', 'service-cidr', 'lan-cidr'];
/** Nodes without an `ip` are numbered from this offset in lan-cidr: .10, .11, ... */
export const FIRST_NODE_OFFSET = 10;

/** The key's range, when it is one valid IPv4 network (other rules report it otherwise). */
export function cidrOf(config: Draft, key: CidrKey): Cidr | undefined {
  const text = config[key];
  return text !== undefined && isNetworkAddress(text) ? parseCidr(text) : undefined;
}

/** `cluster-cidr 10.42.0.0/16`, marked when the value is the default rather than the user's. */
function named(config: Draft, key: keyof typeof DEFAULTS, value: string): string {
  return `${key} ${value}${config.written.has(key) ? '' : ' (the default)'}`;
}

const cidrFormat: Rule = (config, sm) =>
  CIDR_KEYS.flatMap((key) => {
    const text = config[key];
    if (text === undefined) return [];
    const example = DEFAULTS[key];
    const parts = text.split(',').map((p) => p.trim());
    const v4 = parts.filter((p) => !p.includes(':'));
    if (parts.length > 1 || text.includes(':')) {
      const keep = v4.length === parts.length ? `keep one of them, e.g. ${v4[0]}` : v4.length > 0 ? `keep only the IPv4 range: ${v4[0]}` : `use an IPv4 range such as ${example}`;
      const what = parts.length > 1 ? (v4.length < parts.length ? 'is a dual-stack list; IPv6 is not supported by knetlab yet' : `lists ${parts.length} ranges; knetlab uses exactly one`) : 'is an IPv6 range; IPv6 is not supported by knetlab yet';
      return [sm.diagnostic([key], `${JSON.stringify(text)} ${what}`, keep)];
    }
    const cidr = parseCidr(text);
    if (!cidr) return [sm.diagnostic([key], `${JSON.stringify(text)} is not a valid IPv4 CIDR`, `write it as ADDRESS/PREFIX, e.g. ${example}`)];
    if (!isNetworkAddress(text)) {
      const address = text.split('/')[0];
      return [sm.diagnostic([key], `"${text}" has host bits set: ${address} is not the first address of a /${cidr.prefix}`, `write the network address: ${formatCidr(cidr)}`)];
    }
    return [];
  });

const rangesDisjoint: Rule = (config, sm) => {
  const out: Diagnostic[] = [];
  for (const [i, a] of CIDR_KEYS.entries()) {
    for (const b of CIDR_KEYS.slice(i + 1)) {
      const ca = cidrOf(config, a);
      const cb = cidrOf(config, b);
      if (!ca || !cb || !overlaps(ca, cb)) continue;
      // Point at the key the user wrote, and suggest its default when that one would fit.
      const [change, other] = config.written.has(b) || !config.written.has(a) ? [b, ca] : [a, cb];
      const fallback = parseCidr(DEFAULTS[change]);
      const fix = fallback && !overlaps(fallback, other) ? `change ${change}, e.g. to ${DEFAULTS[change]}` : `change one of them so that they share no addresses`;
      out.push(sm.diagnostic([change], `${named(config, a, formatCidr(ca))} overlaps ${named(config, b, formatCidr(cb))}; pods, services and the LAN each need their own addresses`, fix));
    }
  }
  return out;
};

const clusterDNS: Rule = (config, sm) => {
  const dns = config['cluster-dns'];
  if (dns === undefined) return [];
  const at = ['cluster-dns'];
  if (dns.includes(':') || dns.includes(',')) return [sm.diagnostic(at, `${JSON.stringify(dns)} is not a single IPv4 address; IPv6 and dual-stack DNS are not supported by knetlab yet`, 'write one IPv4 address inside service-cidr, e.g. 10.43.0.10')];
  if (!isIPv4(dns)) return [sm.diagnostic(at, `${JSON.stringify(dns)} is not an IPv4 address`, 'write the ClusterIP of the DNS service as A.B.C.D, e.g. 10.43.0.10')];
  const svc = cidrOf(config, 'service-cidr');
  if (!svc) return [];
  const range = named(config, 'service-cidr', formatCidr(svc));
  const suggestion = `use e.g. ${nth(svc, svc.size > 12 ? 10 : Math.min(2, svc.size - 1))}`;
  if (!contains(svc, dns)) return [sm.diagnostic(at, `${dns} is outside ${range}; the DNS service is a Service and gets a ClusterIP from that range`, `pick an address inside it, ${suggestion.slice(4)}`)];
  const offset = offsetOf(svc, dns);
  if (offset === 0) return [sm.diagnostic(at, `${dns} is the network address of ${range} and cannot be a Service IP`, suggestion)];
  if (offset === 1) return [sm.diagnostic(at, `${dns} is reserved for the default/kubernetes Service: it is the .1 of ${range}`, suggestion)];
  if (offset === svc.size - 1) return [sm.diagnostic(at, `${dns} is the broadcast address of ${range} and cannot be a Service IP`, suggestion)];
  return [];
};

const nodeMaskSize: Rule = (config, sm) => {
  const mask = config['node-cidr-mask-size-ipv4'];
  if (mask === undefined) return [];
  const at = ['node-cidr-mask-size-ipv4'];
  if (!Number.isInteger(mask)) return [sm.diagnostic(at, `${mask} is not a whole number`, 'write a prefix length such as 24')];
  const min = cidrOf(config, 'cluster-cidr')?.prefix ?? 0;
  if (mask >= min && mask <= 30) return [];
  const suggestion = Math.min(30, Math.max(min, 24));
  return [sm.diagnostic(at, `/${mask} is outside the allowed range /${min} to /30 (at least cluster-cidr's own prefix, at most 30 so a node has room for pods)`, `use e.g. ${suggestion}`)];
};

const podSubnetsFitNodes: Rule = (config, sm) => {
  const cluster = cidrOf(config, 'cluster-cidr');
  const mask = config['node-cidr-mask-size-ipv4'];
  const count = config.nodes?.length ?? 0;
  if (!cluster || mask === undefined || !Number.isInteger(mask) || mask < cluster.prefix || mask > 30) return [];
  const fits = 2 ** (mask - cluster.prefix);
  if (count <= fits) return [];
  const key = config.written.has('cluster-cidr') || !config.written.has('node-cidr-mask-size-ipv4') ? 'cluster-cidr' : 'node-cidr-mask-size-ipv4';
  const what = key === 'cluster-cidr' ? formatCidr(cluster) : named(config, 'cluster-cidr', formatCidr(cluster));
  return [sm.diagnostic([key], `${what} split into /${mask} node subnets fits ${fits} node${fits === 1 ? '' : 's'}, but there are ${count}`, `use a larger cluster-cidr (e.g. ${DEFAULTS['cluster-cidr']}) or raise node-cidr-mask-size-ipv4 (smaller pod subnets, more of them)`)];
};

const nodesPresent: Rule = (config, sm) => {
  const nodes = config.nodes;
  if (!nodes) return [];
  if (nodes.length === 0) return [sm.diagnostic(['nodes'], 'the list is empty; a lab needs at least one node', 'add a server, e.g. `nodes: [{name: server, role: server}]`')];
  if (nodes.some((n) => n.role === undefined) || nodes.some((n) => n.role === 'server')) return [];
  return [sm.diagnostic(['nodes'], `none of the ${nodes.length} nodes has role server; the cluster needs one to run the control plane`, `set \`role: server\` on one of them, e.g. the first`)];
};

const nodeNames: Rule = (config, sm) => {
  const out: Diagnostic[] = [];
  const seen = new Map<string, number>();
  for (const node of config.nodes ?? []) {
    const at = ['nodes', node.index, 'name'];
    if (!node.written.has('name')) {
      if (node.entry) out.push(sm.diagnostic(['nodes', node.index], 'this node has no name', `add one, e.g. \`name: agent-${node.index}\``));
      continue;
    }
    const name = node.name;
    if (name === undefined) continue;
    if (!DNS1123_LABEL.test(name) || name.length > 63) {
      const why = name.length > 63 ? `it is ${name.length} characters long, and node names` : 'node names';
      const better = sanitize(name.toLowerCase(), /[^a-z0-9-]/g) || `node-${node.index}`;
      out.push(sm.diagnostic(at, `${JSON.stringify(name)} is not a valid node name: ${why} must be DNS-1123 labels (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)`, `rename it, e.g. ${JSON.stringify(better)}`));
    }
    const first = seen.get(name);
    if (first !== undefined) out.push(sm.diagnostic(at, `${JSON.stringify(name)} is already the name of nodes[${first}]`, 'give every node a unique name'));
    else seen.set(name, node.index);
  }
  return out;
};

/**
 * Addresses on the LAN, by node: each explicit `ip` as written, and for the others the next free
 * address from .10 on, in node order. `undefined` where a node does not fit.
 */
export function assignLanIPs(nodes: readonly DraftNode[], lan: Cidr): (string | undefined)[] {
  const taken = new Set(nodes.flatMap((n) => (n.ip !== undefined && isIPv4(n.ip) && contains(lan, n.ip) ? [offsetOf(lan, n.ip)] : [])));
  let next = FIRST_NODE_OFFSET;
  return nodes.map((n) => {
    if (n.written.has('ip')) return n.ip;
    while (taken.has(next)) next++;
    if (next >= lan.size - 1) return undefined;
    taken.add(next);
    return nth(lan, next++);
  });
}

const lanFitsNodes: Rule = (config, sm) => {
  const lan = cidrOf(config, 'lan-cidr');
  const nodes = config.nodes ?? [];
  if (!lan) return [];
  const unplaced = assignLanIPs(nodes, lan).filter((ip, i) => ip === undefined && !nodes[i]!.written.has('ip')).length;
  if (unplaced === 0) return [];
  const automatic = nodes.filter((n) => !n.written.has('ip')).length;
  const last = lan.size > 2 ? ` and the last usable address is ${intToIp(lan.base + lan.size - 2)}` : '';
  // The smallest block (at least a /24) holding .1, the numbered nodes and a broadcast address.
  const prefix = Math.min(24, 32 - Math.ceil(Math.log2(FIRST_NODE_OFFSET + nodes.length + 1)));
  const bigger = formatCidr({ base: lan.base - (lan.base % 2 ** (32 - prefix)), prefix, size: 2 ** (32 - prefix) });
  return [sm.diagnostic(['lan-cidr'], `${formatCidr(lan)}${config.written.has('lan-cidr') ? '' : ' (the default)'} has room for only ${automatic - unplaced} of the ${automatic} nodes without an ip: they are numbered from .${FIRST_NODE_OFFSET}${last}`, `use a larger lan-cidr, e.g. ${bigger}, or give the nodes an ip`)];
};

const nodeIPs: Rule = (config, sm) => {
  const out: Diagnostic[] = [];
  const lan = cidrOf(config, 'lan-cidr');
  const seen = new Map<string, DraftNode>();
  for (const node of config.nodes ?? []) {
    const ip = node.ip;
    if (ip === undefined) continue;
    const at = ['nodes', node.index, 'ip'];
    if (!isIPv4(ip)) {
      out.push(sm.diagnostic(at, `${JSON.stringify(ip)} is not an IPv4 address`, `write it as A.B.C.D${lan ? `, e.g. ${nth(lan, Math.min(20, lan.size - 2))}` : ''}`));
      continue;
    }
    if (lan) {
      const range = named(config, 'lan-cidr', formatCidr(lan));
      const pick = `pick another address in ${formatCidr(lan)}, or delete \`ip\` to number the node automatically`;
      const offset = offsetOf(lan, ip);
      if (!contains(lan, ip)) out.push(sm.diagnostic(at, `${ip} is outside ${range}`, pick));
      else if (offset === 0) out.push(sm.diagnostic(at, `${ip} is the network address of ${range}`, pick));
      else if (offset === 1) out.push(sm.diagnostic(at, `${ip} is the .1 of ${range}, which belongs to the lab's "lan" machine`, pick));
      else if (offset === lan.size - 1) out.push(sm.diagnostic(at, `${ip} is the broadcast address of ${range}`, pick));
    }
    const first = seen.get(ip);
    if (first) out.push(sm.diagnostic(at, `${ip} is already the address of nodes[${first.index}]${first.name ? ` (${first.name})` : ''}`, 'give every node its own address'));
    else seen.set(ip, node);
  }
  return out;
};

const labels: Rule = (config, sm) =>
  (config.nodes ?? []).flatMap((node) =>
    Object.entries(node.labels ?? {}).flatMap(([key, value]) => {
      const at: PathSegment[] = ['nodes', node.index, 'labels', key];
      const out: Diagnostic[] = [];
      const keyProblem = labelKeyProblem(key);
      if (keyProblem) out.push(sm.diagnostic(at, `${JSON.stringify(key)} is not a valid Kubernetes label key: ${keyProblem}`, `rename it, e.g. ${JSON.stringify(suggestLabelKey(key))}`, { at: 'key' }));
      if (value.length > 63 || (value !== '' && !LABEL_NAME.test(value))) {
        const why = value.length > 63 ? `it is ${value.length} characters long; ` : '';
        out.push(sm.diagnostic(at, `${JSON.stringify(value)} is not a valid label value: ${why}label values are empty or at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit`, `write e.g. ${JSON.stringify(sanitize(value, /[^-A-Za-z0-9_.]/g))}`));
      }
      return out;
    }),
  );

/** `30000-32767` -> {min, max}; undefined when it is not a valid range. */
export function parsePortRange(text: string): { min: number; max: number } | undefined {
  const m = /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(text);
  if (!m) return undefined;
  const [min, max] = [Number(m[1]), Number(m[2])];
  return min >= 1 && min < max && max <= 65535 ? { min, max } : undefined;
}

const portRange: Rule = (config, sm) => {
  const text = config['service-node-port-range'];
  if (text === undefined || parsePortRange(text)) return [];
  const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(text);
  const why = !m ? 'is not a range written as MIN-MAX' : Number(m[1]) >= Number(m[2]) ? 'is not a valid range: MIN must be smaller than MAX' : 'is not a valid range: ports go from 1 to 65535';
  return [sm.diagnostic(['service-node-port-range'], `${JSON.stringify(text)} ${why}`, 'write it as MIN-MAX with 1 <= MIN < MAX <= 65535, e.g. 30000-32767')];
};

const clusterDomain: Rule = (config, sm) => {
  const domain = config['cluster-domain'];
  if (domain === undefined || isDNS1123Subdomain(domain)) return [];
  const better = domain.toLowerCase().replace(/\.+$/, '').split('.').map((p) => sanitize(p, /[^a-z0-9-]/g)).filter(Boolean).join('.') || 'cluster.local';
  const fix = isDNS1123Subdomain(better) && better !== 'cluster.local' ? `write e.g. ${better}, or the default cluster.local` : 'write e.g. cluster.local, the default';
  return [sm.diagnostic(['cluster-domain'], `${JSON.stringify(domain)} is not a valid DNS domain: it must be a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', each part starting and ending with a letter or digit)`, fix)];
};

/** The backends knetlab builds, each with what it does, for the fix of every rejected backend. */
const FLANNEL_BACKENDS = {
  vxlan: 'the default: an overlay that wraps pod packets in UDP between the nodes',
  'host-gw': "routes to each node's pod subnet via its LAN address",
  none: 'nothing routes pod traffic between nodes',
} satisfies Record<FlannelBackend, string>;

export function isFlannelBackend(name: string): name is FlannelBackend {
  return Object.hasOwn(FLANNEL_BACKENDS, name);
}

const USE_A_BACKEND = `use vxlan (${FLANNEL_BACKENDS.vxlan}), host-gw (${FLANNEL_BACKENDS['host-gw']}) or none (${FLANNEL_BACKENDS.none})`;

const FLANNEL_ONLY = 'is a backend of flannel itself that k3s does not offer (k3s takes vxlan, host-gw, wireguard-native or none), so knetlab does not either';
/** Backends of k3s or of flannel itself that a user may know, and why the lab has none of them. */
const FLANNEL_UNAVAILABLE: Record<string, string> = {
  'wireguard-native': "is not available in knetlab: it is k3s's encrypted backend (WireGuard tunnels between the nodes), which the lab does not build",
  wireguard: 'is not available in knetlab, and k3s has removed it too (its successor, wireguard-native, is not available in knetlab either)',
  ipsec: 'is not available in knetlab, and k3s itself has removed it',
  udp: FLANNEL_ONLY,
  extension: FLANNEL_ONLY,
  ipip: FLANNEL_ONLY,
  alloc: FLANNEL_ONLY,
};

const flannelBackend: Rule = (config, sm) => {
  const backend = config['flannel-backend'];
  if (backend === undefined || isFlannelBackend(backend)) return [];
  const at = ['flannel-backend'];
  const why = Object.hasOwn(FLANNEL_UNAVAILABLE, backend) ? FLANNEL_UNAVAILABLE[backend] : undefined;
  if (why) return [sm.diagnostic(at, `${backend} ${why}`, USE_A_BACKEND)];
  // A typo of an unavailable backend gets the list, not a did-you-mean that would fail next.
  const guess = closest(backend, [...Object.keys(FLANNEL_BACKENDS), ...Object.keys(FLANNEL_UNAVAILABLE)]);
  const fix = guess !== undefined && isFlannelBackend(guess) ? `did you mean \`${guess}\`?` : USE_A_BACKEND;
  return [sm.diagnostic(at, `${JSON.stringify(backend)} is not a flannel backend`, fix)];
};

const kubeProxyArgs: Rule = (config, sm) => {
  const raw = config['kube-proxy-arg'];
  if (raw === undefined) return [];
  const entries: [string, PathSegment[]][] = Array.isArray(raw) ? raw.map((arg, i) => [arg, ['kube-proxy-arg', i]]) : [[raw, ['kube-proxy-arg']]];
  return entries.flatMap(([arg, at]) => {
    const eq = arg.indexOf('=');
    if (eq < 0) return [sm.diagnostic(at, `${JSON.stringify(arg)} is not a key=value flag`, `write it as FLAG=VALUE, e.g. ${arg.replace(/^-+/, '') || 'proxy-mode'}=${arg.includes('mode') ? 'iptables' : 'true'}`)];
    const flag = arg.slice(0, eq).replace(/^--?/, '');
    const value = arg.slice(eq + 1);
    if (flag === 'proxy-mode') {
      if (isProxyMode(value)) return [];
      if (value === 'ipvs') return [sm.diagnostic(at, 'proxy-mode=ipvs is not available in knetlab', 'use proxy-mode=iptables (the default) or proxy-mode=nftables')];
      return [sm.diagnostic(at, `${JSON.stringify(value)} is not a kube-proxy mode`, 'use proxy-mode=iptables (the default) or proxy-mode=nftables')];
    }
    if (flag === 'iptables-sync-period') {
      const ms = parseDuration(value);
      if (ms !== undefined && ms >= 1000) return [];
      return [sm.diagnostic(at, `iptables-sync-period=${value} is not a duration of at least 1s`, 'write a Go duration such as 30s (the default), 5m or 1h')];
    }
    if (KUBE_PROXY_FLAGS.has(flag)) return [sm.diagnostic(at, `kube-proxy flag ${flag} is ignored by knetlab`, 'nothing to do: it still applies on a real k3s node (delete it to silence this warning)', { severity: 'warning' })];
    return [sm.diagnostic(at, `${JSON.stringify(flag)} is not a kube-proxy flag`, didYouMean(flag, KUBE_PROXY_FLAGS) ?? 'check the spelling against `kube-proxy --help`')];
  });
};

export const RULES: readonly Rule[] = [cidrFormat, rangesDisjoint, clusterDNS, nodeMaskSize, podSubnetsFitNodes, nodesPresent, nodeNames, nodeIPs, lanFitsNodes, labels, portRange, clusterDomain, flannelBackend, kubeProxyArgs];
