import { Args, Flags } from '@oclif/core';
import { KnetlabCommand, labFlag } from '../../src/cli/base.js';
import { loadScenario } from '../../src/scenarios/load.js';
import { nextHint, scenarioLab } from '../../src/scenarios/session.js';
import { label, pickLang } from '../../src/scenarios/text.js';

export default class ScenarioHint extends KnetlabCommand {
  static override summary = 'Reveal the next hint of the running scenario, one at a time';
  static override description = 'The lab remembers how many hints you have seen (until it is removed); after the last one, the last is shown again.';
  static override examples = ['<%= config.bin %> scenario hint pod-ip-changes', '<%= config.bin %> scenario hint pod-ip-changes --lang zh'];
  static override args = { name: Args.string({ description: 'scenario id', required: true }) };
  static override flags = {
    lab: labFlag,
    lang: Flags.string({ summary: 'language of the texts [default: zh when LANG starts with zh, else en]', options: ['en', 'zh'] }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ScenarioHint);
    const scenario = loadScenario(args.name);
    this.requireRoot('knetlab scenario hint');
    const { number, total, more } = nextHint(scenario, scenarioLab(scenario.id, flags.lab).lab);
    const lang = pickLang(flags.lang);
    this.log(`${label('hint', lang, number, total)}${scenario.spec.hints[lang][number - 1]}\n`);
    this.log(more ? label('moreHints', lang) : label('lastHint', lang, scenario.id));
  }
}
