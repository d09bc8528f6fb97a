// `knetlab trace`: one real request, and the kernel's own account of it (nft monitor trace).
// The command only parses and prints; requestTrace (src/trace/request.ts) has the trace run
// where a killed CLI cannot leave TRACE rules behind.
import { writeFileSync } from 'node:fs';
import { Flags } from '@oclif/core';
import { KnetlabCommand, labFlag } from '../src/cli/base.js';
import { formatTrace } from '../src/trace/format.js';
import { requestTrace } from '../src/trace/request.js';

export default class Trace extends KnetlabCommand {
  static override summary = "Send one real request and print the kernel's trace of it: every hook, chain and verdict, the DNAT chosen, the reply";
  static override description =
    'Temporary TRACE rules (mangle PREROUTING and OUTPUT, matched on the connection\'s conntrack tuple) make every node report the packets of this one connection to `nft monitor trace`; they are removed when the trace ends, also when the command is interrupted. The trace shows kube-proxy\'s rules in either proxy mode: the KUBE-SERVICES, KUBE-SVC-* and KUBE-SEP-* chains of iptables mode, or the services, service-* and endpoint-* chains of `table ip kube-proxy` in nftables mode. From the LAN, svc/NAME goes to the Service\'s NodePort on the first node.';
  static override examples = [
    '<%= config.bin %> trace --from pod/web-abc12 --to svc/web',
    '<%= config.bin %> trace --from node/agent-1 --to svc/web:udp --proto udp',
    '<%= config.bin %> trace --from lan --to 192.168.100.10:30080',
    '<%= config.bin %> trace --from pod/web-abc12 --to svc/web -o json',
  ];
  static override flags = {
    lab: labFlag,
    from: Flags.string({ summary: 'the sender: POD, pod/POD, node/NODE or lan', helpValue: 'TARGET', required: true }),
    to: Flags.string({ summary: 'svc/NAME[:PORT] (port by name or number) or IP:PORT', helpValue: 'DEST', required: true }),
    proto: Flags.string({ summary: 'protocol [default: the Service port\'s, else tcp]', options: ['tcp', 'udp'] }),
    namespace: Flags.string({ char: 'n', summary: 'namespace of the pod and service named', default: 'default' }),
    output: Flags.string({ char: 'o', summary: 'output format', options: ['json'] }),
    all: Flags.boolean({ summary: 'show every packet hook by hook, not only those that crossed the nat chains' }),
    'save-capture': Flags.string({ summary: 'also write the raw capture (monitor lines, conntrack, rules) to FILE', helpValue: 'FILE', hidden: true }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Trace);
    this.requireRoot('knetlab trace');
    const spec = { from: flags.from, to: flags.to, namespace: flags.namespace, ...(flags.proto ? { protocol: flags.proto as 'tcp' | 'udp' } : {}) };
    const { result, capture } = await requestTrace(this.lab(flags.lab), spec);
    if (flags['save-capture']) writeFileSync(flags['save-capture'], JSON.stringify(capture, null, 2) + '\n');
    if (flags.output === 'json') this.printJson(result);
    else this.log(formatTrace(result, { all: flags.all }));
  }
}
