import { Args, Flags } from '@oclif/core';
import { execa } from 'execa';
import { KnetlabCommand, labFlag } from '../src/cli/base.js';
import { systemPath } from '../src/kernel/exec.js';
import { resolveTarget } from '../src/lifecycle/targets.js';

export default class Shell extends KnetlabCommand {
  static override summary = 'Open an interactive shell inside a pod, a node or the LAN';
  static override examples = ['<%= config.bin %> shell hello-1', '<%= config.bin %> shell node/agent-1', '<%= config.bin %> shell lan'];
  static override args = { target: Args.string({ description: 'POD, pod/POD, node/NODE or lan', required: true }) };
  static override flags = { lab: labFlag, namespace: Flags.string({ char: 'n', summary: 'namespace of the pod', default: 'default' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Shell);
    this.requireRoot('knetlab shell');
    const lab = this.lab(flags.lab);
    const target = await resolveTarget(lab, args.target, flags.namespace);
    const where = target.kind === 'lan' ? 'lan' : `${target.kind}/${target.name}`;
    const shell = process.env.SHELL?.endsWith('bash') || !process.env.SHELL ? 'bash' : process.env.SHELL;
    // --norc keeps the user's rc file from replacing the prompt that names where the shell runs.
    const argv = shell === 'bash' ? ['bash', '--norc', '-i'] : [shell];
    const result = await execa('ip', ['netns', 'exec', target.netns, ...argv], {
      stdio: 'inherit',
      reject: false,
      env: { PS1: `[${lab} ${where}] \\w \\$ `, KNETLAB_TARGET: where, PATH: systemPath() },
    });
    process.exitCode = result.exitCode ?? 0;
  }
}
