import { Args, Flags } from '@oclif/core';
import { KnetlabCommand, labFlag } from '../src/cli/base.js';
import { AgentClient, ApiStatusError } from '../src/client.js';
import type { Service } from '../src/api/types.js';
import { KnetlabError, UsageError } from '../src/errors.js';
import type { ProxyMode } from '../src/config/types.js';
import { run } from '../src/kernel/exec.js';
import { parseIptablesSave } from '../src/proxy/iptables-save.js';
import { explainService, formatExplain, type ExplainNode, type ServiceRef } from '../src/proxy/explain.js';
import { explainNftService } from '../src/proxy/nftables/explain.js';
import { NFT_TABLE, nftBinary } from '../src/proxy/nftables/index.js';
import { parseNftJson } from '../src/proxy/nftables/listing.js';
import { labStatus } from '../src/lifecycle/up.js';

export default class Explain extends KnetlabCommand {
  static override summary = "Show a Service's kube-proxy rules on a node: the way from the ClusterIP or NodePort to each DNAT, with branch shares";
  static override description =
    'The ClusterIP belongs to no interface: what makes it work are the rules kube-proxy writes on every node, read here from the node in the lab\'s proxy mode. In iptables mode: the chain from KUBE-SERVICES (and KUBE-NODEPORTS) through KUBE-SVC-* to each KUBE-SEP-* DNAT, shares worked out from the statistic probabilities, with the kernel\'s own packet counters (run some curls and look again). In nftables mode: the Service\'s elements in the @service-ips and @service-nodeports maps of `table ip kube-proxy`, its service- chain, the `numgen random mod N` branches (1/N each) into the endpoint- chains and their `dnat to`; a port without endpoints shows its @no-endpoint-* element and the reject. kube-proxy\'s nftables rules have no counters.';
  static override examples = ['<%= config.bin %> explain svc/web', '<%= config.bin %> explain svc/web --node agent-1', '<%= config.bin %> explain svc/kube-dns -n kube-system -o json'];
  static override args = { service: Args.string({ description: 'svc/NAME', required: true }) };
  static override flags = {
    lab: labFlag,
    node: Flags.string({ summary: 'which node\'s rules [default: the server node]', helpValue: 'NODE' }),
    namespace: Flags.string({ char: 'n', summary: 'namespace of the Service', default: 'default' }),
    output: Flags.string({ char: 'o', summary: 'output format', options: ['json'] }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Explain);
    this.requireRoot('knetlab explain');
    const lab = this.lab(flags.lab);
    const name = /^(?:svc|service|services)\/([a-z0-9-]+)$/.exec(args.service)?.[1];
    if (!name) throw new UsageError(`cannot explain "${args.service}"`, { hint: 'name a Service: svc/NAME' });
    const status = await labStatus(lab);
    const node = flags.node ? status.nodes.find((n) => n.name === flags.node) : status.nodes.find((n) => n.role === 'server');
    if (!node) throw new UsageError(`lab "${lab}" has no node "${flags.node}"`, { hint: `its nodes: ${status.nodes.map((n) => n.name).join(', ')}` });
    let service: Service;
    try {
      service = await new AgentClient(lab).get<Service>(`/api/v1/namespaces/${flags.namespace}/services/${name}`);
    } catch (err) {
      if (err instanceof ApiStatusError && err.code === 404) throw new UsageError(`service "${name}" not found in namespace "${flags.namespace}"`);
      throw err;
    }
    const clusterIP = service.spec.clusterIP === 'None' ? undefined : service.spec.clusterIP;
    const mode = status.config?.proxyMode ?? 'iptables';
    const tree = await explainOnNode(mode, node, { clusterIP, nodePorts: (service.spec.ports ?? []).flatMap((p) => (p.nodePort ? [p.nodePort] : [])) });
    if (flags.output === 'json') return this.printJson({ service: `${flags.namespace}/${name}`, node: node.name, proxyMode: mode, clusterIP, tree });
    this.log(`Service ${flags.namespace}/${name}, ClusterIP ${clusterIP ?? 'None (headless: no rules)'}, as node ${node.name} (${node.ip}) rewrites it (kube-proxy ${mode} mode):\n`);
    this.log(tree.length ? formatExplain(tree) : 'No rules for this Service on this node.');
  }
}

/** The node's live rules in the lab's proxy mode: `iptables-save -c`, or `nft -j list table ip kube-proxy`. */
async function explainOnNode(mode: ProxyMode, node: { name: string; netns: string }, service: ServiceRef): Promise<ExplainNode[]> {
  if (mode === 'iptables') return explainService(parseIptablesSave((await run(['ip', 'netns', 'exec', node.netns, 'iptables-save', '-c'])).stdout), service);
  const listing = await run(['ip', 'netns', 'exec', node.netns, nftBinary(), '-j', 'list', 'table', ...NFT_TABLE.split(' ')], { allowFailure: true });
  if (listing.exitCode !== 0) throw new KnetlabError(`node ${node.name} has no nftables table ${NFT_TABLE}: ${listing.stderr.trim()}`, { hint: 'kube-proxy writes it at its first sync; `knetlab status` shows its problems' });
  return explainNftService(parseNftJson(listing.stdout), service);
}
