import { Flags } from '@oclif/core';
import { KnetlabCommand } from '../../src/cli/base.js';
import { loadAllScenarios } from '../../src/scenarios/load.js';
import { formatList, pickLang } from '../../src/scenarios/text.js';

export default class Scenario extends KnetlabCommand {
  static override summary = 'Guided exercises that check themselves, in English and Chinese: list, show, start, hint, answer, check, reset, solve';
  static override description =
    'Each scenario builds its own lab, sets up a situation and prints a task; `scenario check` decides from the kernel and the agent whether the goal is met. Without a subcommand this lists the scenarios and how to begin.';
  static override examples = ['<%= config.bin %> scenario', '<%= config.bin %> scenario start pod-ip-changes', '<%= config.bin %> scenario check pod-ip-changes'];
  static override flags = {
    lang: Flags.string({ summary: 'language of the texts [default: zh when LANG starts with zh, else en]', options: ['en', 'zh'] }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Scenario);
    this.log(formatList(loadAllScenarios(), pickLang(flags.lang)));
    this.log('\nknetlab scenario show ID · start ID · hint ID · answer ID QUESTION ANSWER · check ID · reset ID · solve ID');
  }
}
