import { Args, Flags } from '@oclif/core';
import { KnetlabCommand, labFlag } from '../../src/cli/base.js';
import { loadScenario } from '../../src/scenarios/load.js';
import { recordAnswer, scenarioLab } from '../../src/scenarios/session.js';
import { label, pickLang } from '../../src/scenarios/text.js';

export default class ScenarioAnswer extends KnetlabCommand {
  static override summary = "Answer one of the running scenario's questions";
  static override description =
    'The answer is recorded (a later answer replaces it) and `scenario check` counts it. Case, spaces and quotes do not matter. Exits 1 when the answer is not right yet.';
  static override examples = ['<%= config.bin %> scenario answer virtual-ip table nat', '<%= config.bin %> scenario answer pod-ip-changes pool cluster-cidr'];
  static override strict = false; // the answer may be several words
  static override args = {
    name: Args.string({ description: 'scenario id', required: true }),
    question: Args.string({ description: 'question id, as `scenario show` lists them', required: true }),
    answer: Args.string({ description: 'your answer (the rest of the line)', required: true }),
  };
  static override flags = {
    lab: labFlag,
    lang: Flags.string({ summary: 'language of the texts [default: zh when LANG starts with zh, else en]', options: ['en', 'zh'] }),
  };

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(ScenarioAnswer);
    const scenario = loadScenario(args.name);
    this.requireRoot('knetlab scenario answer');
    const value = (argv as string[]).slice(2).join(' ');
    const right = recordAnswer(scenario, scenarioLab(scenario.id, flags.lab).lab, args.question, value);
    this.log(label(right ? 'right' : 'wrong', pickLang(flags.lang)));
    if (!right) process.exitCode = 1;
  }
}
