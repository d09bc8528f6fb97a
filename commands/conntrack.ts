// `knetlab conntrack`: a node's connection-tracking table for the lab's traffic, the original and
// reply tuples side by side so that the DNAT kube-proxy chose and the masquerade can be read.
// Parsing, annotating and formatting are pure (src/conntrack); this command runs `conntrack -L`
// in the node's namespace and prints.
import { Flags } from '@oclif/core';
import { KnetlabCommand, labFlag } from '../src/cli/base.js';
import { KnetlabError, UsageError } from '../src/errors.js';
import { selectEntries } from '../src/conntrack/annotate.js';
import { buildReport, contextFromLab, formatConntrackTable, formatSummary } from '../src/conntrack/format.js';
import { parseConntrack } from '../src/conntrack/parse.js';
import { loadLabObjects } from '../src/graph/output.js';
import { run } from '../src/kernel/exec.js';

export default class Conntrack extends KnetlabCommand {
  static override summary = "Show a node's conntrack table for lab traffic: original and reply tuples side by side, with the DNAT and SNAT the kernel did";
  static override description = [
    'kube-proxy rewrites only the first packet of a connection; conntrack remembers the rewrite and applies it to the rest, and un-does it on the replies. Each entry holds the original tuple (as the client sent it: to the ClusterIP or NodePort) and the reply tuple (as the answer must come back: from the pod that was chosen).',
    'When the reply comes from another address than the original destination, the kernel did a DNAT (to that pod); when it goes to another address than the original source, a SNAT (masquerade).',
    'Only lab traffic is shown: entries with an address in the cluster CIDR, the service CIDR or the LAN. With --svc, only connections to that Service\'s ClusterIP (any port) or to one of its NodePorts on a node.',
  ].join('\n\n');
  static override examples = [
    '<%= config.bin %> curl svc/web -n 5 && <%= config.bin %> conntrack --svc web',
    '<%= config.bin %> conntrack --node agent-1',
    '<%= config.bin %> conntrack --svc kube-dns -n kube-system -o json',
  ];
  static override flags = {
    lab: labFlag,
    node: Flags.string({ summary: "which node's table [default: the server node]", helpValue: 'NODE' }),
    svc: Flags.string({ summary: "only connections to this Service's ClusterIP or NodePorts", helpValue: 'NAME' }),
    namespace: Flags.string({ char: 'n', summary: 'namespace of the Service', default: 'default' }),
    output: Flags.string({ char: 'o', summary: 'output format', options: ['json'] }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Conntrack);
    this.requireRoot('knetlab conntrack');
    const lab = this.lab(flags.lab);
    const objects = await loadLabObjects(lab);
    const { status } = objects;
    const node = flags.node ? status.nodes.find((n) => n.name === flags.node) : status.nodes.find((n) => n.role === 'server');
    if (!node) throw new UsageError(`lab "${lab}" has no node "${flags.node ?? '(server)'}"`, { hint: `its nodes: ${status.nodes.map((n) => n.name).join(', ')}` });
    let service: { namespace: string; name: string } | undefined;
    if (flags.svc !== undefined) {
      const name = /^(?:(?:svc|service|services)\/)?([a-z0-9]([-a-z0-9]*[a-z0-9])?)$/.exec(flags.svc)?.[1];
      if (!name) throw new UsageError(`"${flags.svc}" is not a Service name`, { hint: 'name a Service: --svc NAME (or svc/NAME)' });
      service = { namespace: flags.namespace, name };
      if (!objects.services.some((s) => s.metadata.name === name && (s.metadata.namespace ?? 'default') === flags.namespace)) {
        throw new UsageError(`service "${name}" not found in namespace "${flags.namespace}"`, { hint: `\`knetlab get services -n ${flags.namespace}\` lists them` });
      }
    }

    // conntrack prints the entries on stdout and "N flow entries have been shown." on stderr,
    // exit 0 also when the table is empty.
    const result = await run(['ip', 'netns', 'exec', node.netns, 'conntrack', '-L'], { allowFailure: true });
    if (result.exitCode !== 0) {
      const missing = /exec of "conntrack" failed|No such file/.test(result.stderr);
      throw new KnetlabError(missing ? 'the conntrack program is not installed' : `conntrack -L in ${node.netns} failed (exit ${result.exitCode}): ${result.stderr.trim()}`, {
        hint: missing ? 'apt-get install conntrack (`knetlab doctor` lists what is missing)' : 'is the lab up? `knetlab status` checks',
      });
    }
    const parsed = parseConntrack(result.stdout);
    const selection = selectEntries(parsed.entries, contextFromLab(status, objects.pods, objects.services), service);
    const report = buildReport({ lab, node: node.name, netns: node.netns, ...(service ? { service: `${service.namespace}/${service.name}` } : {}), problems: parsed.problems }, selection);
    if (flags.output === 'json') return this.printJson(report);
    if (report.entries.length) this.log(formatConntrackTable(report.entries) + '\n');
    const summary = formatSummary(report).join('\n') + '\n';
    if (report.entries.length) process.stdout.write(summary);
    else process.stderr.write(summary);
  }
}
