import { Flags } from '@oclif/core';
import { KnetlabCommand } from '../../src/cli/base.js';
import { formatDiagnostic } from '../../src/diagnostics.js';
import { UsageError } from '../../src/errors.js';
import { parseCidr } from '../../src/ipam/cidr.js';
import { loadProxyObjects } from '../../src/proxy/from-objects.js';
import { renderNftFullSync } from '../../src/proxy/nftables/index.js';
import { renderFullSync } from '../../src/proxy/render.js';

export default class ProxyRender extends KnetlabCommand {
  static override summary = "Print the rules kube-proxy writes (iptables or nftables mode) for Service and Endpoints objects";
  static override description =
    'Without root or a lab: reads v1 Service and v1 Endpoints or discovery.k8s.io/v1 EndpointSlice objects and prints the input of a full sync on one node (every transaction, in order), as the agent writes it: for `iptables-restore --noflush --counters` in iptables mode, for `nft -f` in nftables mode. Try it in a scratch network namespace.';
  static override examples = [
    '<%= config.bin %> proxy render -f examples/proxy-objects.yaml --cluster-cidr 10.42.0.0/16',
    '<%= config.bin %> proxy render -f examples/proxy-objects.yaml --cluster-cidr 10.42.0.0/16 --node-name agent-1 --node-ip 192.168.100.11',
    '<%= config.bin %> proxy render -f examples/proxy-objects.yaml --cluster-cidr 10.42.0.0/16 --node-ip 192.168.100.10 --mode nftables --service-cidr 10.43.0.0/16',
    'kubectl get svc,endpointslices -A -o yaml > objects.yaml && <%= config.bin %> proxy render -f objects.yaml --cluster-cidr 10.42.0.0/16 --node-name $(hostname)',
  ];
  static override flags = {
    filename: Flags.string({ char: 'f', summary: 'YAML file of Services and Endpoints/EndpointSlices (multi-document, or a List)', multiple: true, required: true, helpValue: 'FILE' }),
    'cluster-cidr': Flags.string({ summary: "the cluster's pod CIDR; off-cluster traffic to a ClusterIP is masqueraded", required: true, helpValue: 'CIDR' }),
    'node-name': Flags.string({ summary: 'the node to render for: endpoints whose nodeName matches are local (externalTrafficPolicy: Local)', default: '', helpValue: 'NAME' }),
    'node-ip': Flags.string({ summary: "the node's IP address", multiple: true, helpValue: 'IP' }),
    mode: Flags.string({ summary: "kube-proxy's mode", options: ['iptables', 'nftables'], default: 'iptables' }),
    'service-cidr': Flags.string({ summary: 'nftables mode: traffic to an unallocated IP of this range is dropped (cluster-ips-check)', multiple: true, helpValue: 'CIDR' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ProxyRender);
    for (const [flag, cidr] of [['cluster-cidr', flags['cluster-cidr']], ...(flags['service-cidr'] ?? []).map((c) => ['service-cidr', c])] as const) {
      if (!parseCidr(cidr)) throw new UsageError(`--${flag} ${JSON.stringify(cidr)} is not an IPv4 CIDR`, { hint: `write it like ${flag === 'cluster-cidr' ? '10.42.0.0/16' : '10.43.0.0/16'} (the k3s default)` });
    }
    const { snapshot, warnings } = await loadProxyObjects(flags.filename);
    for (const w of warnings) process.stderr.write(formatDiagnostic(w) + '\n');
    const node = { nodeName: flags['node-name'], nodeIPs: flags['node-ip'] ?? [], clusterCIDR: flags['cluster-cidr'] };
    process.stdout.write(flags.mode === 'nftables' ? renderNftFullSync(snapshot, node, { serviceCIDRs: flags['service-cidr'] ?? [] }) : renderFullSync(snapshot, node));
  }
}
