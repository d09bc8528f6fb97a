import { Args, Flags } from '@oclif/core';
import { KnetlabCommand, labFlag } from '../../src/cli/base.js';
import { loadScenario } from '../../src/scenarios/load.js';
import { scenarioLab, startScenario } from '../../src/scenarios/session.js';
import { formatTask, label, pickLang } from '../../src/scenarios/text.js';

export default class ScenarioStart extends KnetlabCommand {
  static override summary = "Build the scenario's own lab, set up its situation and print the task";
  static override description =
    'The lab is named after the scenario (unless --lab or KNETLAB_LAB names another), so it runs next to your other labs. Starting again rebuilds it from scratch. The setup is not shown: finding out what is going on is part of the exercise.';
  static override examples = ['<%= config.bin %> scenario start pod-ip-changes', '<%= config.bin %> scenario start load-balancing --lang zh', '<%= config.bin %> scenario start virtual-ip --lab class-1'];
  static override args = { name: Args.string({ description: 'scenario id (`knetlab scenario list`)', required: true }) };
  static override flags = {
    lab: labFlag,
    lang: Flags.string({ summary: 'language of the texts [default: zh when LANG starts with zh, else en]', options: ['en', 'zh'] }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ScenarioStart);
    const scenario = loadScenario(args.name);
    this.requireRoot('knetlab scenario start');
    const { lab, note } = scenarioLab(scenario.id, flags.lab);
    if (note) process.stderr.write(`note: ${note}\n`);
    process.stderr.write(`Building lab "${lab}" for scenario ${scenario.id}...\n`);
    await startScenario(scenario, lab);
    const lang = pickLang(flags.lang);
    this.log(`${formatTask(scenario, lang)}\n\n${label('started', lang, scenario.id, lab)}`);
    if (process.env.KNETLAB_LAB !== lab) this.log(label('export', lang, lab));
    if (process.env.SUDO_USER) this.log(label('sudo', lang, lab));
    this.log(label('next', lang, scenario.id, scenario.id));
  }
}
