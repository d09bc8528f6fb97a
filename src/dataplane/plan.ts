// The lab's topology as pure data (mininet's Topo): which namespaces exist, which addresses and
// routes they hold. Realising it is someone else's job (render.ts writes the ip batches); keeping
// the plan pure lets `up` compare the running lab with a new config and change only the difference.
// Given the running lab's plan, nodes keep their pod CIDR and LAN IP, as a k3s node keeps the
// podCIDR it got when it registered.
import type { FlannelBackend, LabConfig, NodeRole } from '../config/types.js';
import { assignPodCIDRs, planLan } from '../ipam/subnets.js';
import { nth, parseCidr } from '../ipam/cidr.js';
import { lanNetns, lanPortName, nodeNetns, vtepMac } from './names.js';

/** The MTU of the lab LAN's links (the nodes' eth0), as on an ordinary Ethernet. */
export const LAN_MTU = 1500;
/**
 * What VXLAN adds to every packet over IPv4: outer IPv4 (20) + UDP (8) + VXLAN (8) + inner
 * Ethernet (14) bytes. flannel subtracts it from the interface's MTU for flannel.1 and the pods.
 */
export const VXLAN_OVERHEAD = 50;

/** Kubernetes' name for the machine's architecture (GOARCH). */
export const ARCH = process.arch === 'x64' ? 'amd64' : process.arch;

export interface NodePlan {
  name: string;
  role: NodeRole;
  labels: Record<string, string>;
  netns: string;
  /** The node's address on the LAN (its eth0) and the LAN's prefix length. */
  ip: string;
  /** The LAN-side end of the node's eth0, in the lan namespace. */
  lanPort: string;
  podCIDR: string;
  /** `.1` of the pod CIDR, on the node's cni0: every pod's default gateway. */
  gateway: string;
  /** The MAC of the node's flannel.1 (vxlan), derived from its name. */
  vtepMac: string;
  /** `.0` of the pod CIDR, the address flannel puts on flannel.1 (as /32) and other nodes route via. */
  vtepIP: string;
  /** MTU of cni0, the pods' eth0 and their veths: the same as the lab's podMTU (here because pod renderers see only the node). */
  podMTU: number;
}

export interface LabPlan {
  lab: string;
  lan: { netns: string; cidr: string; prefix: number; ip: string };
  clusterCIDR: string;
  /** flannel's backend: how pod traffic crosses between nodes. */
  backend: FlannelBackend;
  /** MTU of pod interfaces: the LAN's, less the VXLAN overhead with vxlan (1450), as flannel computes it. */
  podMTU: number;
  nodes: NodePlan[];
}

/**
 * The plan for a config. With `previous` (the running lab's plan), a node of the same name keeps
 * its pod CIDR and LAN IP while they remain valid for the new config; new nodes, and nodes whose
 * addresses no longer fit, get the lowest free ones. Without it, addresses follow node order.
 */
export function planLab(lab: string, config: LabConfig, previous?: LabPlan): LabPlan {
  const before = new Map(previous?.nodes.map((n) => [n.name, n]));
  const lan = planLan(
    config.lanCIDR,
    config.nodes.map((node) => ({ ip: node.ip, previousIP: before.get(node.name)?.ip })),
  );
  const podCIDRs = assignPodCIDRs(
    config.clusterCIDR,
    config.nodeCIDRMaskSize,
    config.nodes.map((node) => before.get(node.name)?.podCIDR),
  );
  const podMTU = podMTUFor(config.flannelBackend);
  return {
    lab,
    lan: { netns: lanNetns(lab), cidr: lan.cidr, prefix: lan.prefix, ip: lan.lanHost },
    clusterCIDR: config.clusterCIDR,
    backend: config.flannelBackend,
    podMTU,
    nodes: config.nodes.map((node, i) => {
      const podCIDR = parseCidr(podCIDRs[i]!)!;
      return {
        name: node.name,
        role: node.role,
        labels: nodeLabels(node.name, node.role, node.labels),
        netns: nodeNetns(lab, node.name),
        ip: lan.nodeIPs[i]!,
        lanPort: lanPortName(node.name),
        podCIDR: podCIDRs[i]!,
        gateway: nth(podCIDR, 1),
        vtepMac: vtepMac(node.name),
        vtepIP: nth(podCIDR, 0),
        podMTU,
      };
    }),
  };
}

/** flannel's MTU for pods: the interface's, less what its backend wraps around each packet. */
export function podMTUFor(backend: FlannelBackend): number {
  return backend === 'vxlan' ? LAN_MTU - VXLAN_OVERHEAD : LAN_MTU;
}

/** The labels a k3s node carries, plus the user's own. */
function nodeLabels(name: string, role: NodeRole, own: Record<string, string>): Record<string, string> {
  const labels: Record<string, string> = {
    'beta.kubernetes.io/arch': ARCH,
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': ARCH,
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
  };
  if (role === 'server') {
    labels['node-role.kubernetes.io/control-plane'] = 'true';
    labels['node-role.kubernetes.io/master'] = 'true';
  }
  return { ...labels, ...own };
}

/**
 * What a node's kernel state depends on: when this changes, the node is rebuilt. The backend and
 * MTU are not in it: renderOverlay and renderPodMtu switch those on a running node, keeping its pods.
 */
export function nodeFingerprint(node: NodePlan, lan: LabPlan['lan']): string {
  return [node.netns, node.ip, lan.prefix, node.podCIDR, node.lanPort].join(' ');
}
