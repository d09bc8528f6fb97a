import { Args, Flags } from '@oclif/core';
import { KnetlabCommand, labFlag } from '../../src/cli/base.js';
import { loadScenario } from '../../src/scenarios/load.js';
import { scenarioLab, solveScenario } from '../../src/scenarios/session.js';
import { formatResults, label, pickLang } from '../../src/scenarios/text.js';

export default class ScenarioSolve extends KnetlabCommand {
  static override summary = 'Apply the reference solution to the running scenario, print its steps and check the result';
  static override description = 'For teachers and CI, or to see one way to the goal. Exits 0 when every check passes afterwards, 1 when not (a broken scenario).';
  static override examples = ['<%= config.bin %> scenario solve pod-ip-changes', '<%= config.bin %> scenario solve virtual-ip --lang zh'];
  static override args = { name: Args.string({ description: 'scenario id', required: true }) };
  static override flags = {
    lab: labFlag,
    lang: Flags.string({ summary: 'language of the texts [default: zh when LANG starts with zh, else en]', options: ['en', 'zh'] }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ScenarioSolve);
    const scenario = loadScenario(args.name);
    this.requireRoot('knetlab scenario solve');
    const lang = pickLang(flags.lang);
    const { steps, results } = await solveScenario(scenario, scenarioLab(scenario.id, flags.lab).lab);
    this.log(`${label('solved', lang, scenario.id)}\n${steps.map((s) => `  ${s}`).join('\n')}\n`);
    this.log(formatResults(scenario, results, lang));
    if (!results.every((r) => r.passed)) process.exitCode = 1;
  }
}
