import { Flags } from '@oclif/core';
import { KnetlabCommand } from '../../src/cli/base.js';
import { loadAllScenarios } from '../../src/scenarios/load.js';
import { formatList, pickLang } from '../../src/scenarios/text.js';

export default class ScenarioList extends KnetlabCommand {
  static override summary = 'List the guided exercises: id, title, concept and about how long each takes';
  static override description = 'Each scenario builds its own lab, sets up a situation, and checks from the kernel and the agent whether you reached its goal. Texts in English and Chinese.';
  static override examples = ['<%= config.bin %> scenario list', '<%= config.bin %> scenario list --lang zh', '<%= config.bin %> scenario list -o json'];
  static override flags = {
    lang: Flags.string({ summary: 'language of the texts [default: zh when LANG starts with zh, else en]', options: ['en', 'zh'] }),
    output: Flags.string({ char: 'o', summary: 'output format', options: ['json'] }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ScenarioList);
    const scenarios = loadAllScenarios();
    if (flags.output === 'json') {
      return this.printJson(scenarios.map((s) => ({ id: s.id, title: s.spec.title, concept: s.spec.concept, minutes: s.spec.minutes, dir: s.dir })));
    }
    this.log(formatList(scenarios, pickLang(flags.lang)));
  }
}
