// Every kernel object a lab creates is named here. Namespaces carry the lab's prefix
// (`kn.LAB.`) so that `down` can sweep a crashed lab by name alone; interface names stay within
// Linux's 15-character limit (IFNAMSIZ - 1) and follow what a student sees on a real k3s node:
// `eth0`, `cni0`, `vethXXXXXXXX`.
import { createHash } from 'node:crypto';

const IFNAMSIZ = 15;

/** All namespaces of all labs start with this; a lab's own with `kn.LAB.`. Lab names contain no dots. */
export const NETNS_ROOT_PREFIX = 'kn.';

export function labPrefix(lab: string): string {
  return `${NETNS_ROOT_PREFIX}${lab}.`;
}

/** The lab's LAN: its bridge lives here, and the namespace doubles as a machine on the LAN (`lan`). */
export function lanNetns(lab: string): string {
  return `${labPrefix(lab)}lan`;
}

export function nodeNetns(lab: string, node: string): string {
  return `${labPrefix(lab)}node.${node}`;
}

export function podNetns(lab: string, namespace: string, pod: string): string {
  const name = `${labPrefix(lab)}pod.${namespace}.${pod}`;
  // A file name may hold 255 bytes; a namespace plus a 253-character pod name may not fit.
  return name.length <= 200 ? name : `${name.slice(0, 187)}.${shortHash(name)}`;
}

export const LAN_BRIDGE = 'br-lan';
export const NODE_LAN_IF = 'eth0';
export const NODE_POD_BRIDGE = 'cni0';
export const POD_IF = 'eth0';
/** flannel's VXLAN device: `flannel.<VNI>`, VNI 1. */
export const VXLAN_IF = 'flannel.1';

/**
 * The MAC of a node's flannel.1, derived from its name so that every other node's neighbour and
 * FDB entries can be written without reading it back from the kernel (flannel publishes it in the
 * node's `flannel.alpha.coreos.com/backend-data` annotation instead). Locally administered
 * unicast: bit 1 of the first octet set, bit 0 clear.
 */
export function vtepMac(node: string): string {
  const bytes = createHash('sha256').update(`vtep:${node}`).digest().subarray(0, 6);
  bytes[0] = (bytes[0]! & 0xfe) | 0x02;
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The LAN-side end of a node's eth0, in the lan namespace: `n-server`, `n-agent-1`. */
export function lanPortName(node: string): string {
  const name = `n-${node}`;
  return name.length <= IFNAMSIZ ? name : `n-${shortHash(node)}`;
}

/** The node-side end of a pod's eth0, named as the CNI bridge plugin names it: `veth` + 8 hex digits. */
export function podVethName(podNetnsName: string): string {
  return `veth${shortHash(podNetnsName)}`;
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}
