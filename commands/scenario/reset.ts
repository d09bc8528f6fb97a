import { Args, Flags } from '@oclif/core';
import { KnetlabCommand, labFlag } from '../../src/cli/base.js';
import { loadScenario } from '../../src/scenarios/load.js';
import { resetScenario, scenarioLab } from '../../src/scenarios/session.js';
import { label, pickLang } from '../../src/scenarios/text.js';

export default class ScenarioReset extends KnetlabCommand {
  static override summary = 'Put the running scenario back at its start';
  static override description =
    'Rebuilds the lab from the scenario (a couple of seconds) and sets the situation up again, so nothing you changed survives: objects, sysctls, rules, addresses. Answers are cleared; hints you have seen stay seen.';
  static override examples = ['<%= config.bin %> scenario reset pod-ip-changes'];
  static override args = { name: Args.string({ description: 'scenario id', required: true }) };
  static override flags = {
    lab: labFlag,
    lang: Flags.string({ summary: 'language of the texts [default: zh when LANG starts with zh, else en]', options: ['en', 'zh'] }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ScenarioReset);
    const scenario = loadScenario(args.name);
    this.requireRoot('knetlab scenario reset');
    const lab = scenarioLab(scenario.id, flags.lab).lab;
    const state = await resetScenario(scenario, lab);
    this.log(label('reset', pickLang(flags.lang), scenario.id, lab, state.hintsShown));
  }
}
