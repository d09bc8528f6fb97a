import { Args, Flags } from '@oclif/core';
import { KnetlabCommand, labFlag } from '../src/cli/base.js';
import { AgentClient, ApiStatusError } from '../src/client.js';
import { UsageError } from '../src/errors.js';
import type { Service } from '../src/api/types.js';
import { run } from '../src/kernel/exec.js';
import { parseIptablesSave } from '../src/proxy/iptables-save.js';
import { explainService, formatExplain } from '../src/proxy/explain.js';
import { labStatus } from '../src/lifecycle/up.js';

export default class Explain extends KnetlabCommand {
  static override summary = "Show a Service's rules on a node: the chain from KUBE-SERVICES to each DNAT, with live counters and branch shares";
  static override description =
    'The ClusterIP belongs to no interface: what makes it work is this chain of iptables rules, which kube-proxy writes on every node. The shares are worked out from the statistic probabilities; the counters are the kernel\'s own (run some curls and look again).';
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
    const { stdout } = await run(['ip', 'netns', 'exec', node.netns, 'iptables-save', '-c']);
    const clusterIP = service.spec.clusterIP === 'None' ? undefined : service.spec.clusterIP;
    const tree = explainService(parseIptablesSave(stdout), { clusterIP, nodePorts: (service.spec.ports ?? []).flatMap((p) => (p.nodePort ? [p.nodePort] : [])) });
    if (flags.output === 'json') return this.printJson({ service: `${flags.namespace}/${name}`, node: node.name, clusterIP, tree });
    this.log(`Service ${flags.namespace}/${name}, ClusterIP ${clusterIP ?? 'None (headless: no rules)'}, as node ${node.name} (${node.ip}) rewrites it:\n`);
    this.log(tree.length ? formatExplain(tree) : 'No rules for this Service on this node.');
  }
}
