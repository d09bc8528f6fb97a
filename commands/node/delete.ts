import { Args, Flags } from '@oclif/core';
import { KnetlabCommand, labFlag } from '../../src/cli/base.js';
import { deleteNode } from '../../src/lifecycle/nodes.js';

export default class NodeDelete extends KnetlabCommand {
  static override summary = 'Remove a node from the running lab; its pods are rescheduled on the others';
  static override examples = ['<%= config.bin %> node delete agent-2'];
  static override args = { name: Args.string({ description: 'node name', required: true }) };
  static override flags = { lab: labFlag };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(NodeDelete);
    this.requireRoot('knetlab node delete');
    const changes = await deleteNode(this.lab(flags.lab), args.name);
    this.log(changes.length ? changes.join('\n') : 'nothing changed');
  }
}
