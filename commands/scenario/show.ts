import { Args, Flags } from '@oclif/core';
import { KnetlabCommand } from '../../src/cli/base.js';
import { loadScenario } from '../../src/scenarios/load.js';
import { formatTask, label, pickLang } from '../../src/scenarios/text.js';

export default class ScenarioShow extends KnetlabCommand {
  static override summary = "Print a scenario's task: the situation, the goal, what is checked and the questions";
  static override description = 'Reads only the scenario; nothing is started. `knetlab scenario start NAME` builds its lab and prints the same task.';
  static override examples = ['<%= config.bin %> scenario show pod-ip-changes', '<%= config.bin %> scenario show pod-ip-changes --lang zh', '<%= config.bin %> scenario show virtual-ip -o json'];
  static override args = { name: Args.string({ description: 'scenario id (`knetlab scenario list`)', required: true }) };
  static override flags = {
    lang: Flags.string({ summary: 'language of the texts [default: zh when LANG starts with zh, else en]', options: ['en', 'zh'] }),
    output: Flags.string({ char: 'o', summary: 'output format', options: ['json'] }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ScenarioShow);
    const scenario = loadScenario(args.name);
    if (flags.output === 'json') {
      const { spec } = scenario;
      return this.printJson({ id: scenario.id, dir: scenario.dir, title: spec.title, concept: spec.concept, minutes: spec.minutes, task: scenario.task, checks: spec.checks, quiz: spec.quiz.map((q) => ({ id: q.id, question: q.question })) });
    }
    const lang = pickLang(flags.lang);
    this.log(`${formatTask(scenario, lang)}\n\n${label('begin', lang, scenario.id)}`);
  }
}
