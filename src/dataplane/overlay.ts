// flannel's backends as renderers: how pod traffic crosses from one node to another. Each call
// renders a node's complete backend state, whatever state the node is in (fresh, another backend,
// a node set that has since changed), so the agent can run it on creation, on every change of the
// node set, and when `up` switches the backend of a running lab.
//
// Idempotence without reading the kernel: `ip -batch` has no "delete if present", and `link
// replace` of an existing vxlan device is refused (EOPNOTSUPP). So a first, forced batch removes
// whatever a backend left (host-gw's routes, flannel.1 if it exists: a missing one is no error
// there), and vxlan then builds flannel.1 afresh with every route, neighbour and FDB entry of the
// current node set, so nothing of a deleted node is left behind, without `bridge fdb flush` (a
// vxlan device supports it only from kernel 6.6). The cost: cross-node traffic from this node
// pauses for the few milliseconds between the batches, which TCP's retransmission covers.
import type { IpBatch } from '../kernel/ip.js';
import type { LabPlan, NodePlan } from './plan.js';
import { NODE_LAN_IF, NODE_POD_BRIDGE, VXLAN_IF } from './names.js';

/** flannel's VXLAN network identifier and UDP port (the Linux kernel's legacy port, not IANA's 4789). */
export const VXLAN_VNI = 1;
export const VXLAN_PORT = 8472;

/**
 * The node's backend state, as batches to run in order in the node's namespace (different nodes
 * may run side by side): first `ip` (cleanup, then the backend's devices and routes), then, for
 * vxlan, `bridge` for the FDB entries.
 */
export function renderOverlay(plan: LabPlan, node: NodePlan): IpBatch[] {
  // host-gw's routes are tagged proto static; vxlan's routes go with flannel.1.
  const cleanup: IpBatch = { netns: node.netns, lines: ['route flush proto static', `link del ${VXLAN_IF}`], force: true };
  const mtu = `link set ${NODE_POD_BRIDGE} mtu ${plan.podMTU}`;
  const others = plan.nodes.filter((other) => other.name !== node.name);
  switch (plan.backend) {
    case 'none':
      return [cleanup, { netns: node.netns, lines: [mtu] }];
    case 'host-gw':
      return [cleanup, { netns: node.netns, lines: [mtu, ...hostGwRoutes(others)] }];
    case 'vxlan': {
      const batches: IpBatch[] = [cleanup, { netns: node.netns, lines: [mtu, ...vxlanDevice(plan, node), ...vxlanRoutes(others)] }];
      if (others.length) batches.push({ netns: node.netns, tool: 'bridge', lines: vxlanFdb(others) });
      return batches;
    }
  }
}

/** host-gw as flannel does it: every other node's pod CIDR via that node's LAN IP, tagged proto static. */
function hostGwRoutes(others: NodePlan[]): string[] {
  return others.map((other) => `route replace ${other.podCIDR} via ${other.ip} dev ${NODE_LAN_IF} proto static`);
}

/** flannel.1 as flannel's vxlan backend creates it: bound to eth0, no learning, the pod CIDR's .0 as a /32. */
function vxlanDevice(plan: LabPlan, node: NodePlan): string[] {
  return [
    `link add ${VXLAN_IF} address ${node.vtepMac} mtu ${plan.podMTU} type vxlan id ${VXLAN_VNI} local ${node.ip} dev ${NODE_LAN_IF} dstport ${VXLAN_PORT} nolearning`,
    `addr add ${node.vtepIP}/32 dev ${VXLAN_IF}`,
    `link set ${VXLAN_IF} up`,
  ];
}

/**
 * Per other node, what flannel writes when it sees the node's lease: a route to its pod CIDR via
 * its VTEP address (onlink: that /32 is on no local subnet), and a permanent neighbour entry, so
 * the kernel never ARPs across the overlay.
 */
function vxlanRoutes(others: NodePlan[]): string[] {
  return others.flatMap((other) => [
    `route replace ${other.podCIDR} via ${other.vtepIP} dev ${VXLAN_IF} onlink`,
    `neigh replace ${other.vtepIP} lladdr ${other.vtepMac} dev ${VXLAN_IF} nud permanent`,
  ]);
}

/** The FDB entries (bridge's, not ip's): frames for a node's VTEP MAC go in UDP to that node's LAN IP. */
function vxlanFdb(others: NodePlan[]): string[] {
  return others.map((other) => `fdb replace ${other.vtepMac} dev ${VXLAN_IF} dst ${other.ip} self permanent`);
}

/**
 * What the remaining nodes still remember of removed ones outside flannel.1: the ARP entries on
 * eth0 for their LAN addresses (the VXLAN device's own entries go when renderOverlay rebuilds it).
 */
export function renderForgetNodes(remaining: NodePlan[], removed: NodePlan[]): IpBatch[] {
  if (removed.length === 0) return [];
  return remaining.map((node) => ({ netns: node.netns, lines: removed.map((gone) => `neigh flush to ${gone.ip} dev ${NODE_LAN_IF}`), force: true }));
}
