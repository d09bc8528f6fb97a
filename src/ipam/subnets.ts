// How the lab's address space is cut up before any pod exists: one pod subnet per node, carved
// from the cluster CIDR in the order kube-controller-manager's range allocator hands them out on
// k3s, and one LAN address per node, as a DHCP-less lab network would be planned by hand. Once a
// node has both, it keeps them: nodes joining and leaving a running lab renumber no one.
import { KnetlabError } from '../errors.js';
import { contains, formatCidr, intToIp, ipToInt, isIPv4, nth, parseCidr, subnet, type Cidr } from './cidr.js';

/** kube-controller-manager refuses node masks more than 16 bits longer than the cluster mask. */
const MAX_NODE_MASK_BITS = 16;

/** The first address handed to a node that was not given one: .10, leaving room for lab machines. */
const FIRST_AUTO_NODE_OFFSET = 10;

/** Parses a CIDR the caller has already validated; a bad one here is a programming error made visible. */
export function requireCidr(text: string, what: string): Cidr {
  const cidr = parseCidr(text);
  if (!cidr) throw new KnetlabError(`${what} ${JSON.stringify(text)} is not an IPv4 CIDR`, { hint: 'write it as A.B.C.D/N, e.g. 10.42.0.0/16' });
  return cidr;
}

/**
 * The pod CIDR of each node, in node order: node i gets the i-th subnet of `maskSize` bits
 * (10.42.0.0/24, 10.42.1.0/24, ...), as the k3s server assigns them on registration.
 */
export function nodePodCIDRs(clusterCIDR: string, maskSize: number, count: number): string[] {
  return assignPodCIDRs(clusterCIDR, maskSize, Array.from({ length: count }, () => undefined));
}

/**
 * The pod CIDR of each node when some nodes already have one: k3s gives a node its pod CIDR when it
 * registers and keeps it, so `kept[i]` (node i's CIDR so far, or undefined for a new node) stays
 * when it is still one of this cluster CIDR's subnets of `maskSize` bits. The other nodes get the
 * lowest free subnets, in node order. (kube-controller-manager's cidrset hands out the lowest free
 * index after a restart; within one process it goes on from its last allocation, a cursor a lab
 * plan does not keep.) With nothing kept this is nodePodCIDRs: node i gets the i-th subnet.
 */
export function assignPodCIDRs(clusterCIDR: string, maskSize: number, kept: readonly (string | undefined)[]): string[] {
  const cluster = requireCidr(clusterCIDR, 'cluster CIDR');
  if (!Number.isInteger(maskSize) || maskSize < cluster.prefix || maskSize > 30) {
    throw new KnetlabError(`node CIDR mask size /${maskSize} does not fit cluster CIDR ${clusterCIDR}`, {
      hint: `use a mask size between ${cluster.prefix} and 30 (node-cidr-mask-size-ipv4; k3s uses 24)`,
    });
  }
  if (maskSize - cluster.prefix > MAX_NODE_MASK_BITS) {
    throw new KnetlabError(`node CIDR mask size /${maskSize} is more than ${MAX_NODE_MASK_BITS} bits longer than cluster CIDR ${clusterCIDR}`, {
      hint: `use a mask size of at most /${cluster.prefix + MAX_NODE_MASK_BITS}, or a larger cluster CIDR`,
    });
  }
  const available = 2 ** (maskSize - cluster.prefix);
  if (kept.length > available) {
    throw new KnetlabError(`cluster CIDR ${clusterCIDR} holds ${available} node subnets of /${maskSize}, but ${kept.length} nodes need one each`, {
      hint: 'use a larger cluster-cidr, a longer node-cidr-mask-size-ipv4, or fewer nodes',
    });
  }
  const size = 2 ** (32 - maskSize);
  const used = new Set<number>();
  const indices = kept.map((text) => {
    const c = text === undefined ? undefined : parseCidr(text);
    if (!c || c.prefix !== maskSize || formatCidr(c) !== text || c.base < cluster.base || c.base + c.size > cluster.base + cluster.size) return undefined;
    const index = (c.base - cluster.base) / size;
    if (used.has(index)) return undefined;
    used.add(index);
    return index;
  });
  let next = 0;
  return indices.map((index) => {
    if (index === undefined) {
      while (used.has(next)) next++;
      used.add(next);
      index = next;
    }
    return formatCidr(subnet(cluster, maskSize, index));
  });
}

export interface LanPlan {
  /** The LAN's network, normalised: 192.168.100.0/24. */
  cidr: string;
  prefix: number;
  /** The lab's "lan" machine, outside the cluster: always the .1 of the LAN. */
  lanHost: string;
  /** One address per node, in node order. */
  nodeIPs: string[];
}

/** A node as the LAN planner sees it: the address the config asks for, and the one it had before. */
export interface LanNode {
  /** An explicit `ip:` from the config: always wins. */
  ip?: string;
  /** The address the node had in the running lab: kept when it is still free and inside the LAN. */
  previousIP?: string;
}

/**
 * Addresses on the lab LAN: nodes keep the IPs they were given; a node that had an address keeps
 * it while it is still inside the LAN and no other node asks for it; the others get the lowest free
 * addresses from .10 up, in node order. Without previous addresses: .10, .11, ... in node order,
 * skipping any address another node asked for.
 */
export function planLan(lanCIDR: string, nodes: readonly LanNode[]): LanPlan {
  const lan = requireCidr(lanCIDR, 'LAN CIDR');
  const lanHost = nth(lan, 1);
  const broadcast = lan.base + lan.size - 1;
  const taken = new Set<number>([ipToInt(lanHost)]);
  nodes.forEach((node, i) => {
    if (node.ip === undefined) return;
    if (!isIPv4(node.ip) || !contains(lan, node.ip)) throw new KnetlabError(`node #${i + 1}'s IP ${node.ip} is not in the LAN ${lanCIDR}`, { hint: `pick an address inside ${lanCIDR}, or leave ip out to get one assigned` });
    const n = ipToInt(node.ip);
    if (n === lan.base || n === broadcast || taken.has(n)) {
      throw new KnetlabError(`node #${i + 1}'s IP ${node.ip} is the LAN's network, broadcast or lan-host address, or another node's`, { hint: `pick a free address in ${lanCIDR} from .${FIRST_AUTO_NODE_OFFSET} up` });
    }
    taken.add(n);
  });
  const kept = nodes.map((node) => {
    const previous = node.previousIP;
    if (node.ip !== undefined || previous === undefined || !isIPv4(previous) || !contains(lan, previous)) return undefined;
    const n = ipToInt(previous);
    if (n === lan.base || n === broadcast || taken.has(n)) return undefined;
    taken.add(n);
    return previous;
  });
  let next = lan.base + FIRST_AUTO_NODE_OFFSET;
  const nodeIPs = nodes.map((node, i) => {
    if (node.ip !== undefined) return node.ip;
    if (kept[i] !== undefined) return kept[i];
    while (taken.has(next)) next++;
    if (next >= broadcast) throw new KnetlabError(`LAN ${lanCIDR} has no free address left for ${nodes.length} nodes`, { hint: 'use a larger lan-cidr' });
    taken.add(next);
    return intToIp(next);
  });
  return { cidr: formatCidr(lan), prefix: lan.prefix, lanHost, nodeIPs };
}
