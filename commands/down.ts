import { Flags } from '@oclif/core';
import { KnetlabCommand, labFlag } from '../src/cli/base.js';
import { downLab, knownLabs } from '../src/lifecycle/down.js';

export default class Down extends KnetlabCommand {
  static override summary = 'Remove the lab completely: namespaces, links, routes, agent and state';
  static override description = 'Works from the agent when it answers and sweeps by name when it does not, so a crashed lab leaves nothing behind either.';
  static override examples = ['<%= config.bin %> down', '<%= config.bin %> down --lab lab-2', '<%= config.bin %> down --all'];
  static override flags = {
    lab: labFlag,
    all: Flags.boolean({ summary: 'remove every lab on this machine' }),
    json: Flags.boolean({ summary: 'print the result as JSON' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Down);
    const labs = flags.all ? knownLabs() : [this.lab(flags.lab)];
    this.requireRoot('knetlab down');
    const results = [];
    for (const lab of labs) results.push(await downLab(lab));
    if (flags.json) return this.printJson(results);
    if (results.length === 0) this.log('No labs to remove.');
    for (const r of results) {
      this.log(`Lab "${r.lab}" removed (${r.agentStopped ? 'agent stopped' : 'no agent was running'}, ${r.namespacesRemoved} namespaces swept).`);
    }
  }
}
