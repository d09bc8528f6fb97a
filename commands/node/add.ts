import { Args, Flags } from '@oclif/core';
import { KnetlabCommand, labFlag } from '../../src/cli/base.js';
import { UsageError } from '../../src/errors.js';
import { addNode } from '../../src/lifecycle/nodes.js';

export default class NodeAdd extends KnetlabCommand {
  static override summary = 'Join a new node to the running lab';
  static override description = 'The node gets the next free LAN address and pod CIDR; every other node learns the route (or VXLAN neighbour) to it. The change lasts until the next `up`, which converges to its config file again.';
  static override examples = ['<%= config.bin %> node add agent-3', '<%= config.bin %> node add edge-1 --label zone=edge'];
  static override args = { name: Args.string({ description: 'node name', required: true }) };
  static override flags = {
    lab: labFlag,
    role: Flags.string({ summary: 'server or agent', options: ['server', 'agent'], default: 'agent' }),
    label: Flags.string({ summary: 'a node label KEY=VALUE (repeatable)', multiple: true, helpValue: 'KEY=VALUE' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(NodeAdd);
    this.requireRoot('knetlab node add');
    const labels: Record<string, string> = {};
    for (const l of flags.label ?? []) {
      const [k, v] = l.split('=', 2);
      if (!k || v === undefined) throw new UsageError(`label "${l}" is not KEY=VALUE`);
      labels[k] = v;
    }
    const changes = await addNode(this.lab(flags.lab), args.name, flags.role as 'server' | 'agent', labels);
    this.log(changes.length ? changes.join('\n') : 'nothing changed');
  }
}
