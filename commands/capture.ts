import { Args, Flags } from '@oclif/core';
import { execa } from 'execa';
import { KnetlabCommand, labFlag } from '../src/cli/base.js';
import { resolveTarget } from '../src/lifecycle/targets.js';

export default class Capture extends KnetlabCommand {
  static override summary = 'tcpdump inside a pod, a node or the LAN';
  static override description =
    'Runs tcpdump in the target\'s network namespace: -n (no name lookups) and, unless -i says otherwise, on eth0 for pods and nodes and on the LAN bridge br-lan for `lan`. Arguments after -- go to tcpdump (a filter, -c COUNT, -w FILE...).';
  static override examples = [
    '<%= config.bin %> capture lan -- -c 10 udp port 8472',
    '<%= config.bin %> capture node/agent-1 -i flannel.1 -- -c 5',
    '<%= config.bin %> capture hello-1 -- -c 5 tcp port 8080',
  ];
  static override strict = false;
  static override args = { target: Args.string({ description: 'POD, pod/POD, node/NODE or lan', required: true }) };
  static override flags = {
    lab: labFlag,
    namespace: Flags.string({ char: 'n', summary: 'namespace of the pod', default: 'default' }),
    interface: Flags.string({ char: 'i', summary: 'interface to capture on [default: eth0, or br-lan for lan]', helpValue: 'IFACE' }),
  };

  async run(): Promise<void> {
    const { args, flags, argv } = await this.parse(Capture);
    this.requireRoot('knetlab capture');
    const target = await resolveTarget(this.lab(flags.lab), args.target, flags.namespace);
    const iface = flags.interface ?? (target.kind === 'lan' ? 'br-lan' : 'eth0');
    const extra = (argv as string[]).slice(1);
    const result = await execa('ip', ['netns', 'exec', target.netns, 'tcpdump', '-n', '-i', iface, ...extra], { stdio: 'inherit', reject: false });
    process.exitCode = result.exitCode ?? 1;
  }
}
