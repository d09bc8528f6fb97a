// Pure renderers from the plan to `ip -batch` scripts. Nothing here runs anything: the agent
// hands the batches to kernel/ip.ts, and unit tests compare them with golden files. How traffic
// crosses between nodes (flannel's backend) is rendered separately, in overlay.ts.
import type { IpBatch } from '../kernel/ip.js';
import type { LabPlan, NodePlan } from './plan.js';
import { LAN_BRIDGE, NODE_LAN_IF, NODE_POD_BRIDGE, POD_IF } from './names.js';

export { renderForgetNodes, renderOverlay } from './overlay.js';

/** A pod's place in the dataplane, decided by the scheduler and IPAM. */
export interface PodWiring {
  netns: string;
  /** Node-side end of the pod's eth0, a port of the node's cni0. */
  veth: string;
  ip: string;
  node: NodePlan;
}

export function renderNetnsAdd(names: string[]): IpBatch {
  return { lines: names.map((n) => `netns add ${n}`) };
}

export function renderNetnsDelete(names: string[]): IpBatch {
  return { lines: names.map((n) => `netns del ${n}`) };
}

/** The LAN: one bridge in the lan namespace, holding the lan machine's own address. */
export function renderLan(plan: LabPlan): IpBatch {
  const { lan } = plan;
  return {
    netns: lan.netns,
    lines: ['link set lo up', `link add ${LAN_BRIDGE} type bridge`, `addr add ${lan.ip}/${lan.prefix} dev ${LAN_BRIDGE}`, `link set ${LAN_BRIDGE} up`],
  };
}

/** Plugs nodes into the LAN: a veth whose far end becomes the node's eth0. */
export function renderLanPorts(plan: LabPlan, nodes: NodePlan[]): IpBatch {
  return {
    netns: plan.lan.netns,
    lines: nodes.flatMap((n) => [
      `link add ${n.lanPort} type veth peer name ${NODE_LAN_IF} netns ${n.netns}`,
      `link set ${n.lanPort} master ${LAN_BRIDGE}`,
      `link set ${n.lanPort} up`,
    ]),
  };
}

/**
 * A node's own links: eth0 on the LAN, and cni0 holding the pod CIDR's gateway address, with the
 * backend's pod MTU as the CNI bridge plugin sets it from flannel's FLANNEL_MTU. Routes to other
 * nodes are the backend's: renderOverlay.
 */
export function renderNode(plan: LabPlan, node: NodePlan): IpBatch {
  const podPrefix = node.podCIDR.split('/')[1];
  return {
    netns: node.netns,
    lines: [
      'link set lo up',
      `addr add ${node.ip}/${plan.lan.prefix} dev ${NODE_LAN_IF}`,
      `link set ${NODE_LAN_IF} up`,
      `link add ${NODE_POD_BRIDGE} mtu ${node.podMTU} type bridge`,
      `addr add ${node.gateway}/${podPrefix} dev ${NODE_POD_BRIDGE}`,
      `link set ${NODE_POD_BRIDGE} up`,
      // A node's default route points at the LAN's own machine, which forwards nothing: like a
      // real node's gateway, it gives ClusterIPs (which no interface owns) a route, so a socket can
      // connect and the OUTPUT chain's DNAT gets to rewrite the packet.
      `route add default via ${plan.lan.ip} dev ${NODE_LAN_IF}`,
    ],
  };
}

/**
 * The node side of new pods: a veth per pod, its far end the pod's eth0, plugged into cni0 with
 * hairpin on; both ends get the backend's pod MTU (1450 under vxlan, so that a full-size pod packet
 * still fits in one LAN frame once wrapped).
 */
export function renderPodPorts(node: NodePlan, pods: PodWiring[]): IpBatch {
  return {
    netns: node.netns,
    lines: pods.flatMap((p) => [
      `link add ${p.veth} mtu ${node.podMTU} type veth peer name ${POD_IF} mtu ${node.podMTU} netns ${p.netns}`,
      `link set ${p.veth} master ${NODE_POD_BRIDGE}`,
      // hairpin lets a pod reach itself through its own Service IP (the DNAT sends the packet back out the port it came in).
      `link set dev ${p.veth} type bridge_slave hairpin on`,
      `link set ${p.veth} up`,
    ]),
  };
}

/** The pod's side of its network: lo up, its IP on eth0, eth0 up, default route via the node's cni0. */
export interface PodInside {
  netns: string;
  ifname: string;
  address: string;
  prefixLength: number;
  gateway: string;
}

export function podInside(pod: PodWiring): PodInside {
  return { netns: pod.netns, ifname: POD_IF, address: pod.ip, prefixLength: Number(pod.node.podCIDR.split('/')[1]), gateway: pod.node.gateway };
}

/**
 * The same as ip commands. The agent sends it as netlink requests (src/kernel/netlink.ts), which
 * spares a process per pod; this text is what a student would type, and what the tests compare.
 */
export function renderPodInside(pod: PodWiring): IpBatch {
  const p = podInside(pod);
  return {
    netns: p.netns,
    lines: ['link set lo up', `addr add ${p.address}/${p.prefixLength} dev ${p.ifname}`, `link set ${p.ifname} up`, `route add default via ${p.gateway} dev ${p.ifname}`],
  };
}

/**
 * Changes running pods' MTU (when `up` switches the backend): one batch per node for the veths,
 * one per pod for its eth0. A veth end cannot be changed from the other end's namespace.
 */
export function renderPodMtu(pods: PodWiring[], mtu: number): IpBatch[] {
  const nodes = [...new Map(pods.map((p) => [p.node.netns, p.node])).values()];
  return [
    ...nodes.map((node) => ({ netns: node.netns, lines: pods.filter((p) => p.node.netns === node.netns).map((p) => `link set ${p.veth} mtu ${mtu}`) })),
    ...pods.map((p) => ({ netns: p.netns, lines: [`link set ${POD_IF} mtu ${mtu}`] })),
  ];
}
