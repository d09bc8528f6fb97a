// The lab's topology as pure data (mininet's Topo): which namespaces exist, which addresses and
// routes they hold. Realising it is someone else's job (render.ts writes the ip batches); keeping
// the plan pure lets `up` compare the running lab with a new config and change only the difference.
import type { LabConfig, NodeRole } from '../config/types.js';
import { nodePodCIDRs, planLan } from '../ipam/subnets.js';
import { nth, parseCidr } from '../ipam/cidr.js';
import { lanNetns, lanPortName, nodeNetns } from './names.js';

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
}

export interface LabPlan {
  lab: string;
  lan: { netns: string; cidr: string; prefix: number; ip: string };
  clusterCIDR: string;
  nodes: NodePlan[];
}

export function planLab(lab: string, config: LabConfig): LabPlan {
  const lan = planLan(config.lanCIDR, config.nodes);
  const podCIDRs = nodePodCIDRs(config.clusterCIDR, config.nodeCIDRMaskSize, config.nodes.length);
  return {
    lab,
    lan: { netns: lanNetns(lab), cidr: lan.cidr, prefix: lan.prefix, ip: lan.lanHost },
    clusterCIDR: config.clusterCIDR,
    nodes: config.nodes.map((node, i) => {
      const podCIDR = podCIDRs[i]!;
      return {
        name: node.name,
        role: node.role,
        labels: nodeLabels(node.name, node.role, node.labels),
        netns: nodeNetns(lab, node.name),
        ip: lan.nodeIPs[i]!,
        lanPort: lanPortName(node.name),
        podCIDR,
        gateway: nth(parseCidr(podCIDR)!, 1),
      };
    }),
  };
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

/** What a node's kernel state depends on: when this changes, the node is rebuilt. */
export function nodeFingerprint(node: NodePlan, lan: LabPlan['lan']): string {
  return [node.netns, node.ip, lan.prefix, node.podCIDR, node.lanPort].join(' ');
}
