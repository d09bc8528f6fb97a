import { Flags } from '@oclif/core';
import { KnetlabCommand } from '../src/cli/base.js';
import { failedChecks, runChecks } from '../src/lifecycle/doctor.js';

export default class Doctor extends KnetlabCommand {
  static override summary = 'Check that this machine can run a lab, and say how to fix what is missing';
  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --json'];
  static override flags = { json: Flags.boolean({ summary: 'print the checks as JSON' }) };

  async run(): Promise<void> {
    const { flags } = await this.parse(Doctor);
    const checks = await runChecks();
    if (flags.json) this.printJson(checks);
    else for (const c of checks) this.log(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(18)} ${c.detail}${c.ok ? '' : `\n      fix: ${c.fix}`}`);
    if (failedChecks(checks).length) process.exitCode = 1;
  }
}
