// The lab's configuration after parsing and validation: k3s's own config.yaml keys
// (/etc/rancher/k3s/config.yaml), normalised to camelCase, plus the lab's own `nodes` and `lan-cidr`.

export type NodeRole = 'server' | 'agent';
/** vxlan is k3s's default; none leaves cross-node pod traffic unrouted (for exercises). */
export type FlannelBackend = 'vxlan' | 'host-gw' | 'none';
/** iptables is kube-proxy's default; nftables is GA since Kubernetes 1.33. */
export type ProxyMode = 'iptables' | 'nftables';

export interface NodeSpec {
  name: string;
  role: NodeRole;
  labels: Record<string, string>;
  /** The node's address on the lab LAN; assigned in node order from `lan-cidr` when not given. */
  ip?: string;
}

export interface LabConfig {
  clusterCIDR: string; // cluster-cidr
  serviceCIDR: string; // service-cidr
  clusterDNS: string; // cluster-dns
  clusterDomain: string; // cluster-domain
  serviceNodePortRange: { min: number; max: number }; // service-node-port-range "30000-32767"
  flannelBackend: FlannelBackend; // flannel-backend
  proxyMode: ProxyMode; // from kube-proxy-arg proxy-mode=...
  kubeProxyArgs: string[]; // kube-proxy-arg, as written
  nodeCIDRMaskSize: number; // node-cidr-mask-size-ipv4
  lanCIDR: string; // lan-cidr (knetlab's own)
  /** host-access (knetlab's own, opt-in): a veth from the host into the LAN and routes for the cluster's ranges. */
  hostAccess: boolean;
  nodes: NodeSpec[]; // nodes (knetlab's own)
}
