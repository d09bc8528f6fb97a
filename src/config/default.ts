// The lab's defaults, in two forms: the values used for keys a config file leaves out, and the
// config.yaml that `knetlab up` uses when there is no file at all. The text is what a user would
// write in /etc/rancher/k3s/config.yaml, so reading it teaches the real keys; it is parsed through
// the same parseConfig as any user file, and a test checks both forms agree.

/** Values for keys a config file leaves out, as they would be written in YAML (k3s's defaults). */
export const DEFAULTS = {
  'cluster-cidr': '10.42.0.0/16',
  'service-cidr': '10.43.0.0/16',
  'cluster-dns': '10.43.0.10',
  'cluster-domain': 'cluster.local',
  'service-node-port-range': '30000-32767',
  'flannel-backend': 'vxlan',
  'kube-proxy-arg': [] as string[],
  'node-cidr-mask-size-ipv4': 24,
  'lan-cidr': '192.168.100.0/24',
  'host-access': false,
  nodes: [
    { name: 'server', role: 'server' },
    { name: 'agent-1', role: 'agent' },
    { name: 'agent-2', role: 'agent' },
  ],
} as const;

export const DEFAULT_CONFIG_YAML = `# knetlab config.yaml — the same keys as k3s's /etc/rancher/k3s/config.yaml.
# Every value below is the default: delete a line and nothing changes.
# Keys that k3s knows but the lab has no use for (token, tls-san, write-kubeconfig-mode, ...)
# are accepted with a warning, so a real k3s config carries over.

# Pods get addresses from this range; each node gets its own /24 of it (10.42.0.0/24, 10.42.1.0/24, ...),
# with the gateway .1 on the node's cni0 bridge.
cluster-cidr: 10.42.0.0/16
# Service ClusterIPs come from this range; 10.43.0.1 is default/kubernetes.
service-cidr: 10.43.0.0/16
# The ClusterIP of kube-system/kube-dns (CoreDNS); must be inside service-cidr.
cluster-dns: 10.43.0.10
cluster-domain: cluster.local
# NodePort services get ports from this range on every node.
service-node-port-range: 30000-32767
# Size of each node's pod subnet inside cluster-cidr.
node-cidr-mask-size-ipv4: 24

# How pod traffic crosses nodes (flannel's backend; vxlan is k3s's default):
# - vxlan: an overlay. Each node has a flannel.1 device (VNI 1, UDP port 8472) that wraps pod
#   packets in UDP between the nodes' LAN addresses.
# - host-gw: plain routes. Each node routes every other node's pod subnet via that node's LAN address.
# - none: nothing routes pod traffic between nodes, so pods on different nodes cannot reach each
#   other until you wire it yourself (for exercises).
flannel-backend: vxlan

# Flags for kube-proxy, as key=value. Its default mode, iptables, needs nothing set here;
# nftables mode (GA since Kubernetes 1.33) writes one nftables table instead of iptables chains.
# Change the mode and run knetlab up again: the rules of the other mode are removed.
# kube-proxy-arg:
#   - proxy-mode=nftables

# --- knetlab's own keys (not k3s) ---

# The network the nodes share. .1 is the lab's "lan" machine (outside the cluster);
# nodes get .10, .11, ... in the order below unless they set ip.
lan-cidr: 192.168.100.0/24

# Opt-in: give the host one veth into the lab's LAN and routes for cluster-cidr and service-cidr
# via the server node, so \`curl\` to a ClusterIP, pod IP or NODE_IP:NODEPORT works from the host's
# shell. \`knetlab down\` removes them.
host-access: false

nodes:
  - name: server
    role: server # runs the control plane, like \`k3s server\`
  - name: agent-1
    role: agent # a worker, like \`k3s agent\`
  - name: agent-2
    role: agent
`;
