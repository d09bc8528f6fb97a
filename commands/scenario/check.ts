import { Args, Flags } from '@oclif/core';
import { KnetlabCommand, labFlag } from '../../src/cli/base.js';
import { loadScenario } from '../../src/scenarios/load.js';
import { checkScenario, scenarioLab } from '../../src/scenarios/session.js';
import { formatResults, pickLang } from '../../src/scenarios/text.js';

export default class ScenarioCheck extends KnetlabCommand {
  static override summary = "Check whether the running scenario's goal is met: exit 0 when it is, 1 when not yet";
  static override description =
    'Every check looks at the lab itself (the agent\'s objects, and the kernel: curl from inside the lab, sysctl, iptables-save, ip addr), never at what you typed, and says what it saw. -o json is for graders.';
  static override examples = ['<%= config.bin %> scenario check pod-ip-changes', '<%= config.bin %> scenario check load-balancing -o json'];
  static override args = { name: Args.string({ description: 'scenario id', required: true }) };
  static override flags = {
    lab: labFlag,
    lang: Flags.string({ summary: 'language of the texts [default: zh when LANG starts with zh, else en]', options: ['en', 'zh'] }),
    output: Flags.string({ char: 'o', summary: 'output format', options: ['json'] }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ScenarioCheck);
    const scenario = loadScenario(args.name);
    this.requireRoot('knetlab scenario check');
    const lab = scenarioLab(scenario.id, flags.lab).lab;
    const results = await checkScenario(scenario, lab);
    const passed = results.every((r) => r.passed);
    if (flags.output === 'json') this.printJson({ scenario: scenario.id, lab, passed, checks: results });
    else this.log(formatResults(scenario, results, pickLang(flags.lang)));
    if (!passed) process.exitCode = 1;
  }
}
