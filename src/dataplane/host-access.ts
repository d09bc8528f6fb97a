// host-access: the one thing the lab may change in the host's own network, and only when asked.
// The host gets one veth into the lab's LAN (its end named kn-LAB, with the LAN's last address)
// and routes for cluster-cidr and service-cidr via the nodes (see hostRoutes), so a shell on the host can
// curl a ClusterIP, a pod IP or NODE_IP:NODEPORT. Deleting the lab's LAN namespace destroys the
// veth pair, and with it the host's end and the routes through it: nothing else to undo.
import { createHash } from 'node:crypto';
import type { LabConfig } from '../config/types.js';
import { intToIp, overlaps, parseCidr } from '../ipam/cidr.js';
import type { IpBatch } from '../kernel/ip.js';
import { LAN_BRIDGE } from './names.js';
import type { LabPlan } from './plan.js';

const HOST_PORT = 'host';

/** The host's end of the veth: `kn-LAB`, or `kn-` and a hash when the lab's name is long. */
export function hostLinkName(lab: string): string {
  const name = `kn-${lab}`;
  return name.length <= 15 ? name : `kn-${createHash('sha256').update(lab).digest('hex').slice(0, 12)}`;
}

/** The LAN's last usable address: the host's place on the lab's LAN. */
export function hostAddress(plan: LabPlan): string {
  const lan = parseCidr(plan.lan.cidr)!;
  return intToIp(lan.base + lan.size - 2);
}

export function renderHostAccess(plan: LabPlan, config: Pick<LabConfig, 'clusterCIDR' | 'serviceCIDR'>, exists: boolean): IpBatch[] {
  const link = hostLinkName(plan.lab);
  const root: string[] = exists
    ? []
    : [`link add ${link} type veth peer name ${HOST_PORT} netns ${plan.lan.netns}`, `addr add ${hostAddress(plan)}/${plan.lan.prefix} dev ${link}`, `link set ${link} up`];
  root.push(...hostRoutes(plan, config).map((r) => `route replace ${r.dst} via ${r.via} dev ${link}`));
  return [{ lines: root }, ...(exists ? [] : [{ netns: plan.lan.netns, lines: [`link set ${HOST_PORT} master ${LAN_BRIDGE}`, `link set ${HOST_PORT} up`] }])];
}

/**
 * The host's routes into the lab: service-cidr and cluster-cidr via the server node, and each
 * node's own pod CIDR via that node. The more specific routes keep a pod's reply on the path of
 * the request: through the server, a reply coming back directly from another node would leave the
 * server's conntrack with half a connection, which KUBE-FORWARD drops as INVALID.
 */
export function hostRoutes(plan: LabPlan, config: Pick<LabConfig, 'clusterCIDR' | 'serviceCIDR'>): { dst: string; via: string }[] {
  const server = plan.nodes.find((n) => n.role === 'server') ?? plan.nodes[0]!;
  return [
    { dst: config.serviceCIDR, via: server.ip },
    { dst: config.clusterCIDR, via: server.ip },
    ...plan.nodes.map((n) => ({ dst: n.podCIDR, via: n.ip })),
  ];
}

/** Routes on the host's link that the plan no longer wants (a deleted node's pod CIDR). */
export function renderStaleHostRoutes(plan: LabPlan, config: Pick<LabConfig, 'clusterCIDR' | 'serviceCIDR'>, host: HostNetwork): IpBatch {
  const link = hostLinkName(plan.lab);
  const wanted = new Set(hostRoutes(plan, config).map((r) => r.dst));
  const lanCidr = plan.lan.cidr;
  const stale = host.routes.filter((r) => r.dev === link && r.dst !== lanCidr && !wanted.has(r.dst));
  return { lines: stale.map((r) => `route del ${r.dst} dev ${link}`), force: true };
}

export function renderHostAccessRemoval(lab: string): IpBatch {
  return { lines: [`link del ${hostLinkName(lab)}`], force: true };
}

export interface HostNetwork {
  routes: { dst: string; dev?: string }[];
  links: string[];
}

/**
 * Why host access cannot be given, or [] when it can: the host already routes one of the lab's
 * ranges (the lab would hijack or break that traffic), or another lab holds host access.
 */
export function hostAccessConflicts(lab: string, config: Pick<LabConfig, 'clusterCIDR' | 'serviceCIDR' | 'lanCIDR'>, host: HostNetwork): string[] {
  const ours = hostLinkName(lab);
  const problems: string[] = [];
  const ranges: [key: string, cidr: string][] = [
    ['cluster-cidr', config.clusterCIDR],
    ['service-cidr', config.serviceCIDR],
    ['lan-cidr', config.lanCIDR],
  ];
  for (const route of host.routes) {
    if (route.dev === ours || route.dst === 'default') continue;
    const dst = parseCidr(route.dst.includes('/') ? route.dst : `${route.dst}/32`);
    if (!dst) continue;
    for (const [key, cidr] of ranges) {
      if (overlaps(dst, parseCidr(cidr)!)) problems.push(`the host already routes ${route.dst}${route.dev ? ` (dev ${route.dev})` : ''}, which overlaps ${key} ${cidr}`);
    }
  }
  for (const link of host.links) {
    if (link.startsWith('kn-') && link !== ours) problems.push(`another lab holds host access (host link ${link})`);
  }
  return problems;
}
