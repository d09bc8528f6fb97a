import { Flags } from '@oclif/core';
import { KnetlabCommand } from '../../src/cli/base.js';
import { formatDiagnostic } from '../../src/diagnostics.js';
import { UsageError } from '../../src/errors.js';
import { parseCidr } from '../../src/ipam/cidr.js';
import { loadProxyObjects } from '../../src/proxy/from-objects.js';
import { renderFullSync } from '../../src/proxy/render.js';

export default class ProxyRender extends KnetlabCommand {
  static override summary = "Print the iptables rules kube-proxy's logic writes for Service and Endpoints objects";
  static override description =
    'Without root or a lab: reads v1 Service and v1 Endpoints or discovery.k8s.io/v1 EndpointSlice objects and prints the iptables-restore input of a full sync on one node (every transaction, in order), as the agent writes it. Feed it to `iptables-restore --noflush --counters` in a scratch network namespace to try it.';
  static override examples = [
    '<%= config.bin %> proxy render -f examples/proxy-objects.yaml --cluster-cidr 10.42.0.0/16',
    '<%= config.bin %> proxy render -f examples/proxy-objects.yaml --cluster-cidr 10.42.0.0/16 --node-name agent-1 --node-ip 192.168.100.11',
    'kubectl get svc,endpointslices -A -o yaml > objects.yaml && <%= config.bin %> proxy render -f objects.yaml --cluster-cidr 10.42.0.0/16 --node-name $(hostname)',
  ];
  static override flags = {
    filename: Flags.string({ char: 'f', summary: 'YAML file of Services and Endpoints/EndpointSlices (multi-document, or a List)', multiple: true, required: true, helpValue: 'FILE' }),
    'cluster-cidr': Flags.string({ summary: "the cluster's pod CIDR; off-cluster traffic to a ClusterIP is masqueraded", required: true, helpValue: 'CIDR' }),
    'node-name': Flags.string({ summary: 'the node to render for: endpoints whose nodeName matches are local (externalTrafficPolicy: Local)', default: '', helpValue: 'NAME' }),
    'node-ip': Flags.string({ summary: "the node's IP address", multiple: true, helpValue: 'IP' }),
    mode: Flags.string({ summary: "kube-proxy's mode", options: ['iptables', 'nftables'], default: 'iptables' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ProxyRender);
    if (flags.mode === 'nftables') throw new UsageError('--mode nftables is not available yet', { hint: 'use --mode iptables (the default)' });
    if (!parseCidr(flags['cluster-cidr'])) throw new UsageError(`--cluster-cidr ${JSON.stringify(flags['cluster-cidr'])} is not an IPv4 CIDR`, { hint: 'write it like 10.42.0.0/16 (the k3s default)' });
    const { snapshot, warnings } = await loadProxyObjects(flags.filename);
    for (const w of warnings) process.stderr.write(formatDiagnostic(w) + '\n');
    process.stdout.write(renderFullSync(snapshot, { nodeName: flags['node-name'], nodeIPs: flags['node-ip'] ?? [], clusterCIDR: flags['cluster-cidr'] }));
  }
}
