import { Args, Flags } from '@oclif/core';
import { execa } from 'execa';
import { KnetlabCommand, labFlag } from '../src/cli/base.js';
import { UsageError } from '../src/errors.js';
import { systemPath } from '../src/kernel/exec.js';
import { resolveTarget } from '../src/lifecycle/targets.js';

export default class Exec extends KnetlabCommand {
  static override summary = 'Run a command inside a pod, a node or the LAN';
  static override description = 'The command runs in the target\'s network namespace with `ip netns exec`; its exit code is the command\'s.';
  static override examples = [
    '<%= config.bin %> exec hello-1 -- curl -s http://10.42.1.2:8080/hostname',
    '<%= config.bin %> exec node/server -- ip route',
    '<%= config.bin %> exec lan -- ping -c1 192.168.100.10',
  ];
  static override strict = false;
  static override args = { target: Args.string({ description: 'POD, pod/POD, node/NODE or lan', required: true }) };
  static override flags = { lab: labFlag, namespace: Flags.string({ char: 'n', summary: 'namespace of the pod', default: 'default' }) };

  async run(): Promise<void> {
    const { args, flags, argv } = await this.parse(Exec);
    const command = (argv as string[]).slice(1);
    if (command.length === 0) throw new UsageError('no command given', { hint: 'put the command after --, e.g. knetlab exec hello-1 -- ip addr' });
    this.requireRoot('knetlab exec');
    const target = await resolveTarget(this.lab(flags.lab), args.target, flags.namespace);
    const result = await execa('ip', ['netns', 'exec', target.netns, ...command], { stdio: 'inherit', reject: false, env: { PATH: systemPath() } });
    process.exitCode = result.exitCode ?? 1;
  }
}
