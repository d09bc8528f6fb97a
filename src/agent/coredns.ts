// The cluster DNS that k3s deploys from its bundled manifests: a CoreDNS Deployment in kube-system
// behind the Service kube-system/kube-dns at cluster-dns. The lab creates the same objects, so
// DNS queries cross kube-proxy's rules as on k3s (KUBE-SVC-TCOU7JCQXEZGVUNU for dns/udp), and the
// agent serves the DNS pod's ports itself (see workload.ts), answering from its own objects.
import type { Deployment, Pod, Service } from '../api/types.js';
import type { LabConfig } from '../config/types.js';

export const DNS_LABELS = { 'k8s-app': 'kube-dns' };
const IMAGE = 'rancher/mirrored-coredns-coredns:1.12.3';

export function corednsDeployment(): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'coredns', namespace: 'kube-system', labels: { ...DNS_LABELS, 'kubernetes.io/name': 'CoreDNS' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: DNS_LABELS },
      template: {
        metadata: { labels: DNS_LABELS },
        spec: {
          containers: [
            {
              name: 'coredns',
              image: IMAGE,
              args: ['-conf', '/etc/coredns/Corefile'],
              ports: [
                { name: 'dns', containerPort: 53, protocol: 'UDP' },
                { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
                { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
                { name: 'ready', containerPort: 8181, protocol: 'TCP' },
              ],
              readinessProbe: { httpGet: { path: '/ready', port: 8181, scheme: 'HTTP' }, periodSeconds: 2, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3, initialDelaySeconds: 0 },
            },
          ],
        },
      },
    },
  };
}

export function kubeDnsService(config: LabConfig): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { ...DNS_LABELS, 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' } },
    spec: {
      type: 'ClusterIP',
      selector: DNS_LABELS,
      clusterIP: config.clusterDNS,
      clusterIPs: [config.clusterDNS],
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
        { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
      ],
    },
  };
}

/** The pod runs CoreDNS's image: the agent serves DNS on its port 53 rather than netexec. */
export function isDnsServer(pod: Pod): boolean {
  return pod.spec.containers.some((c) => /(^|\/)(mirrored-coredns-)?coredns(:|$)/.test(c.image));
}

/** /etc/resolv.conf as kubelet writes it for a pod with dnsPolicy ClusterFirst. */
export function podResolvConf(namespace: string, config: Pick<LabConfig, 'clusterDNS' | 'clusterDomain'>): string {
  const d = config.clusterDomain;
  return `search ${namespace}.svc.${d} svc.${d} ${d}\nnameserver ${config.clusterDNS}\noptions ndots:5\n`;
}

/** /etc/hosts as kubelet manages it for a pod. */
export function podHosts(name: string, ip: string): string {
  return [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
    `${ip}\t${name}`,
    '',
  ].join('\n');
}
