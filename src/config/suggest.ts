// "Did you mean ...?" for misspelt keys and values, and the vocabularies they are checked against.
// A config file is usually copied from a blog post or typed from memory, so the usual mistakes are
// one swapped or missing letter, snake_case or camelCase spellings of kebab-case keys, and wrong
// capitalisation; this file catches all three.

const words = (text: string): ReadonlySet<string> => new Set(text.trim().split(/\s+/));

/**
 * Keys of `k3s server` and `k3s agent` (v1.2x-v1.3x, including deprecated ones) that knetlab reads
 * no meaning from. Listing them lets a real /etc/rancher/k3s/config.yaml load with warnings.
 */
export const K3S_KEYS = words(`
  config debug v vmodule log alsologtostderr
  bind-address https-listen-port supervisor-port apiserver-port apiserver-bind-address advertise-address
  advertise-port tls-san tls-san-security data-dir egress-selector-mode servicelb-namespace
  flannel-ipv6-masq flannel-external-ip flannel-iface flannel-conf flannel-cni-conf-file
  write-kubeconfig write-kubeconfig-mode write-kubeconfig-group helm-job-image
  token token-file agent-token agent-token-file server cluster-init cluster-reset cluster-reset-restore-path
  kube-apiserver-arg etcd-arg kube-controller-manager-arg kube-scheduler-arg kube-cloud-controller-manager-arg
  kubelet-arg kine-tls datastore-endpoint datastore-cafile datastore-certfile datastore-keyfile
  etcd-expose-metrics etcd-disable-snapshots etcd-snapshot-name etcd-snapshot-schedule-cron
  etcd-snapshot-retention etcd-snapshot-dir etcd-snapshot-compress etcd-s3 etcd-s3-endpoint
  etcd-s3-endpoint-ca etcd-s3-skip-ssl-verify etcd-s3-access-key etcd-s3-secret-key etcd-s3-session-token
  etcd-s3-bucket etcd-s3-bucket-lookup-type etcd-s3-region etcd-s3-folder etcd-s3-proxy
  etcd-s3-config-secret etcd-s3-insecure etcd-s3-timeout etcd-s3-retention
  default-local-storage-path disable disable-scheduler disable-cloud-controller disable-kube-proxy
  disable-network-policy disable-helm-controller disable-apiserver disable-controller-manager disable-etcd
  disable-agent disable-apiserver-lb disable-default-registry-endpoint embedded-registry supervisor-metrics
  node-name with-node-id node-label node-taint image-credential-provider-bin-dir
  image-credential-provider-config docker container-runtime-endpoint default-runtime image-service-endpoint
  nonroot-devices pause-image snapshotter private-registry system-default-registry airgap-extra-registry
  node-ip node-external-ip node-internal-dns node-external-dns resolv-conf vpn-auth vpn-auth-file
  protect-kernel-defaults secrets-encryption secrets-encryption-provider enable-pprof rootless
  prefer-bundled-bin selinux lb-server-port
  disable-selinux no-flannel no-deploy cluster-secret multi-cluster-cidr
`);

/** kube-proxy's command-line flags (without `--`), for `kube-proxy-arg` entries. */
export const KUBE_PROXY_FLAGS = words(`
  bind-address bind-address-hard-fail boot-id-file cleanup cluster-cidr config config-sync-period
  conntrack-max-per-core conntrack-min conntrack-tcp-be-liberal conntrack-tcp-timeout-close-wait
  conntrack-tcp-timeout-established conntrack-udp-timeout conntrack-udp-timeout-stream detect-local-mode
  feature-gates healthz-bind-address healthz-port hostname-override init-only iptables-localhost-nodeports
  iptables-masquerade-bit iptables-min-sync-period iptables-sync-period ipvs-exclude-cidrs
  ipvs-min-sync-period ipvs-scheduler ipvs-strict-arp ipvs-sync-period ipvs-tcp-timeout
  ipvs-tcpfin-timeout ipvs-udp-timeout kube-api-burst kube-api-content-type kube-api-qps kubeconfig
  log-flush-frequency logging-format masquerade-all master metrics-bind-address metrics-port
  nodeport-addresses oom-score-adj pod-bridge-interface pod-interface-name-prefix profiling proxy-mode
  proxy-port-range show-hidden-metrics-for-version v vmodule write-config-to
`);

/** Optimal string alignment distance: Levenshtein plus swaps of two adjacent characters. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[rows - 1]![cols - 1]!;
}

/** `clusterCidr`, `cluster_cidr` and `CLUSTER-CIDR` all become `cluster-cidr`. */
export function toKebab(word: string): string {
  return word
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/[_\s]+/g, '-')
    .toLowerCase();
}

/**
 * The closest candidate, or undefined when nothing is close enough to be a plausible typo
 * (at most one edit per three characters, and at least one edit allowed).
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const wanted = toKebab(word);
  const limit = Math.max(1, Math.floor(wanted.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    const distance = editDistance(wanted, candidate);
    if (distance < bestDistance || (distance === bestDistance && best !== undefined && candidate < best)) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** `did you mean `x`?`, or undefined when there is no plausible candidate. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const match = closest(word, candidates);
  return match === undefined ? undefined : `did you mean \`${match}\`?`;
}
