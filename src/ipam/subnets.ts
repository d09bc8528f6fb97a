// How the lab's address space is cut up before any pod exists: one pod subnet per node, carved
// from the cluster CIDR in the order kube-controller-manager's range allocator hands them out on
// k3s, and one LAN address per node, as a DHCP-less lab network would be planned by hand.
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
  if (count > available) {
    throw new KnetlabError(`cluster CIDR ${clusterCIDR} holds ${available} node subnets of /${maskSize}, but ${count} nodes need one each`, {
      hint: 'use a larger cluster-cidr, a longer node-cidr-mask-size-ipv4, or fewer nodes',
    });
  }
  return Array.from({ length: count }, (_, i) => formatCidr(subnet(cluster, maskSize, i)));
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

/**
 * Addresses on the lab LAN: nodes keep the IPs they were given; the others get .10, .11, ... in
 * node order, skipping any address another node asked for.
 */
export function planLan(lanCIDR: string, nodes: { ip?: string }[]): LanPlan {
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
  let next = lan.base + FIRST_AUTO_NODE_OFFSET;
  const nodeIPs = nodes.map((node) => {
    if (node.ip !== undefined) return node.ip;
    while (taken.has(next)) next++;
    if (next >= broadcast) throw new KnetlabError(`LAN ${lanCIDR} has no free address left for ${nodes.length} nodes`, { hint: 'use a larger lan-cidr' });
    taken.add(next);
    return intToIp(next);
  });
  return { cidr: formatCidr(lan), prefix: lan.prefix, lanHost, nodeIPs };
}
