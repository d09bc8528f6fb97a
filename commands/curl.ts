import { Args, Flags } from '@oclif/core';
import { KnetlabCommand, labFlag } from '../src/cli/base.js';
import { KnetlabError } from '../src/errors.js';
import { resolveTarget } from '../src/lifecycle/targets.js';
import { labStatus } from '../src/lifecycle/up.js';
import { curlFrom, resolveUrl, tally } from '../src/lifecycle/curl.js';

export default class Curl extends KnetlabCommand {
  static override summary = 'Real curl from inside the lab (default: from the server node)';
  static override description = 'With --count it sends that many requests, each on a new connection, and prints which pods answered and how often.';
  static override examples = [
    '<%= config.bin %> curl svc/web/hostname -n 30',
    '<%= config.bin %> curl --from pod/hello-1 pod/hello-2/hostname',
    '<%= config.bin %> curl --from lan http://192.168.100.11:30080/clientip',
  ];
  static override args = { target: Args.string({ description: 'URL, svc/NAME[:PORT][/PATH] or pod/NAME[:PORT][/PATH]', required: true }) };
  static override flags = {
    lab: labFlag,
    from: Flags.string({ summary: 'where to run curl: POD, pod/POD, node/NODE or lan [default: the server node]', helpValue: 'TARGET' }),
    // -n is the count here, as CLI.md has it; the namespace has no short flag in this command.
    count: Flags.integer({ char: 'n', summary: 'send this many requests, each on a new connection, and tally who answered', min: 1, max: 1000 }),
    namespace: Flags.string({ summary: 'namespace of the pods and services named', default: 'default' }),
    json: Flags.boolean({ summary: 'print the result as JSON' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Curl);
    this.requireRoot('knetlab curl');
    const lab = this.lab(flags.lab);
    const fromName = flags.from ?? `node/${(await labStatus(lab)).nodes.find((n) => n.role === 'server')?.name ?? ''}`;
    const from = await resolveTarget(lab, fromName, flags.namespace);
    const url = await resolveUrl(lab, args.target, flags.namespace);
    const outcome = await curlFrom(from, url, flags.count ?? 1);
    if (flags.json) this.printJson({ from: fromName, ...outcome, tally: Object.fromEntries(tally(outcome.answers)) });
    else if (flags.count) {
      this.log(`${outcome.answers.length}/${flags.count} requests to ${url} from ${fromName} answered:`);
      for (const [answer, n] of tally(outcome.answers)) this.log(`  ${String(n).padStart(4)}  ${answer}`);
    } else process.stdout.write(outcome.answers.join('\n') + '\n');
    if (outcome.exitCode !== 0) throw new KnetlabError(`curl from ${fromName} to ${url} failed: ${outcome.stderr.trim() || `exit ${outcome.exitCode}`}`);
  }
}
