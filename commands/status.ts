import { Flags } from '@oclif/core';
import { KnetlabCommand, labFlag } from '../src/cli/base.js';
import { labStatus } from '../src/lifecycle/up.js';
import { formatTable } from '../src/format/table.js';

export default class Status extends KnetlabCommand {
  static override summary = 'Show the lab: nodes, CIDRs, cluster DNS, proxy mode, agent and anything unhealthy';
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --lab lab-2 -o json'];
  static override flags = {
    lab: labFlag,
    output: Flags.string({ char: 'o', summary: 'output format', options: ['json'] }),
    json: Flags.boolean({ summary: 'same as -o json' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Status);
    const s = await labStatus(this.lab(flags.lab));
    if (flags.json || flags.output === 'json') return this.printJson(s);
    const c = s.config!;
    this.log(`Lab ${s.lab}: agent pid ${s.pid}, up since ${s.startedAt}`);
    this.log('');
    this.log(formatTable(['NODE', 'ROLE', 'LAN IP', 'POD CIDR', 'PODS', 'NAMESPACE'], s.nodes.map((n) => [n.name, n.role, n.ip, n.podCIDR, String(n.pods), n.netns])));
    this.log('');
    const rows: [string, string][] = [
      ['cluster-cidr', c.clusterCIDR],
      ['service-cidr', c.serviceCIDR],
      ['cluster-dns', c.clusterDNS],
      ['cluster-domain', c.clusterDomain],
      ['service-node-port-range', `${c.serviceNodePortRange.min}-${c.serviceNodePortRange.max}`],
      ['proxy mode', c.proxyMode],
      ['flannel backend', c.flannelBackend],
      ['LAN', `${c.lanCIDR} (lan machine ${s.lan?.ip}, namespace ${s.lan?.netns})`],
      ['objects', `${s.counts.pods} pods (${s.counts.running} running), ${s.counts.namespaces} namespaces`],
    ];
    for (const [k, v] of rows) this.log(`${k.padEnd(24)} ${v}`);
    this.log('');
    this.log(s.problems.length ? `Unhealthy:\n${s.problems.map((p) => `  ${p}`).join('\n')}` : 'Healthy: every node and pod has its namespace.');
    if (s.problems.length) process.exitCode = 1;
  }
}
